//! AES-CBC with PKCS#7 padding in place, shared by both envelopes.
//!
//! Encryption pads and encrypts the caller's buffer directly (no second buffer, and no
//! fallible padding call: the buffer is sized for the padding before we start).

use aes::cipher::{
    BlockCipher, BlockDecryptMut, BlockEncryptMut, BlockSizeUser, InnerIvInit,
    block_padding::Pkcs7, consts::U16, inout::InOutBuf,
};

use super::EnvelopeError;

/// The AES block size.
pub(super) const BLOCK: usize = 16;

/// Length of the PKCS#7-padded form of `msg_len` bytes: always 1 to 16 bytes longer.
pub(super) fn padded_len(msg_len: usize) -> usize {
    (msg_len / BLOCK + 1) * BLOCK
}

/// Pads `buf[..msg_len]` with PKCS#7 up to `buf.len()` and CBC-encrypts `buf` in place.
///
/// The caller sizes `buf` as [`padded_len`]`(msg_len)`.
pub(super) fn encrypt_in_place<C>(cipher: C, iv: &[u8; BLOCK], buf: &mut [u8], msg_len: usize)
where
    C: BlockEncryptMut + BlockCipher + BlockSizeUser<BlockSize = U16>,
{
    debug_assert_eq!(buf.len(), padded_len(msg_len));
    // The padding length is 1..=16, so it fits a byte.
    let pad = (buf.len() - msg_len) as u8;
    buf[msg_len..].fill(pad);
    let (blocks, tail) = InOutBuf::from(buf).into_chunks::<U16>();
    debug_assert!(tail.is_empty());
    cbc::Encryptor::<C>::inner_iv_init(cipher, iv.into()).encrypt_blocks_inout_mut(blocks);
}

/// CBC-decrypts `buf` in place and strips its PKCS#7 padding; returns the plaintext's
/// length (the plaintext is `buf[..len]`).
///
/// # Errors
/// [`EnvelopeError::Truncated`] if `buf` is empty or not whole blocks,
/// [`EnvelopeError::Decrypt`] if the padding is invalid.
pub(super) fn decrypt_in_place<C>(
    cipher: C,
    iv: &[u8; BLOCK],
    buf: &mut [u8],
) -> Result<usize, EnvelopeError>
where
    C: BlockDecryptMut + BlockCipher + BlockSizeUser<BlockSize = U16>,
{
    if buf.is_empty() || buf.len() % BLOCK != 0 {
        return Err(EnvelopeError::Truncated);
    }
    cbc::Decryptor::<C>::inner_iv_init(cipher, iv.into())
        .decrypt_padded_mut::<Pkcs7>(buf)
        .map(<[u8]>::len)
        .map_err(|_| EnvelopeError::Decrypt)
}

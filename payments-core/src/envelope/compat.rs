//! [`CompatKey`]: the `compat` envelope (`payments-wire.md` §1.1).

use aes::cipher::KeyInit;
use aes::{Aes128Dec, Aes128Enc, Aes256Dec, Aes256Enc};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use zeroize::Zeroize;

use super::EnvelopeError;
use super::cbc_pkcs7::{BLOCK, decrypt_in_place, encrypt_into, padded_len};

/// A `compat` key: AES-128-CBC or AES-256-CBC (chosen by the key's length) with PKCS#7
/// padding and a fixed IV; bodies are standard base64.
///
/// No MAC and a fixed IV: equal plaintext prefixes give equal ciphertext prefixes, and a
/// body can be altered without detection. Kept only for the nestia `EncryptedRoute`
/// clients. The expanded key schedule and the IV are wiped on drop; `Debug` prints the
/// algorithm only.
#[derive(Clone)]
pub struct CompatKey {
    cipher: Cipher,
    iv: [u8; BLOCK],
}

/// The key schedules, expanded once. `aes`'s `zeroize` feature wipes them on drop. Boxed:
/// with the software fallback compiled in they take up to 2 KB, too much to move around.
#[derive(Clone)]
enum Cipher {
    Aes128(Box<(Aes128Enc, Aes128Dec)>),
    Aes256(Box<(Aes256Enc, Aes256Dec)>),
}

impl CompatKey {
    /// Builds a key from the configured strings, used as their UTF-8 bytes: a 16-byte
    /// `key` selects AES-128, a 32-byte one AES-256; `iv` must be 16 bytes.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidKeyLength`] for a key of another length,
    /// [`EnvelopeError::InvalidIvLength`] for an IV of another length.
    pub fn new(key: &str, iv: &str) -> Result<Self, EnvelopeError> {
        let key = key.as_bytes();
        let cipher = match key.len() {
            16 => Cipher::Aes128(Box::new((
                Aes128Enc::new(key.into()),
                Aes128Dec::new(key.into()),
            ))),
            32 => Cipher::Aes256(Box::new((
                Aes256Enc::new(key.into()),
                Aes256Dec::new(key.into()),
            ))),
            actual => {
                return Err(EnvelopeError::InvalidKeyLength {
                    expected: "16 bytes (AES-128) or 32 bytes (AES-256)",
                    actual,
                });
            }
        };
        let iv = <[u8; BLOCK]>::try_from(iv.as_bytes())
            .map_err(|_| EnvelopeError::InvalidIvLength { actual: iv.len() })?;
        Ok(Self { cipher, iv })
    }

    /// The cipher's name: `AES-128-CBC` or `AES-256-CBC`.
    pub fn algorithm(&self) -> &'static str {
        match self.cipher {
            Cipher::Aes128(_) => "AES-128-CBC",
            Cipher::Aes256(_) => "AES-256-CBC",
        }
    }

    /// Encrypts `plaintext` (any bytes, empty included: that gives one block of padding)
    /// and returns the body: standard base64 with padding.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut buf = vec![0u8; padded_len(plaintext.len())];
        match &self.cipher {
            Cipher::Aes128(pair) => encrypt_into(&pair.0, &self.iv, plaintext, &mut buf),
            Cipher::Aes256(pair) => encrypt_into(&pair.0, &self.iv, plaintext, &mut buf),
        }
        STANDARD.encode(&buf)
    }

    /// Decrypts a body. Surrounding ASCII whitespace is ignored. An empty (or all
    /// whitespace) body decrypts to empty bytes: §1.1 sends an empty result as an empty
    /// string.
    ///
    /// Without a MAC an altered body is not detected: it fails on its padding
    /// ([`EnvelopeError::Decrypt`]) or decrypts to other bytes, which the caller's JSON
    /// parsing usually rejects.
    ///
    /// # Errors
    /// [`EnvelopeError::NotBase64`] if the body is not standard base64,
    /// [`EnvelopeError::Truncated`] if it is not a whole number of 16-byte blocks,
    /// [`EnvelopeError::Decrypt`] if the padding is invalid (wrong key or altered body).
    pub fn decrypt(&self, body: &str) -> Result<Vec<u8>, EnvelopeError> {
        let body = body.trim_ascii();
        if body.is_empty() {
            return Ok(Vec::new());
        }
        let mut buf = STANDARD
            .decode(body)
            .map_err(|_| EnvelopeError::NotBase64)?;
        let len = match &self.cipher {
            Cipher::Aes128(pair) => decrypt_in_place(&pair.1, &self.iv, &mut buf)?,
            Cipher::Aes256(pair) => decrypt_in_place(&pair.1, &self.iv, &mut buf)?,
        };
        buf.truncate(len);
        Ok(buf)
    }
}

impl Drop for CompatKey {
    fn drop(&mut self) {
        self.iv.zeroize();
    }
}

impl std::fmt::Debug for CompatKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompatKey")
            .field("algorithm", &self.algorithm())
            .field("key", &"***")
            .field("iv", &"***")
            .finish()
    }
}

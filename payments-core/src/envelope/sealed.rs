//! [`SealedV2Key`]: the `sealed-v2` envelope (`payments-wire.md` §1.2).
//!
//! Layout: `0x02 ‖ IV (16) ‖ AES-256-CBC-PKCS#7(plaintext) ‖ tag (32)`, where
//! `tag = HMAC-SHA256(mac key, 0x02 ‖ IV ‖ ciphertext ‖ associated data)`. On the wire the
//! associated data is the [`Binding`] and the whole is base64; at rest it is any bytes
//! the caller chooses ([`SealedV2Key::seal_aad`]).

use aes::cipher::KeyInit;
use aes::{Aes256Dec, Aes256Enc};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::cbc_pkcs7::{BLOCK, decrypt_in_place, encrypt_into, padded_len};
use super::{Binding, EnvelopeError};

type HmacSha256 = Hmac<Sha256>;

/// The version byte every sealed-v2 body starts with.
const VERSION: u8 = 0x02;
/// Version byte plus IV.
const HEADER: usize = 1 + BLOCK;
/// HMAC-SHA256 output.
const TAG: usize = 32;
/// PBKDF2 salt for the key derivation (§1.2).
const KDF_SALT: &[u8] = b"payments/sealed-v2";
/// PBKDF2 iteration count for the key derivation (§1.2).
const KDF_ITERATIONS: u32 = 100_000;
/// SHA-256's block size: HMAC zero-pads shorter keys to it.
const HMAC_BLOCK: usize = 64;

/// A `sealed-v2` key pair: an AES-256 key and an HMAC-SHA256 key, derived once from the
/// configured secret.
///
/// Every seal draws a fresh IV; the tag covers the version, IV, ciphertext and what the
/// message is bound to, and is checked in constant time before anything is decrypted.
/// The key material (expanded AES schedules and MAC key) is wiped on drop; `Debug`
/// prints none of it.
#[derive(Clone)]
pub struct SealedV2Key {
    /// The expanded AES-256 schedules, wiped on drop by `aes`'s `zeroize` feature. Boxed:
    /// with the software fallback compiled in they take about 2 KB.
    aes: Box<(Aes256Enc, Aes256Dec)>,
    /// The 32-byte MAC key followed by 32 zero bytes: HMAC zero-pads a key shorter than
    /// the hash's block, so this is the same key, and `Hmac::new` on a full block cannot
    /// fail (no `Result` to unwrap per message).
    mac_key: Zeroizing<[u8; HMAC_BLOCK]>,
}

impl SealedV2Key {
    /// Derives the keys from the configured secret (its UTF-8 bytes) with
    /// PBKDF2-HMAC-SHA256, salt `payments/sealed-v2`, 100,000 iterations: bytes 0..32 are
    /// the AES-256 key, 32..64 the HMAC key.
    ///
    /// The derivation is deliberately slow (tens of milliseconds optimised, over a second
    /// in an unoptimised debug build), so its result is kept in a small process-wide
    /// cache: a process that starts a server and several clients with one secret — a
    /// test suite, typically — pays for it once. The cache holds the keys of the last 16
    /// secrets (keyed by an HMAC of the secret under a random per-process key, never the
    /// secret itself) for the life of the process; concurrent calls with the same secret
    /// wait for one derivation. Still, derive at start-up and clone the key, never per
    /// request.
    pub fn derive(secret: &str) -> Self {
        super::derive_cache::derived(secret, Self::derive_uncached)
    }

    /// The PBKDF2 derivation itself, without the cache.
    pub(super) fn derive_uncached(secret: &str) -> Self {
        let mut bytes = Zeroizing::new([0u8; 64]);
        pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), KDF_SALT, KDF_ITERATIONS, &mut *bytes);
        Self::from_key_bytes(&bytes)
    }

    /// Builds the keys from 64 already-derived bytes: 0..32 the AES-256 key, 32..64 the
    /// HMAC-SHA256 key. The argument is wiped once copied.
    pub fn from_bytes(mut bytes: [u8; 64]) -> Self {
        let key = Self::from_key_bytes(&bytes);
        bytes.zeroize();
        key
    }

    fn from_key_bytes(bytes: &[u8; 64]) -> Self {
        let (aes_key, mac) = bytes.split_at(32);
        let mut mac_key = Zeroizing::new([0u8; HMAC_BLOCK]);
        mac_key[..32].copy_from_slice(mac);
        Self {
            aes: Box::new((
                Aes256Enc::new(aes_key.into()),
                Aes256Dec::new(aes_key.into()),
            )),
            mac_key,
        }
    }

    /// Seals `plaintext` for the message described by `binding`, with a fresh random IV
    /// from the operating system, and returns the base64 body.
    pub fn seal(&self, plaintext: &[u8], binding: &Binding<'_>) -> String {
        self.seal_with_iv(plaintext, binding, random_iv())
    }

    /// [`seal`](Self::seal) with a given IV: for test vectors only. Reusing an IV under
    /// one key leaks equal plaintext prefixes; production code calls `seal`.
    pub fn seal_with_iv(&self, plaintext: &[u8], binding: &Binding<'_>, iv: [u8; 16]) -> String {
        let sealed = self.seal_raw(plaintext, iv, |mac| binding.feed(|part| mac.update(part)));
        STANDARD.encode(&sealed)
    }

    /// Opens a base64 body (surrounding ASCII whitespace ignored) sealed for the message
    /// described by `binding`. The tag is checked, in constant time, before decrypting.
    /// The timestamp's freshness is not checked here: see
    /// [`check_freshness`](super::check_freshness).
    ///
    /// # Errors
    /// [`EnvelopeError::NotBase64`] if the body is not standard base64;
    /// [`EnvelopeError::UnknownVersion`] if its first byte is not `0x02`;
    /// [`EnvelopeError::Truncated`] if it is too short or the ciphertext is not whole
    /// blocks; [`EnvelopeError::BadTag`] if it was altered, sealed under another key, or
    /// bound to another method, path or timestamp; [`EnvelopeError::Decrypt`] if an
    /// authentic body has invalid padding (only a sealer with our key could make one).
    pub fn open(&self, body: &str, binding: &Binding<'_>) -> Result<Vec<u8>, EnvelopeError> {
        let mut buf = STANDARD
            .decode(body.trim_ascii())
            .map_err(|_| EnvelopeError::NotBase64)?;
        let (iv, ct_end) = self.verify(&buf, |mac| binding.feed(|part| mac.update(part)))?;
        let len = decrypt_in_place(&self.aes.1, &iv, &mut buf[HEADER..ct_end])?;
        // Move the plaintext to the front of the decoded buffer rather than copying it
        // into a new one.
        buf.copy_within(HEADER..HEADER + len, 0);
        buf.truncate(len);
        Ok(buf)
    }

    /// Seals `plaintext` with arbitrary associated data (for records at rest): returns
    /// the raw bytes `0x02 ‖ IV ‖ ciphertext ‖ HMAC(mac key, 0x02 ‖ IV ‖ ciphertext ‖ aad)`,
    /// not base64. The IV is fresh and random.
    ///
    /// Sealing with `aad` = [`Binding::associated_data`] gives exactly the bytes of a
    /// wire body: use an `aad` that cannot be mistaken for a binding (for instance one
    /// that starts with a record type and contains no `0x00`) to keep the two apart.
    pub fn seal_aad(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.seal_raw(plaintext, random_iv(), |mac| mac.update(aad))
    }

    /// Opens bytes made by [`seal_aad`](Self::seal_aad) with the same `aad`. The tag is
    /// checked, in constant time, before decrypting.
    ///
    /// # Errors
    /// As [`open`](Self::open), less [`EnvelopeError::NotBase64`].
    pub fn open_aad(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let (iv, ct_end) = self.verify(sealed, |mac| mac.update(aad))?;
        let mut buf = sealed[HEADER..ct_end].to_vec();
        let len = decrypt_in_place(&self.aes.1, &iv, &mut buf)?;
        buf.truncate(len);
        Ok(buf)
    }

    /// A 32-byte key for another purpose, derived from this key's MAC key:
    /// `HMAC-SHA256(mac key, 0x00 ‖ label)`.
    ///
    /// The leading `0x00` keeps these apart from every tag the envelope makes (those MAC
    /// inputs start with the version byte `0x02`), so no sealed message or record can
    /// reveal a subkey, and different labels give independent keys. Public so a server
    /// can key lookup hashes (idempotency request hashes, billing keys) with its data
    /// keys; each use takes its own label.
    pub fn derive_subkey(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = self.mac();
        mac.update(&[0]);
        mac.update(label.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as KeyInit>::new((&*self.mac_key).into())
    }

    /// Builds `0x02 ‖ IV ‖ ct ‖ tag` in one buffer allocated at its final size.
    fn seal_raw(
        &self,
        plaintext: &[u8],
        iv: [u8; BLOCK],
        feed_aad: impl FnOnce(&mut HmacSha256),
    ) -> Vec<u8> {
        let ct_len = padded_len(plaintext.len());
        let tag_at = HEADER + ct_len;
        let mut buf = vec![0u8; tag_at + TAG];
        buf[0] = VERSION;
        buf[1..HEADER].copy_from_slice(&iv);
        let (sealed, tag) = buf.split_at_mut(tag_at);
        encrypt_into(&self.aes.0, &iv, plaintext, &mut sealed[HEADER..]);
        let mut mac = self.mac();
        mac.update(sealed);
        feed_aad(&mut mac);
        tag.copy_from_slice(&mac.finalize().into_bytes());
        buf
    }

    /// Checks the layout and the tag of `sealed`; returns its IV and where its ciphertext
    /// ends (it starts at `HEADER`).
    fn verify(
        &self,
        sealed: &[u8],
        feed_aad: impl FnOnce(&mut HmacSha256),
    ) -> Result<([u8; BLOCK], usize), EnvelopeError> {
        match sealed.first() {
            None => return Err(EnvelopeError::Truncated),
            Some(&VERSION) => {}
            Some(&other) => return Err(EnvelopeError::UnknownVersion(other)),
        }
        if sealed.len() < HEADER + BLOCK + TAG
            || !(sealed.len() - HEADER - TAG).is_multiple_of(BLOCK)
        {
            return Err(EnvelopeError::Truncated);
        }
        let ct_end = sealed.len() - TAG;
        let mut mac = self.mac();
        mac.update(&sealed[..ct_end]);
        feed_aad(&mut mac);
        // `verify_slice` compares in constant time (`subtle`).
        mac.verify_slice(&sealed[ct_end..])
            .map_err(|_| EnvelopeError::BadTag)?;
        let mut iv = [0u8; BLOCK];
        iv.copy_from_slice(&sealed[1..HEADER]);
        Ok((iv, ct_end))
    }
}

fn random_iv() -> [u8; BLOCK] {
    let mut iv = [0u8; BLOCK];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    iv
}

impl std::fmt::Debug for SealedV2Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedV2Key(AES-256-CBC + HMAC-SHA256, keys ***)")
    }
}

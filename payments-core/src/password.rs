//! Password hashing, stored in self-describing strings.
//!
//! Two stored forms:
//! - `pbkdf2-sha256$<iterations>$<salt>$<hash>` ([`PasswordHasher`], [`verify_password`]):
//!   PBKDF2-HMAC-SHA256, where `<iterations>` is decimal, `<salt>` is 16 random bytes and
//!   `<hash>` the 32-byte derived key, both in standard base64 with `=` padding. The
//!   iteration count travels with each hash, so the count can be raised for new hashes
//!   while old ones still verify.
//! - `hmac-sha256$<key id>$<salt>$<hash>` ([`RecordPasswordKey`], [`RecordPasswordKeys`]):
//!   the keyed record-password hash, HMAC-SHA256 under a key derived from a data key;
//!   microseconds instead of tens of milliseconds. [`RecordPasswordKeys::verify`] reads
//!   both forms and tells when a stored form should be upgraded ([`PasswordCheck`]).

mod keyed;

pub use keyed::{
    KEYED_SCHEME, MAX_KEY_ID_LEN, PasswordCheck, RECORD_PASSWORD_KEY_LABEL, RecordPasswordKey,
    RecordPasswordKeys,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The iteration count the OWASP Password Storage Cheat Sheet recommends for
/// PBKDF2-HMAC-SHA256 (2023 onwards).
pub const OWASP_PBKDF2_SHA256_ITERATIONS: u32 = 600_000;
/// The fewest iterations [`PasswordHasher::new`] and [`verify_password`] accept. Far
/// below OWASP's advice and meant for tests; a count below it is a configuration or
/// storage mistake, not a choice.
pub const MIN_ITERATIONS: u32 = 1_000;
/// The most iterations [`PasswordHasher::new`] and [`verify_password`] accept (about 30
/// times OWASP's advice), so that a corrupt stored form cannot make one verification
/// run for minutes.
pub const MAX_ITERATIONS: u32 = 20_000_000;
/// The scheme name that opens every PBKDF2 stored form.
pub const SCHEME: &str = "pbkdf2-sha256";
/// Bytes of random salt in each hash.
pub const SALT_LEN: usize = 16;
/// Bytes of derived key in each hash.
pub const HASH_LEN: usize = 32;

/// Why a hasher could not be built or a stored form could not be read. Never contains
/// the password, the salt or the hash.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum PasswordError {
    /// The iteration count is outside [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`].
    #[error("PBKDF2 iteration count {iterations} is outside the accepted range {min}..={max}")]
    IterationsOutOfRange {
        /// The count that was given or stored.
        iterations: u32,
        /// [`MIN_ITERATIONS`].
        min: u32,
        /// [`MAX_ITERATIONS`].
        max: u32,
    },
    /// The stored form does not have the four `$`-separated fields.
    #[error(
        "stored password hash must have 4 '$'-separated fields (scheme$iterations or key id$salt$hash), found {found}"
    )]
    FieldCount {
        /// How many fields it has.
        found: usize,
    },
    /// The stored form's scheme is neither [`SCHEME`] nor [`KEYED_SCHEME`] (or, for
    /// [`verify_password`], is not [`SCHEME`]).
    #[error(
        "stored password hash has an unknown scheme (expected \"pbkdf2-sha256\", or \"hmac-sha256\" through RecordPasswordKeys::verify)"
    )]
    UnknownScheme,
    /// The iterations field is not a decimal `u32`.
    #[error("stored password hash's iterations field is not a decimal number")]
    InvalidIterations,
    /// The salt field is not standard base64 of [`SALT_LEN`] bytes.
    #[error("stored password hash's salt is not standard base64 of 16 bytes")]
    InvalidSalt,
    /// The hash field is not standard base64 of [`HASH_LEN`] bytes.
    #[error("stored password hash's hash is not standard base64 of 32 bytes")]
    InvalidHash,
    /// A record-password key id is empty, longer than [`MAX_KEY_ID_LEN`] bytes, or holds
    /// something other than visible ASCII (no space, no `$`).
    #[error(
        "record-password key id must be 1 to 64 visible ASCII characters without '$' or spaces"
    )]
    InvalidKeyId,
    /// A keyed stored form names a key id that is not in the key set.
    #[error("stored password hash names record-password key {id:?}, which is not configured")]
    UnknownKeyId {
        /// The id it names.
        id: String,
    },
    /// Two record-password keys were given the same id.
    #[error("record-password key id {id:?} is given twice")]
    DuplicateKeyId {
        /// The repeated id.
        id: String,
    },
}

/// Hashes passwords with PBKDF2-HMAC-SHA256 at a fixed iteration count. Holds only that
/// count, so its `Debug` shows nothing secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHasher {
    iterations: u32,
}

impl PasswordHasher {
    /// A hasher that runs `iterations` rounds of PBKDF2.
    ///
    /// # Errors
    /// [`PasswordError::IterationsOutOfRange`] if `iterations` is below
    /// [`MIN_ITERATIONS`] (1,000; 0 included) or above [`MAX_ITERATIONS`].
    pub fn new(iterations: u32) -> Result<Self, PasswordError> {
        check_iterations(iterations)?;
        Ok(Self { iterations })
    }

    /// The iteration count new hashes are made with.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Hashes `password` (its UTF-8 bytes) with a fresh 16-byte random salt and returns
    /// the stored form `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
    ///
    /// Costs `iterations` HMAC-SHA256 pairs: about 85–90 ms at the OWASP count on one
    /// core of an AMD EPYC with SHA-NI (`cargo bench -p payments-core --bench passwords`).
    pub fn hash(&self, password: &str) -> String {
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let hash = derive(password, &salt, self.iterations);
        format!(
            "{SCHEME}${}${}${}",
            self.iterations,
            STANDARD.encode(salt),
            STANDARD.encode(hash.as_slice())
        )
    }
}

impl Default for PasswordHasher {
    /// A hasher at [`OWASP_PBKDF2_SHA256_ITERATIONS`].
    fn default() -> Self {
        Self {
            iterations: OWASP_PBKDF2_SHA256_ITERATIONS,
        }
    }
}

/// Checks `password` against a stored form made by [`PasswordHasher::hash`], with the
/// iteration count and salt read from the stored form. The hashes are compared in
/// constant time.
///
/// Returns `Ok(true)` for the right password and `Ok(false)` for a wrong one.
///
/// # Errors
/// A [`PasswordError`] naming the field when `stored` is malformed: wrong field count,
/// unknown scheme, an iteration count that is not decimal or is out of range, or a salt
/// or hash that is not standard base64 of the right length.
pub fn verify_password(stored: &str, password: &str) -> Result<bool, PasswordError> {
    let mut fields = stored.split('$');
    let (Some(scheme), Some(iterations), Some(salt), Some(hash), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(PasswordError::FieldCount {
            found: stored.split('$').count(),
        });
    };
    if scheme != SCHEME {
        return Err(PasswordError::UnknownScheme);
    }
    // Digits only: `u32::from_str` would also take a leading `+`.
    if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PasswordError::InvalidIterations);
    }
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| PasswordError::InvalidIterations)?;
    check_iterations(iterations)?;
    let salt = decode_exact::<SALT_LEN>(salt).ok_or(PasswordError::InvalidSalt)?;
    let expected = decode_exact::<HASH_LEN>(hash).ok_or(PasswordError::InvalidHash)?;
    let actual = derive(password, &salt, iterations);
    Ok(bool::from(actual.ct_eq(&expected)))
}

fn check_iterations(iterations: u32) -> Result<(), PasswordError> {
    if (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        Ok(())
    } else {
        Err(PasswordError::IterationsOutOfRange {
            iterations,
            min: MIN_ITERATIONS,
            max: MAX_ITERATIONS,
        })
    }
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> Zeroizing<[u8; HASH_LEN]> {
    let mut out = Zeroizing::new([0u8; HASH_LEN]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut *out);
    out
}

/// Decodes standard base64 that must hold exactly `N` bytes.
fn decode_exact<const N: usize>(field: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    // `decode_slice` refuses output that would not fit; the length check refuses less.
    match STANDARD.decode_slice(field, &mut out) {
        Ok(len) if len == N => Some(out),
        _ => None,
    }
}

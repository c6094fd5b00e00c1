//! The keyed record-password hash: HMAC-SHA256 under a key derived from a data key.
//!
//! Stored form: `hmac-sha256$<key id>$<salt>$<hash>`, where `<key id>` names the data key
//! the hashing key was derived from, `<salt>` is 16 random bytes and
//! `<hash> = HMAC-SHA256(record-password key, salt ‖ password)`, both in standard base64
//! with `=` padding.
//!
//! Why a fast keyed hash is enough for record passwords: every record is sealed with the
//! server's data keys, so whoever holds the database *and* the keys reads the records
//! without any password, and whoever holds the database alone cannot test a guess
//! against a keyed hash at all. What a record password guards is the online API, where
//! guesses are stopped by counting them, not by making each check slow. A keyed check
//! costs about a microsecond; a PBKDF2 check at the OWASP count, ~85 ms.
//!
//! [`RecordPasswordKeys::verify`] reads both this form and the older
//! `pbkdf2-sha256$…` form, and says when a stored form should be replaced
//! ([`PasswordCheck::Upgrade`]): a PBKDF2 hash, or a keyed hash under a key that is no
//! longer the active one.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{HASH_LEN, PasswordError, SALT_LEN, SCHEME, decode_exact, verify_password};
use crate::envelope::SealedV2Key;

/// The scheme name that opens every keyed stored form.
pub const KEYED_SCHEME: &str = "hmac-sha256";
/// The label the record-password key is derived under (see
/// [`RecordPasswordKey::derive`]); no other key is derived with it.
pub const RECORD_PASSWORD_KEY_LABEL: &str = "payments/record-password/v1";
/// The longest key id a keyed stored form may name, in bytes.
pub const MAX_KEY_ID_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// One key that hashes record passwords, with the id of the data key it belongs to.
/// `Debug` prints the id only.
#[derive(Clone)]
pub struct RecordPasswordKey {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl RecordPasswordKey {
    /// The record-password key of a data key: `HMAC-SHA256(data key's MAC key, 0x00 ‖
    /// "payments/record-password/v1")`, named `id` (the data key's id). It rotates with
    /// the data keys: derive one per configured data key.
    ///
    /// # Errors
    /// [`PasswordError::InvalidKeyId`] if `id` is empty, longer than
    /// [`MAX_KEY_ID_LEN`] bytes, or holds anything but visible ASCII (no space, no `$`).
    pub fn derive(id: &str, data_key: &SealedV2Key) -> Result<Self, PasswordError> {
        check_key_id(id)?;
        Ok(Self {
            id: id.to_owned(),
            key: data_key.derive_subkey(RECORD_PASSWORD_KEY_LABEL),
        })
    }

    /// A key from 32 bytes the caller derived itself. The argument is wiped once copied.
    ///
    /// # Errors
    /// As [`derive`](Self::derive).
    pub fn from_bytes(id: &str, key: [u8; 32]) -> Result<Self, PasswordError> {
        let key = Zeroizing::new(key);
        check_key_id(id)?;
        Ok(Self {
            id: id.to_owned(),
            key,
        })
    }

    /// The key id written into every stored form this key makes.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Hashes `password` (its UTF-8 bytes) with a fresh 16-byte random salt and returns
    /// the stored form `hmac-sha256$<key id>$<salt b64>$<hash b64>`. About 3 µs, most of it
    /// the salt from the operating system; a check is about 1.2 µs
    /// (`cargo bench -p payments-core --bench passwords -- record-password`).
    pub fn hash(&self, password: &str) -> String {
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let hash = self.tag(&salt, password);
        format!(
            "{KEYED_SCHEME}${}${}${}",
            self.id,
            STANDARD.encode(salt),
            STANDARD.encode(hash.as_slice())
        )
    }

    fn tag(&self, salt: &[u8; SALT_LEN], password: &str) -> Zeroizing<[u8; HASH_LEN]> {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&*self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        // The salt has a fixed length, so `salt ‖ password` is unambiguous.
        mac.update(salt);
        mac.update(password.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for RecordPasswordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordPasswordKey")
            .field("id", &self.id)
            .field("key", &"***")
            .finish()
    }
}

/// The record-password keys a server holds: the active one hashes new passwords; the
/// others only verify what was hashed before a rotation.
#[derive(Clone, Debug)]
pub struct RecordPasswordKeys {
    /// The active key first, then the others.
    keys: Vec<RecordPasswordKey>,
}

impl RecordPasswordKeys {
    /// A key set: `active` hashes, `older` verify too.
    ///
    /// # Errors
    /// [`PasswordError::DuplicateKeyId`] if two keys have the same id.
    pub fn new(
        active: RecordPasswordKey,
        older: impl IntoIterator<Item = RecordPasswordKey>,
    ) -> Result<Self, PasswordError> {
        let mut keys = vec![active];
        for key in older {
            if keys.iter().any(|known| known.id == key.id) {
                return Err(PasswordError::DuplicateKeyId { id: key.id });
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// Derives the set from the data keys (`(id, key)` pairs), `active` naming the data
    /// key that hashes new passwords: one [`RecordPasswordKey::derive`] per data key.
    ///
    /// # Errors
    /// [`PasswordError::InvalidKeyId`] for an id a stored form cannot carry,
    /// [`PasswordError::DuplicateKeyId`] for an id given twice,
    /// [`PasswordError::UnknownKeyId`] if `active` is not among the ids.
    pub fn derive<'a>(
        active: &str,
        data_keys: impl IntoIterator<Item = (&'a str, &'a SealedV2Key)>,
    ) -> Result<Self, PasswordError> {
        let mut derived = Vec::new();
        for (id, key) in data_keys {
            derived.push(RecordPasswordKey::derive(id, key)?);
        }
        let at = derived
            .iter()
            .position(|key| key.id == active)
            .ok_or_else(|| PasswordError::UnknownKeyId {
                id: active.to_owned(),
            })?;
        let active = derived.remove(at);
        Self::new(active, derived)
    }

    /// The key new passwords are hashed with.
    pub fn active(&self) -> &RecordPasswordKey {
        &self.keys[0]
    }

    /// Hashes `password` under the active key ([`RecordPasswordKey::hash`]).
    pub fn hash(&self, password: &str) -> String {
        self.active().hash(password)
    }

    /// Checks `password` against a stored form: the keyed form of any key in the set, or
    /// a `pbkdf2-sha256$…` form (checked as [`verify_password`] does, at the iteration
    /// count it names). Hashes are compared in constant time.
    ///
    /// A right password answers [`PasswordCheck::Right`] when the stored form is keyed
    /// under the active key, and [`PasswordCheck::Upgrade`] with the same password
    /// freshly hashed under the active key when it is a PBKDF2 hash or a keyed hash under
    /// an older key: store that in place of the old form.
    ///
    /// # Errors
    /// A [`PasswordError`] naming the field when `stored` is malformed (as
    /// [`verify_password`] for the PBKDF2 form; for the keyed form, a key id that is not
    /// in the set is [`PasswordError::UnknownKeyId`]).
    pub fn verify(&self, stored: &str, password: &str) -> Result<PasswordCheck, PasswordError> {
        let Some((scheme, rest)) = stored.split_once('$') else {
            return Err(PasswordError::FieldCount { found: 1 });
        };
        let right_but_old = || PasswordCheck::Upgrade {
            rehashed: self.hash(password),
        };
        match scheme {
            SCHEME => Ok(if verify_password(stored, password)? {
                right_but_old()
            } else {
                PasswordCheck::Wrong
            }),
            KEYED_SCHEME => {
                let (id, salt, expected) = keyed_fields(stored, rest)?;
                let (at, key) = self
                    .keys
                    .iter()
                    .enumerate()
                    .find(|(_, key)| key.id == id)
                    .ok_or_else(|| PasswordError::UnknownKeyId { id: id.to_owned() })?;
                let actual = key.tag(&salt, password);
                Ok(if !bool::from(actual.ct_eq(&expected)) {
                    PasswordCheck::Wrong
                } else if at == 0 {
                    PasswordCheck::Right
                } else {
                    right_but_old()
                })
            }
            _ => Err(PasswordError::UnknownScheme),
        }
    }
}

/// The answer of [`RecordPasswordKeys::verify`] for a well-formed stored form.
#[must_use]
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password does not match.
    Wrong,
    /// The password matches and the stored form is current: keep it.
    Right,
    /// The password matches, but the stored form is a PBKDF2 hash or a keyed hash under
    /// a key that is no longer active: replace it with `rehashed`.
    Upgrade {
        /// The same password, hashed under the active key.
        rehashed: String,
    },
}

impl PasswordCheck {
    /// Whether the password matched ([`Right`](Self::Right) or
    /// [`Upgrade`](Self::Upgrade)).
    pub fn is_right(&self) -> bool {
        !matches!(self, Self::Wrong)
    }
}

impl std::fmt::Debug for PasswordCheck {
    /// The rehashed form is not printed: stored forms stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Wrong => "Wrong",
            Self::Right => "Right",
            Self::Upgrade { .. } => "Upgrade { rehashed: *** }",
        })
    }
}

/// The key id, salt and hash of a keyed stored form; `rest` is what follows the scheme.
fn keyed_fields<'a>(
    stored: &str,
    rest: &'a str,
) -> Result<(&'a str, [u8; SALT_LEN], [u8; HASH_LEN]), PasswordError> {
    let mut fields = rest.split('$');
    let (Some(id), Some(salt), Some(hash), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(PasswordError::FieldCount {
            found: stored.split('$').count(),
        });
    };
    check_key_id(id)?;
    let salt = decode_exact::<SALT_LEN>(salt).ok_or(PasswordError::InvalidSalt)?;
    let hash = decode_exact::<HASH_LEN>(hash).ok_or(PasswordError::InvalidHash)?;
    Ok((id, salt, hash))
}

fn check_key_id(id: &str) -> Result<(), PasswordError> {
    let printable = |b: u8| b.is_ascii_graphic() && b != b'$';
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !id.bytes().all(printable) {
        return Err(PasswordError::InvalidKeyId);
    }
    Ok(())
}

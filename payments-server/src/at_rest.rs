//! Sealing records at rest: PG objects, cancel lists, webhook bodies and stored
//! idempotent responses are encrypted with a random IV and a MAC under a configured data
//! key. Each sealed value names its key id, so keys rotate: new values use the active
//! key, old values still open with the key they name.
//!
//! Stored form: `{key id}.{base64(0x02 ‖ IV ‖ ciphertext ‖ tag)}`, the tag also binding
//! the key id and the value's context (e.g. `history:{id}:data`), so a sealed value
//! cannot be moved to another record or field.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use payments_core::envelope::SealedV2Key;
use payments_core::password::{RecordPasswordKey, RecordPasswordKeys};
use std::collections::HashMap;

/// The label of idempotency request hashes ([`DataKeys::lookup_hash`]).
pub const IDEMPOTENCY_REQUEST_LABEL: &str = "payments/idempotency-request/v1";

/// The label of billing-key hashes ([`DataKeys::lookup_hash`]).
pub const BILLING_KEY_LABEL: &str = "payments/billing-key/v1";

/// The configured data keys.
#[derive(Clone)]
pub struct DataKeys {
    active: String,
    keys: HashMap<String, SealedV2Key>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeys")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A sealed value that cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtRestError {
    /// The value names a key that is not configured.
    #[error("data key {0:?} is not configured")]
    UnknownKey(String),
    /// The value is not in the stored form, or fails its MAC.
    #[error("sealed value is corrupt or was moved: {0}")]
    Corrupt(String),
    /// A configured key is unusable.
    #[error("data key {id:?}: {problem}")]
    BadKey {
        /// The key id.
        id: String,
        /// What was wrong.
        problem: String,
    },
}

impl DataKeys {
    /// Builds the key set from `(id, base64 of 64 random bytes)` pairs; `active` seals new
    /// values.
    ///
    /// # Errors
    /// An id that is empty or contains `.`, a key that is not base64 of 64 bytes, or an
    /// active id that is not among the keys.
    pub fn new(active: &str, keys: &[(String, String)]) -> Result<Self, AtRestError> {
        let mut map = HashMap::new();
        for (id, encoded) in keys {
            if id.is_empty() || id.contains('.') {
                return Err(AtRestError::BadKey {
                    id: id.clone(),
                    problem: "key ids must be non-empty and contain no '.'".into(),
                });
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| AtRestError::BadKey {
                    id: id.clone(),
                    problem: "not base64".into(),
                })?;
            let bytes: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| AtRestError::BadKey {
                id: id.clone(),
                problem: format!("expected 64 bytes, got {}", b.len()),
            })?;
            map.insert(id.clone(), SealedV2Key::from_bytes(bytes));
        }
        if !map.contains_key(active) {
            return Err(AtRestError::BadKey {
                id: active.to_owned(),
                problem: "the active data key is not among the configured keys".into(),
            });
        }
        Ok(Self {
            active: active.to_owned(),
            keys: map,
        })
    }

    /// The record-password keys: one derived from each data key under its own label
    /// ([`RecordPasswordKey::derive`]), the active data key's hashing new passwords. So
    /// they rotate with the data keys: a hash made under a retired key still verifies
    /// while that key is configured, and is rehashed under the active one on its next
    /// right password.
    ///
    /// # Errors
    /// [`AtRestError::BadKey`] for a data key id a stored hash cannot carry (spaces,
    /// `$`, more than 64 bytes).
    pub fn record_password_keys(&self) -> Result<RecordPasswordKeys, AtRestError> {
        let mut derived = Vec::with_capacity(self.keys.len());
        for (id, key) in &self.keys {
            let key = RecordPasswordKey::derive(id, key).map_err(|e| AtRestError::BadKey {
                id: id.clone(),
                problem: e.to_string(),
            })?;
            derived.push(key);
        }
        let at = derived
            .iter()
            .position(|key| key.id() == self.active)
            .ok_or_else(|| AtRestError::BadKey {
                id: self.active.clone(),
                problem: "the active data key is not among the configured keys".into(),
            })?;
        let active = derived.swap_remove(at);
        RecordPasswordKeys::new(active, derived).map_err(|e| AtRestError::BadKey {
            id: self.active.clone(),
            problem: e.to_string(),
        })
    }

    /// A keyed lookup hash of `bytes` under the active data key: `{key id}.` followed by
    /// base64url (no padding) of `HMAC-SHA256(subkey, bytes)`, where the subkey is the
    /// active key's [`SealedV2Key::derive_subkey`] for `label`. Equal inputs give equal
    /// hashes (so a column of them can be unique and searched), but without the data key
    /// nobody can test a guess against one, unlike a plain SHA-256. Each purpose takes
    /// its own label ([`IDEMPOTENCY_REQUEST_LABEL`], [`BILLING_KEY_LABEL`]).
    pub fn lookup_hash(&self, label: &str, bytes: &[u8]) -> String {
        Self::keyed_hash(&self.active, &self.keys[&self.active], label, bytes)
    }

    /// [`lookup_hash`](Self::lookup_hash) under every configured key, the active key's
    /// first: what a value stored before a key rotation may have been hashed with.
    pub fn lookup_hashes(&self, label: &str, bytes: &[u8]) -> Vec<String> {
        let mut ids: Vec<&String> = self.keys.keys().filter(|id| **id != self.active).collect();
        ids.sort();
        std::iter::once(&self.active)
            .chain(ids)
            .map(|id| Self::keyed_hash(id, &self.keys[id], label, bytes))
            .collect()
    }

    /// Whether `hash` was made by [`lookup_hash`](Self::lookup_hash) under the active key
    /// (rather than a retired one).
    #[cfg(test)]
    pub fn is_active_hash(&self, hash: &str) -> bool {
        hash.split_once('.')
            .is_some_and(|(id, _)| id == self.active)
    }

    fn keyed_hash(id: &str, key: &SealedV2Key, label: &str, bytes: &[u8]) -> String {
        use hmac::Mac;
        let subkey = key.derive_subkey(label);
        // HMAC takes keys of any length: 32 bytes cannot be refused.
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&*subkey)
            .expect("HMAC takes a 32-byte key");
        mac.update(bytes);
        format!(
            "{id}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// A fresh random key, base64 of 64 bytes, as the configuration takes it.
    pub fn generate() -> String {
        use rand::RngCore;
        let mut bytes = [0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
    }

    fn aad(id: &str, context: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(id.len() + context.len() + 1);
        aad.extend_from_slice(id.as_bytes());
        aad.push(0);
        aad.extend_from_slice(context.as_bytes());
        aad
    }

    /// Seals `plaintext` for the field named by `context` under the active key.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let key = &self.keys[&self.active];
        let sealed = key.seal_aad(plaintext, &Self::aad(&self.active, context));
        format!("{}.{}", self.active, STANDARD.encode(sealed))
    }

    /// Seals a JSON value.
    pub fn seal_json<T: serde::Serialize>(&self, context: &str, value: &T) -> String {
        // Serializing our own records cannot fail: they hold no maps with non-string keys.
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        self.seal(context, &bytes)
    }

    /// Opens a value sealed for `context`.
    ///
    /// # Errors
    /// An unknown key id, or a value that is corrupt or was sealed for another context.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, AtRestError> {
        let (id, body) = sealed
            .split_once('.')
            .ok_or_else(|| AtRestError::Corrupt("no key id".into()))?;
        let key = self
            .keys
            .get(id)
            .ok_or_else(|| AtRestError::UnknownKey(id.to_owned()))?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| AtRestError::Corrupt("not base64".into()))?;
        key.open_aad(&bytes, &Self::aad(id, context))
            .map_err(|e| AtRestError::Corrupt(e.to_string()))
    }

    /// Opens a sealed JSON value.
    ///
    /// # Errors
    /// As [`DataKeys::open`], or JSON that does not decode as `T`.
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        context: &str,
        sealed: &str,
    ) -> Result<T, AtRestError> {
        let bytes = self.open(context, sealed)?;
        serde_json::from_slice(&bytes).map_err(|e| AtRestError::Corrupt(e.to_string()))
    }
}

/// The at-rest context an outgoing message (a WebhookHistory or an event) is sealed
/// under; the use cases that write messages and the outbox that delivers them share it.
pub fn message_context(message_id: uuid::Uuid) -> String {
    format!("webhook:{message_id}:body")
}

/// The at-rest context the PG object of an unknown payment (a PG payment a webhook named
/// that no history holds) is sealed under: bound to the PG and its uid, so a sealed value
/// moved to another row does not open.
pub fn unknown_payment_context(vendor: payments_core::records::VendorCode, uid: &str) -> String {
    format!("unknown:{}:{uid}:data", vendor.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(active: &str) -> DataKeys {
        DataKeys::new(
            active,
            &[
                ("k1".into(), DataKeys::generate()),
                ("k2".into(), DataKeys::generate()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn round_trips_and_names_the_key() {
        let keys = keys("k1");
        let sealed = keys.seal("history:1:data", b"{\"a\":1}");
        assert!(sealed.starts_with("k1."));
        assert_eq!(keys.open("history:1:data", &sealed).unwrap(), b"{\"a\":1}");
        assert_ne!(
            sealed,
            keys.seal("history:1:data", b"{\"a\":1}"),
            "fresh IV each time"
        );
    }

    #[test]
    fn a_value_moved_to_another_context_does_not_open() {
        let keys = keys("k1");
        let sealed = keys.seal("history:1:data", b"x");
        assert!(matches!(
            keys.open("history:2:data", &sealed),
            Err(AtRestError::Corrupt(_))
        ));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = keys("k1");
        let sealed = old.seal("c", b"x");
        let rotated = DataKeys {
            active: "k2".into(),
            keys: old.keys.clone(),
        };
        assert_eq!(rotated.open("c", &sealed).unwrap(), b"x");
        assert!(rotated.seal("c", b"y").starts_with("k2."));
        let without_k1 = DataKeys::new("k2", &[("k2".into(), DataKeys::generate())]).unwrap();
        assert_eq!(
            without_k1.open("c", &sealed),
            Err(AtRestError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn record_password_keys_follow_the_active_data_key() {
        let old = keys("k1");
        let hash = old.record_password_keys().unwrap().hash("pw");
        assert!(hash.starts_with("hmac-sha256$k1$"));
        let rotated = DataKeys {
            active: "k2".into(),
            keys: old.keys.clone(),
        };
        let check = rotated.record_password_keys().unwrap().verify(&hash, "pw");
        assert!(
            matches!(check, Ok(payments_core::password::PasswordCheck::Upgrade { rehashed }) if rehashed.starts_with("hmac-sha256$k2$"))
        );
    }

    #[test]
    fn lookup_hashes_are_keyed_labelled_and_rotate() {
        let old = keys("k1");
        let hash = old.lookup_hash(IDEMPOTENCY_REQUEST_LABEL, b"body");
        assert!(hash.starts_with("k1.") && old.is_active_hash(&hash));
        assert_eq!(hash, old.lookup_hash(IDEMPOTENCY_REQUEST_LABEL, b"body"));
        assert_ne!(hash, old.lookup_hash(BILLING_KEY_LABEL, b"body"));
        assert_ne!(hash, old.lookup_hash(IDEMPOTENCY_REQUEST_LABEL, b"other"));
        let other_key = DataKeys::new("k1", &[("k1".into(), DataKeys::generate())]).unwrap();
        assert_ne!(
            hash,
            other_key.lookup_hash(IDEMPOTENCY_REQUEST_LABEL, b"body"),
            "keyed: without the data key the hash cannot be recomputed"
        );
        let rotated = DataKeys {
            active: "k2".into(),
            keys: old.keys.clone(),
        };
        let all = rotated.lookup_hashes(IDEMPOTENCY_REQUEST_LABEL, b"body");
        assert!(all[0].starts_with("k2."));
        assert!(all.contains(&hash) && !rotated.is_active_hash(&hash));
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(DataKeys::new("k1", &[("k1".into(), "short".into())]).is_err());
        assert!(DataKeys::new("k9", &[("k1".into(), DataKeys::generate())]).is_err());
        assert!(DataKeys::new("a.b", &[("a.b".into(), DataKeys::generate())]).is_err());
        assert!(!format!("{:?}", keys("k1")).contains('='));
    }
}

//! The at-rest data keys as a tool outside the server sees them: a fresh key for the
//! configuration ([`generate_data_key`]), and a [`HistorySealer`] for a writer that puts
//! payment histories into the database the way the server does (the bench's preload).
//!
//! How values are sealed (the stored form, the contexts, rotation) stays inside the
//! crate: a writer gets sealed fields for a history id, never a context string to copy,
//! so it cannot drift from what the server opens.

use crate::at_rest::DataKeys;
use payments_core::password::RecordPasswordKeys;
use uuid::Uuid;

pub use crate::at_rest::AtRestError;

/// A fresh random data key, base64 of 64 bytes, as `[data_keys] keys` takes it.
pub fn generate_data_key() -> String {
    DataKeys::generate()
}

/// Seals a payment history's fields and hashes its record password exactly as the
/// server does under the same `[data_keys]`, so rows written around the server (a bulk
/// preload) read back through its API. Cheap to share between threads.
#[derive(Clone)]
pub struct HistorySealer {
    keys: DataKeys,
    passwords: RecordPasswordKeys,
}

impl std::fmt::Debug for HistorySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistorySealer")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl HistorySealer {
    /// A sealer over the data keys `(id, base64 of 64 bytes)`, `active` sealing, as
    /// `[data_keys] active` and `keys` configure the server.
    ///
    /// # Errors
    /// [`AtRestError::BadKey`] for an id that is empty, contains `.` or cannot carry a
    /// password hash, a key that is not base64 of 64 bytes, or an active id that is not
    /// among the keys.
    pub fn new(active: &str, keys: &[(String, String)]) -> Result<Self, AtRestError> {
        let keys = DataKeys::new(active, keys)?;
        let passwords = keys.record_password_keys()?;
        Ok(Self { keys, passwords })
    }

    /// The stored hash of a record password (`password_hash`), under the active key.
    pub fn password_hash(&self, password: &str) -> String {
        self.passwords.hash(password)
    }

    /// History `id`'s PG object (`data_sealed`), from its JSON.
    pub fn seal_data(&self, id: Uuid, json: &[u8]) -> String {
        self.keys.seal(&crate::histories::data_context(id), json)
    }

    /// History `id`'s cancel list (`cancels_sealed`), from its JSON.
    pub fn seal_cancels(&self, id: Uuid, json: &[u8]) -> String {
        self.keys.seal(&crate::histories::cancels_context(id), json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payments_core::password::PasswordCheck;

    fn config() -> Vec<(String, String)> {
        vec![
            ("k1".to_owned(), generate_data_key()),
            ("k2".to_owned(), generate_data_key()),
        ]
    }

    #[test]
    fn rows_sealed_here_open_as_the_server_reads_them() {
        let config = config();
        let sealer = HistorySealer::new("k2", &config).unwrap();
        // What the server builds from the same `[data_keys]`.
        let server = DataKeys::new("k2", &config).unwrap();
        let id = Uuid::new_v4();
        let data = sealer.seal_data(id, br#"{"paymentKey":"p"}"#);
        let cancels = sealer.seal_cancels(id, b"[]");
        let read = |context: String, sealed: &str| server.open(&context, sealed);
        assert_eq!(
            read(crate::histories::data_context(id), &data).unwrap(),
            br#"{"paymentKey":"p"}"#
        );
        assert_eq!(
            read(crate::histories::cancels_context(id), &cancels).unwrap(),
            b"[]"
        );
        assert!(
            read(crate::histories::data_context(Uuid::new_v4()), &data).is_err(),
            "bound to its history"
        );
        let hash = sealer.password_hash("pw");
        let passwords = server.record_password_keys().unwrap();
        assert!(matches!(
            passwords.verify(&hash, "pw"),
            Ok(PasswordCheck::Right)
        ));
        assert!(matches!(
            passwords.verify(&hash, "guess"),
            Ok(PasswordCheck::Wrong)
        ));
    }

    #[test]
    fn a_bad_key_is_refused_and_no_key_is_printed() {
        assert!(HistorySealer::new("k9", &config()).is_err());
        assert!(HistorySealer::new("k1", &[("k1".into(), "short".into())]).is_err());
        let key = generate_data_key();
        let sealer = HistorySealer::new("k1", &[("k1".into(), key.clone())]).unwrap();
        assert!(!format!("{sealer:?}").contains(&key));
    }
}

//! [`CertificationStore`] on SQLite.

use super::{SqliteStore, engine};
use crate::store::{CertificationStore, StoreError};
use async_trait::async_trait;
use payments_core::records::VendorCode;
use rusqlite::params;

#[async_trait]
impl CertificationStore for SqliteStore {
    async fn claim_certification(
        &self,
        code: VendorCode,
        store_id: &str,
        uid: &str,
        used_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let (store_id, uid) = (store_id.to_owned(), uid.to_owned());
        self.write(move |connection| {
            let inserted = connection
                .prepare_cached(
                    "INSERT INTO certification_uses (vendor_code, store_id, certification_id, used_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                )
                .map_err(engine)?
                .execute(params![code.as_str(), store_id, uid, used_at_ms])
                .map_err(engine)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn certification_sweep(
        &self,
        used_before_ms: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.write(move |connection| {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM certification_uses WHERE rowid IN \
                     (SELECT rowid FROM certification_uses WHERE used_at < ?1 LIMIT ?2)",
                )
                .map_err(engine)?
                .execute(params![used_before_ms, limit])
                .map_err(engine)?;
            Ok(deleted as u64)
        })
        .await
    }
}

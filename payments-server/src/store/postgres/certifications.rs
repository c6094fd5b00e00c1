//! [`CertificationStore`] on PostgreSQL: the primary key decides which of two instances
//! accepting one certification at once gets it.

use super::{PostgresStore, execute};
use crate::store::{CertificationStore, StoreError};
use async_trait::async_trait;
use payments_core::records::VendorCode;

#[async_trait]
impl CertificationStore for PostgresStore {
    async fn claim_certification(
        &self,
        code: VendorCode,
        store_id: &str,
        uid: &str,
        used_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let inserted = execute(
            &client,
            "INSERT INTO certification_uses (vendor_code, store_id, certification_id, used_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&code.as_str(), &store_id, &uid, &used_at_ms],
        )
        .await?;
        Ok(inserted == 1)
    }

    async fn certification_sweep(
        &self,
        used_before_ms: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM certification_uses WHERE (vendor_code, store_id, certification_id) IN \
             (SELECT vendor_code, store_id, certification_id FROM certification_uses \
              WHERE used_at < $1 LIMIT $2)",
            &[&used_before_ms, &i64::from(limit)],
        )
        .await
    }
}

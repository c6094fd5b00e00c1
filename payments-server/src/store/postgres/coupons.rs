//! [`CouponStore`] on PostgreSQL: rows keyed by the code's hash (a taken hash is the
//! `coupons_code_hash` key, [`StoreConflict::CouponCode`](crate::store::StoreConflict::CouponCode)),
//! updates conditional on the version read, a redemption's transaction and messages in
//! the same SQL transaction. Of two instances redeeming one coupon at once, the second
//! `UPDATE` waits for the first's commit, re-reads the row, finds the version moved on
//! and changes nothing.

use super::{PostgresStore, commit_change, engine, get, query, ts};
use crate::store::{CouponStore, NewMessage, StoreError, StoredCoupon, TransactionWrite, words};
use async_trait::async_trait;

#[async_trait]
impl CouponStore for PostgresStore {
    async fn insert_coupons(&self, coupons: &[StoredCoupon]) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(engine)?;
        let statement = tx
            .prepare_cached(
                "INSERT INTO coupons (code_hash, status, body_sealed, issued_at, expires_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(engine)?;
        for c in coupons {
            tx.execute(
                &statement,
                &[
                    &c.code_hash,
                    &c.status.as_str(),
                    &c.body_sealed,
                    &ts(&c.issued_at),
                    &ts(&c.expires_at),
                    &c.version,
                ],
            )
            .await
            .map_err(engine)?;
        }
        tx.commit().await.map_err(engine)
    }

    async fn coupon_by_hash(&self, code_hash: &str) -> Result<Option<StoredCoupon>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT status, body_sealed, issued_at, expires_at, version FROM coupons WHERE code_hash = $1",
            &[&code_hash],
        )
        .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(StoredCoupon {
            code_hash: code_hash.to_owned(),
            status: words::parse(&get::<String>(row, 0, "coupons.status")?, "coupons.status")?,
            body_sealed: get(row, 1, "coupons.body_sealed")?,
            issued_at: get(row, 2, "coupons.issued_at")?,
            expires_at: get(row, 3, "coupons.expires_at")?,
            version: get(row, 4, "coupons.version")?,
        }))
    }

    async fn update_coupon(
        &self,
        coupon: &StoredCoupon,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let c = coupon;
        let mut client = self.client().await?;
        // Dropping `tx` without commit rolls everything back.
        let tx = client.transaction().await.map_err(engine)?;
        let statement = tx
            .prepare_cached(
                "UPDATE coupons SET status = $2, body_sealed = $3, version = version + 1 \
                 WHERE code_hash = $1 AND version = $4",
            )
            .await
            .map_err(engine)?;
        let changed = tx
            .execute(
                &statement,
                &[&c.code_hash, &c.status.as_str(), &c.body_sealed, &c.version],
            )
            .await
            .map_err(engine)?;
        if changed != 1 {
            return Ok(false);
        }
        let committed = commit_change(tx, transaction, messages).await?;
        if committed && !messages.is_empty() {
            self.wake_outbox();
        }
        Ok(committed)
    }
}

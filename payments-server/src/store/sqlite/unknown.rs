//! [`UnknownPaymentStore`] on SQLite: one row per PG payment, upserted on the writer
//! connection, where the check that no history holds it cannot be split from the write.

use super::{SqliteStore, engine, exists, ts};
use crate::store::{StoreError, UnknownPayment, UnknownPaymentStore};
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl UnknownPaymentStore for SqliteStore {
    async fn keep_unknown_payment(&self, payment: &UnknownPayment) -> Result<bool, StoreError> {
        let p = payment.clone();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            if exists(
                &tx,
                "SELECT 1 FROM histories WHERE vendor_code = ?1 AND vendor_uid = ?2",
                &[&p.vendor.as_str(), &p.uid],
            )? {
                return Ok(false);
            }
            let known = exists(
                &tx,
                "SELECT 1 FROM unknown_payments WHERE vendor_code = ?1 AND vendor_uid = ?2",
                &[&p.vendor.as_str(), &p.uid],
            )?;
            let seen = ts(&p.seen_at);
            tx.prepare_cached("INSERT INTO unknown_payments (vendor_code, store_id, vendor_uid, order_id, status, \
                 data_sealed, sightings, first_seen_at, last_seen_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7) \
                 ON CONFLICT (vendor_code, vendor_uid) DO UPDATE SET \
                 store_id = excluded.store_id, order_id = excluded.order_id, \
                 status = excluded.status, data_sealed = excluded.data_sealed, \
                 sightings = sightings + 1, last_seen_at = excluded.last_seen_at")
    .map_err(engine)?
    .execute(params![
                    p.vendor.as_str(),
                    p.store_id,
                    p.uid,
                    p.order_id,
                    p.status.as_str(),
                    p.data_sealed,
                    seen
                ],
            )
            .map_err(engine)?;
            tx.commit().map_err(engine)?;
            Ok(!known)
        })
        .await
    }

    async fn unknown_payment_count(&self) -> Result<i64, StoreError> {
        self.read(|connection| {
            connection
                .prepare_cached("SELECT COUNT(*) FROM unknown_payments")
                .map_err(engine)?
                .query_row([], |row| row.get(0))
                .map_err(engine)
        })
        .await
    }
}

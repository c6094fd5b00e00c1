//! [`UnknownPaymentStore`] on PostgreSQL: one row per PG payment, upserted; a payment a
//! history holds is not kept (checked in the same statement).

use super::{PostgresStore, get, query, ts};
use crate::store::{StoreError, UnknownPayment, UnknownPaymentStore};
use async_trait::async_trait;

#[async_trait]
impl UnknownPaymentStore for PostgresStore {
    async fn keep_unknown_payment(&self, payment: &UnknownPayment) -> Result<bool, StoreError> {
        let p = payment;
        let client = self.client().await?;
        let seen = ts(&p.seen_at);
        // `xmax = 0` tells an inserted row from an updated one.
        let rows = query(
            &client,
            "INSERT INTO unknown_payments (vendor_code, store_id, vendor_uid, order_id, status, \
             data_sealed, sightings, first_seen_at, last_seen_at) \
             SELECT $1, $2, $3, $4, $5, $6, 1, $7, $7 \
             WHERE NOT EXISTS (SELECT 1 FROM histories WHERE vendor_code = $1 AND vendor_uid = $3) \
             ON CONFLICT (vendor_code, vendor_uid) DO UPDATE SET \
             store_id = EXCLUDED.store_id, order_id = EXCLUDED.order_id, \
             status = EXCLUDED.status, data_sealed = EXCLUDED.data_sealed, \
             sightings = unknown_payments.sightings + 1, last_seen_at = EXCLUDED.last_seen_at \
             RETURNING (xmax = 0)",
            &[
                &p.vendor.as_str(),
                &p.store_id,
                &p.uid,
                &p.order_id,
                &p.status.as_str(),
                &p.data_sealed,
                &seen,
            ],
        )
        .await?;
        match rows.first() {
            Some(row) => get(row, 0, "unknown_payments.inserted"),
            None => Ok(false),
        }
    }

    async fn unknown_payment_count(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, "SELECT COUNT(*) FROM unknown_payments", &[]).await?;
        match rows.first() {
            Some(row) => get(row, 0, "unknown_payments.count"),
            None => Ok(0),
        }
    }
}

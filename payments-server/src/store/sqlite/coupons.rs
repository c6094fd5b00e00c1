//! [`CouponStore`] on SQLite: rows keyed by the code's hash, updates conditional on the
//! version read, a redemption's transaction and messages in the same SQL transaction.

use super::{SqliteStore, commit_change, engine, exists, parse_ts, ts};
use crate::store::{
    CouponStore, NewMessage, StoreConflict, StoreError, StoredCoupon, TransactionWrite, words,
};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl CouponStore for SqliteStore {
    async fn insert_coupons(&self, coupons: &[StoredCoupon]) -> Result<(), StoreError> {
        let coupons = coupons.to_vec();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            {
                let mut statement = tx
                    .prepare_cached(
                        "INSERT INTO coupons (code_hash, status, body_sealed, issued_at, expires_at, version) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(engine)?;
                for c in &coupons {
                    if exists(&tx, "SELECT 1 FROM coupons WHERE code_hash = ?1", &[&c.code_hash])? {
                        return Err(StoreError::Conflict(StoreConflict::CouponCode));
                    }
                    statement
                        .execute(params![
                            c.code_hash,
                            c.status.as_str(),
                            c.body_sealed,
                            ts(&c.issued_at),
                            ts(&c.expires_at),
                            c.version
                        ])
                        .map_err(engine)?;
                }
            }
            tx.commit().map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn coupon_by_hash(&self, code_hash: &str) -> Result<Option<StoredCoupon>, StoreError> {
        let code_hash = code_hash.to_owned();
        self.read(move |c| {
            let found: Option<(String, String, String, String, i64)> = c
                .prepare_cached(
                    "SELECT status, body_sealed, issued_at, expires_at, version FROM coupons WHERE code_hash = ?1",
                )
                .map_err(engine)?
                .query_row([&code_hash], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
                })
                .optional()
                .map_err(engine)?;
            let Some((status, body_sealed, issued_at, expires_at, version)) = found else {
                return Ok(None);
            };
            Ok(Some(StoredCoupon {
                code_hash,
                status: words::parse(&status, "coupons.status")?,
                body_sealed,
                issued_at: parse_ts(&issued_at, "coupons.issued_at")?,
                expires_at: parse_ts(&expires_at, "coupons.expires_at")?,
                version,
            }))
        })
        .await
    }

    async fn update_coupon(
        &self,
        coupon: &StoredCoupon,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let c = coupon.clone();
        let transaction = transaction.cloned();
        let messages = messages.to_vec();
        self.write_change(!messages.is_empty(), move |connection| {
            // Dropping `tx` without commit rolls everything back.
            let tx = connection.transaction().map_err(engine)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE coupons SET status = ?2, body_sealed = ?3, version = version + 1 \
                     WHERE code_hash = ?1 AND version = ?4",
                )
                .map_err(engine)?
                .execute(params![
                    c.code_hash,
                    c.status.as_str(),
                    c.body_sealed,
                    c.version
                ])
                .map_err(engine)?;
            if changed != 1 {
                return Ok(false);
            }
            commit_change(tx, transaction.as_ref(), &messages)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use payments_core::records::coupons::CouponStatus;
    use payments_core::timestamp::{self, Timestamp};

    fn at(text: &str) -> Timestamp {
        timestamp::parse(text).unwrap()
    }

    fn coupon(hash: &str) -> StoredCoupon {
        StoredCoupon {
            code_hash: hash.to_owned(),
            status: CouponStatus::Issued,
            body_sealed: format!("sealed-{hash}"),
            issued_at: at("2026-01-01T00:00:00.000Z"),
            expires_at: at("2027-01-01T00:00:00.000Z"),
            version: 0,
        }
    }

    #[tokio::test]
    async fn a_file_database_sees_updates_from_its_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coupons.sqlite");
        let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
        store.insert_coupons(&[coupon("a")]).await.unwrap();
        let mut registered = coupon("a");
        registered.status = CouponStatus::Registered;
        assert!(store.update_coupon(&registered, None, &[]).await.unwrap());
        let read = store.coupon_by_hash("a").await.unwrap().unwrap();
        assert_eq!((read.status, read.version), (CouponStatus::Registered, 1));
    }
}

//! Coupon storage: [`CouponStore`], the part of the [`super::Store`] port that keeps
//! coupons, and its SQLite implementation.
//!
//! The store never sees a code: rows are keyed by the code's hash and the coupon body
//! arrives sealed (see [`crate::coupons`] for both). Updates are conditional on the
//! version that was read, and a redemption's transaction and event messages are written
//! in the same SQL transaction as the coupon's new state, so a coupon is spent exactly
//! when its transaction exists.

use super::sqlite::{SqliteStore, commit_change, engine, exists};
use super::{NewMessage, StoreConflict, StoreError, TransactionWrite};
use async_trait::async_trait;
use payments_core::timestamp::{self, Timestamp};
use rusqlite::{OptionalExtension, params};

/// A coupon as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCoupon {
    /// The lookup key: hex SHA-256 of the domain-separated canonical code.
    pub code_hash: String,
    /// `issued`, `registered` or `redeemed`.
    pub status: String,
    /// The coupon (and when it was registered), sealed at rest.
    pub body_sealed: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Bumped by every update; an update applies only to the version it read.
    pub version: i64,
}

/// Coupon storage: the part of the [`super::Store`] port that keeps coupons.
#[async_trait]
pub trait CouponStore: Send + Sync {
    /// Records new coupons, all or none, in one transaction.
    ///
    /// # Errors
    /// [`StoreConflict::CouponCode`] when a code hash is taken (nothing
    /// is written); engine failures.
    async fn insert_coupons(&self, coupons: &[StoredCoupon]) -> Result<(), StoreError>;

    /// Reads a coupon by its code hash.
    ///
    /// # Errors
    /// Engine failures; [`StoreError::Corrupt`] for an unreadable timestamp.
    async fn coupon_by_hash(&self, code_hash: &str) -> Result<Option<StoredCoupon>, StoreError>;

    /// Replaces a coupon whose stored version is still `coupon.version`, bumping the
    /// version, and writes `transaction` and the messages (with their outbox rows) in the
    /// same transaction. Returns `false`, writing nothing, when the coupon's version
    /// moved on (someone else changed it first), the coupon is gone, or a transaction
    /// update's version moved on.
    ///
    /// # Errors
    /// Engine failures (nothing is written), e.g. when an inserted transaction's id is
    /// taken; [`StoreConflict::OrderHeld`] when an inserted transaction's order is held.
    async fn update_coupon(
        &self,
        coupon: &StoredCoupon,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError>;
}

fn ts(at: &Timestamp) -> String {
    timestamp::format(at)
}

fn parse_ts(text: &str, column: &'static str) -> Result<Timestamp, StoreError> {
    timestamp::parse(text).map_err(|_| StoreError::Corrupt(column))
}

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
                            c.status,
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
                status,
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
        self.write(move |connection| {
            // Dropping `tx` without commit rolls everything back.
            let tx = connection.transaction().map_err(engine)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE coupons SET status = ?2, body_sealed = ?3, version = version + 1 \
                     WHERE code_hash = ?1 AND version = ?4",
                )
                .map_err(engine)?
                .execute(params![c.code_hash, c.status, c.body_sealed, c.version])
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
    use crate::store::{MessageKind, Store, StoredTransaction};
    use payments_core::envelope::EnvelopeKind;
    use uuid::Uuid;

    fn at(text: &str) -> Timestamp {
        timestamp::parse(text).unwrap()
    }

    fn coupon(hash: &str) -> StoredCoupon {
        StoredCoupon {
            code_hash: hash.to_owned(),
            status: "issued".into(),
            body_sealed: format!("sealed-{hash}"),
            issued_at: at("2026-01-01T00:00:00.000Z"),
            expires_at: at("2027-01-01T00:00:00.000Z"),
            version: 0,
        }
    }

    fn transaction(id: Uuid) -> StoredTransaction {
        StoredTransaction {
            id,
            kind: "coupon".into(),
            order_id: "o-1".into(),
            status: "approved".into(),
            history_id: None,
            body_sealed: "sealed-transaction".into(),
            password_hash: "hash".into(),
            holds_order: false,
            created_at: at("2026-06-01T00:00:00.000Z"),
            version: 0,
        }
    }

    fn message(id: Uuid) -> NewMessage {
        NewMessage {
            id,
            kind: MessageKind::Event,
            history_id: None,
            body_sealed: "sealed-event".into(),
            url: "http://127.0.0.1:9/events".into(),
            envelope: EnvelopeKind::SealedV2,
            created_at: at("2026-06-01T00:00:00.000Z"),
        }
    }

    #[tokio::test]
    async fn coupons_round_trip_and_duplicates_write_nothing() {
        let store = SqliteStore::in_memory().unwrap();
        store
            .insert_coupons(&[coupon("a"), coupon("b")])
            .await
            .unwrap();
        assert_eq!(store.coupon_by_hash("a").await.unwrap(), Some(coupon("a")));
        assert_eq!(store.coupon_by_hash("missing").await.unwrap(), None);

        // "c" is new but "a" is taken: the batch is refused as a whole.
        let error = store
            .insert_coupons(&[coupon("c"), coupon("a")])
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict(StoreConflict::CouponCode)),
            "{error:?}"
        );
        assert_eq!(store.coupon_by_hash("c").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_update_applies_once_per_version_with_its_transaction_and_messages() {
        let store = SqliteStore::in_memory().unwrap();
        store.insert_coupons(&[coupon("a")]).await.unwrap();
        let mut redeemed = coupon("a");
        redeemed.status = "redeemed".into();
        redeemed.body_sealed = "sealed-redeemed".into();

        let (first, second) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let write = TransactionWrite::Insert(transaction(first));
        assert!(
            store
                .update_coupon(&redeemed, Some(&write), &[message(Uuid::from_u128(11))])
                .await
                .unwrap()
        );
        let stored = store.coupon_by_hash("a").await.unwrap().unwrap();
        assert_eq!((stored.status.as_str(), stored.version), ("redeemed", 1));
        assert_eq!(stored.body_sealed, "sealed-redeemed");
        assert!(store.transaction_by_id(first).await.unwrap().is_some());
        assert_eq!(store.outbox_depth().await.unwrap(), 1);

        // A second writer that read version 0 loses and leaves no trace.
        let write = TransactionWrite::Insert(transaction(second));
        assert!(
            !store
                .update_coupon(&redeemed, Some(&write), &[message(Uuid::from_u128(12))])
                .await
                .unwrap()
        );
        assert!(store.transaction_by_id(second).await.unwrap().is_none());
        assert_eq!(store.outbox_depth().await.unwrap(), 1);
        assert_eq!(store.coupon_by_hash("a").await.unwrap().unwrap().version, 1);

        // An unknown coupon is not updated either.
        assert!(
            !store
                .update_coupon(&coupon("zzz"), None, &[])
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_failing_transaction_write_rolls_the_coupon_back() {
        let store = SqliteStore::in_memory().unwrap();
        store.insert_coupons(&[coupon("a")]).await.unwrap();
        let id = Uuid::from_u128(7);
        store
            .write_transaction(&TransactionWrite::Insert(transaction(id)), &[])
            .await
            .unwrap();
        let mut redeemed = coupon("a");
        redeemed.status = "redeemed".into();
        // The transaction id is taken: the whole write fails and the coupon stays issued.
        let write = TransactionWrite::Insert(transaction(id));
        assert!(
            store
                .update_coupon(&redeemed, Some(&write), &[])
                .await
                .is_err()
        );
        let stored = store.coupon_by_hash("a").await.unwrap().unwrap();
        assert_eq!((stored.status.as_str(), stored.version), ("issued", 0));
    }

    #[tokio::test]
    async fn a_file_database_sees_updates_from_its_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coupons.sqlite");
        let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
        store.insert_coupons(&[coupon("a")]).await.unwrap();
        let mut registered = coupon("a");
        registered.status = "registered".into();
        assert!(store.update_coupon(&registered, None, &[]).await.unwrap());
        let read = store.coupon_by_hash("a").await.unwrap().unwrap();
        assert_eq!((read.status.as_str(), read.version), ("registered", 1));
    }
}

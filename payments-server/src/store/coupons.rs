//! The coupon port: coupons as stored, and [`CouponStore`].
//!
//! The store never sees a code: rows are keyed by the code's hash and the coupon body
//! arrives sealed (see `coupons.rs` for both). Updates are conditional on the
//! version that was read, and a redemption's transaction and event messages are written
//! in the same SQL transaction as the coupon's new state, so a coupon is spent exactly
//! when its transaction exists.

use super::{NewMessage, StoreError, TransactionWrite};
use async_trait::async_trait;
use payments_core::records::coupons::CouponStatus;
use payments_core::timestamp::Timestamp;

/// A coupon as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCoupon {
    /// The lookup key: hex SHA-256 of the domain-separated canonical code.
    pub code_hash: String,
    /// Where it is in its life.
    pub status: CouponStatus,
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
    ///
    /// [`StoreConflict::CouponCode`]: super::StoreConflict::CouponCode
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
    ///
    /// [`StoreConflict::OrderHeld`]: super::StoreConflict::OrderHeld
    async fn update_coupon(
        &self,
        coupon: &StoredCoupon,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError>;
}

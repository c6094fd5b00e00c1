//! The unknown-payment port: PG payments a webhook named that no history holds, once the
//! PG confirmed they exist, kept sealed for an operator; and [`UnknownPaymentStore`].
//! Such a payment is money at the PG with no record here (a confirmation whose answer
//! was lost and whose caller never retried): dropping its webhook would lose the only
//! trace of it.

use super::StoreError;
use async_trait::async_trait;
use payments_core::records::VendorCode;
use payments_core::timestamp::Timestamp;
use payments_core::vendor::PaymentStatus;

/// A PG payment no history holds, as the PG described it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownPayment {
    /// Which PG.
    pub vendor: VendorCode,
    /// The configured store whose credentials found it.
    pub store_id: String,
    /// The PG's uid (`paymentKey`, `imp_uid`, `paymentId`).
    pub uid: String,
    /// The PG's order id.
    pub order_id: String,
    /// The PG's status when last seen.
    pub status: PaymentStatus,
    /// The PG's object, sealed (see `unknown_payment_context` in `at_rest.rs`).
    pub data_sealed: String,
    /// When a webhook named it.
    pub seen_at: Timestamp,
}

/// Where unknown payments are kept.
#[async_trait]
pub trait UnknownPaymentStore: Send + Sync {
    /// Keeps `payment`: a new row, or for a payment kept already its newest status and
    /// object, one more sighting and the time. `true` when it was new. A payment some
    /// history holds is not kept (`false`): it was registered meanwhile.
    ///
    /// # Errors
    /// Engine failures.
    async fn keep_unknown_payment(&self, payment: &UnknownPayment) -> Result<bool, StoreError>;

    /// Unknown payments kept.
    ///
    /// # Errors
    /// Engine failures.
    async fn unknown_payment_count(&self) -> Result<i64, StoreError>;
}

//! The history port: payment histories as stored, and [`HistoryStore`].

use super::{NewMessage, StoreConflict, StoreError, TransactionWrite};
use async_trait::async_trait;
use payments_core::envelope::EnvelopeKind;
use payments_core::money::Money;
use payments_core::records::{Source, Vendor, VendorCode};
use payments_core::timestamp::Timestamp;
use payments_core::vendor::PaymentStatus;
use uuid::Uuid;

/// A payment history as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredHistory {
    /// The server's id.
    pub id: Uuid,
    /// The payment at the PG.
    pub vendor: Vendor,
    /// The PG's order id (`orderId`, `merchant_uid`).
    pub order_id: String,
    /// The caller's record.
    pub source: Source,
    /// The paid amount, in its currency.
    pub price: Money,
    /// The cancelled amount, `None` when nothing was cancelled.
    pub refund: Option<Money>,
    /// Where webhooks go.
    pub webhook_url: Option<String>,
    /// The envelope the history was created with (webhooks are sealed with it).
    pub envelope: EnvelopeKind,
    /// The password's self-describing PBKDF2 hash.
    pub password_hash: String,
    /// The PG object, sealed.
    pub data_sealed: String,
    /// The cancel list, sealed.
    pub cancels_sealed: String,
    /// The PG's status, normalized.
    pub status: PaymentStatus,
    /// When recorded.
    pub created_at: Timestamp,
    /// When paid.
    pub paid_at: Option<Timestamp>,
    /// When cancelled in full.
    pub cancelled_at: Option<Timestamp>,
    /// Bumped by every update; updates apply only to the version they read.
    pub version: i64,
}

/// Where payment histories live. Every write that changes more than one row does it in
/// one transaction.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// [`StoreConflict::OrderHeld`] when an inserted charge's order is held.
    async fn insert_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<(), StoreError>;

    /// Engine failures.
    async fn history_by_id(&self, id: Uuid) -> Result<Option<StoredHistory>, StoreError>;

    /// Engine failures.
    async fn history_by_source(&self, source: &Source)
    -> Result<Option<StoredHistory>, StoreError>;

    /// Engine failures.
    async fn history_by_vendor_uid(
        &self,
        vendor: VendorCode,
        uid: &str,
    ) -> Result<Option<StoredHistory>, StoreError>;

    /// Which uniqueness rule a new history for `source` and the PG payment `(vendor,
    /// uid)` would break, the source's first; `None` when neither. The default asks
    /// [`history_by_source`](Self::history_by_source) and
    /// [`history_by_vendor_uid`](Self::history_by_vendor_uid); an engine that can
    /// answers in one query.
    ///
    /// # Errors
    /// Engine failures.
    async fn history_conflict(
        &self,
        source: &Source,
        vendor: VendorCode,
        uid: &str,
    ) -> Result<Option<StoreConflict>, StoreError> {
        if self.history_by_source(source).await?.is_some() {
            return Ok(Some(StoreConflict::Source));
        }
        if self.history_by_vendor_uid(vendor, uid).await?.is_some() {
            return Ok(Some(StoreConflict::VendorUid));
        }
        Ok(None)
    }

    /// Engine failures.
    async fn history_by_order_id(
        &self,
        vendor: VendorCode,
        order_id: &str,
    ) -> Result<Option<StoredHistory>, StoreError>;

    /// Engine failures.
    async fn update_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError>;
}

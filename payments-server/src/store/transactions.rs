//! The transaction port: transactions as stored, the write that goes with another
//! change, and [`TransactionStore`].

use super::{NewMessage, StoreError};
use async_trait::async_trait;
use payments_core::records::charges::TransactionKind;
use payments_core::timestamp::Timestamp;
use payments_core::transaction::TransactionStatus;
use uuid::Uuid;

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTransaction {
    /// The transaction's id.
    pub id: Uuid,
    /// What kind of approval it records.
    pub kind: TransactionKind,
    /// The order it pays.
    pub order_id: String,
    /// Where it is in its life.
    pub status: TransactionStatus,
    /// The history recording the money, if any.
    pub history_id: Option<Uuid>,
    /// The [`payments_core::records::charges::TransactionRecord`], sealed.
    pub body_sealed: String,
    /// The hash of the password that reads it.
    pub password_hash: String,
    /// Whether it holds its order: at most one transaction of a kind holds an order, a
    /// second one is refused with [`StoreConflict::OrderHeld`].
    ///
    /// [`StoreConflict::OrderHeld`]: super::StoreConflict::OrderHeld
    pub holds_order: bool,
    /// When it started.
    pub created_at: Timestamp,
    /// Until when the request that wrote it is still asking the PG about it (a charge's
    /// lease): before then, another request must not resume it, or the PG would get a
    /// second charge beside the first. `None` when nobody is asking.
    pub attempt_until: Option<Timestamp>,
    /// Bumped by every update; updates apply only to the version they read.
    pub version: i64,
}

/// A transaction write that goes with another change.
#[derive(Debug, Clone, PartialEq)]
pub enum TransactionWrite {
    /// A new transaction.
    Insert(StoredTransaction),
    /// A changed transaction, applied only if its stored version is still `version`.
    Update(StoredTransaction),
}

/// Where transactions live.
#[async_trait]
pub trait TransactionStore: Send + Sync {
    /// transaction holds already; engine failures.
    async fn write_transaction(
        &self,
        transaction: &TransactionWrite,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError>;

    /// Engine failures.
    async fn transaction_by_id(&self, id: Uuid) -> Result<Option<StoredTransaction>, StoreError>;

    /// Engine failures.
    async fn transaction_by_history(
        &self,
        history_id: Uuid,
    ) -> Result<Option<StoredTransaction>, StoreError>;

    /// Engine failures.
    async fn transactions_by_order(
        &self,
        kind: TransactionKind,
        order_id: &str,
    ) -> Result<Vec<StoredTransaction>, StoreError>;
}

//! Storage behind the [`Store`] trait, so another engine can follow SQLite.
//!
//! The store keeps what the service hands it: PG objects, cancels and webhook bodies
//! arrive already sealed (see [`crate::at_rest`]) and passwords already hashed, so no
//! engine ever sees them in the clear. Every method that changes more than one row does
//! it in one transaction.

pub mod coupons;
pub mod sqlite;

use async_trait::async_trait;
use payments_core::envelope::EnvelopeKind;
use payments_core::records::{Source, Vendor};
use payments_core::timestamp::Timestamp;
use uuid::Uuid;

pub use coupons::CouponStore;
pub use sqlite::SqliteStore;

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
    /// ISO-4217 currency.
    pub currency: String,
    /// The paid amount.
    pub price: i64,
    /// The cancelled amount, `None` when nothing was cancelled.
    pub refund: Option<i64>,
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
    /// The normalized PG status (snake_case [`payments_core::vendor::PaymentStatus`]).
    pub status: String,
    /// When recorded.
    pub created_at: Timestamp,
    /// When paid.
    pub paid_at: Option<Timestamp>,
    /// When cancelled in full.
    pub cancelled_at: Option<Timestamp>,
    /// Bumped by every update; updates apply only to the version they read.
    pub version: i64,
}

/// A billing key as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReservation {
    /// The server's id.
    pub id: Uuid,
    /// The billing key at the PG.
    pub vendor: Vendor,
    /// The caller's record.
    pub source: Source,
    /// The caller's title.
    pub title: String,
    /// The password's hash.
    pub password_hash: String,
    /// The PG's billing object, sealed.
    pub data_sealed: String,
    /// When recorded.
    pub created_at: Timestamp,
}

/// What an outgoing message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A WebhookHistory for a history's `webhook_url`.
    Webhook,
    /// A transaction event for the merchant's event URL.
    Event,
}

impl MessageKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Event => "event",
        }
    }
}

/// A message to record and deliver, written in the same transaction as the change it
/// reports.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The message's id (the WebhookHistory's or the event's `id`).
    pub id: Uuid,
    /// What it is.
    pub kind: MessageKind,
    /// The history it reports on, for webhooks.
    pub history_id: Option<Uuid>,
    /// The body, sealed at rest.
    pub body_sealed: String,
    /// Where to deliver it.
    pub url: String,
    /// The envelope to deliver it in.
    pub envelope: EnvelopeKind,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTransaction {
    /// The transaction's id.
    pub id: Uuid,
    /// `charge`, `coupon` or `payment`.
    pub kind: String,
    /// The order it pays.
    pub order_id: String,
    /// Its status word.
    pub status: String,
    /// The history recording the money, if any.
    pub history_id: Option<Uuid>,
    /// The [`payments_core::records::charges::TransactionRecord`], sealed.
    pub body_sealed: String,
    /// The hash of the password that reads it.
    pub password_hash: String,
    /// Whether it holds its order: at most one transaction of a kind holds an order, a
    /// second one is refused with [`StoreConflict::OrderHeld`].
    pub holds_order: bool,
    /// When it started.
    pub created_at: Timestamp,
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

/// A delivery that is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The outbox row.
    pub outbox_id: i64,
    /// The webhook's id.
    pub webhook_id: Uuid,
    /// The WebhookHistory, sealed at rest.
    pub body_sealed: String,
    /// Where to.
    pub url: String,
    /// In which envelope.
    pub envelope: EnvelopeKind,
    /// Attempts made so far.
    pub attempts: u32,
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// When it was made.
    pub at: Timestamp,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The start of the receiver's answer.
    pub body_excerpt: Option<String>,
    /// Why it failed without an answer.
    pub error: Option<String>,
}

/// What to do with an outbox row after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver accepted it.
    Delivered,
    /// Try again at this Unix-millisecond time.
    RetryAt(i64),
    /// Out of attempts.
    GiveUp,
}

/// The state of a webhook's delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
}

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or its earlier attempt was abandoned): run the request.
    Proceed,
    /// The key finished before: replay this status and sealed body.
    Replay {
        /// The first response's status.
        status: u16,
        /// The first response's body, sealed at rest.
        body_sealed: String,
    },
    /// The key is being processed right now.
    InFlight,
    /// The key was used with a different request body.
    Mismatch,
}

/// Which uniqueness rule refused a write. Callers branch on it: a charge whose history
/// is refused because its *source* is taken may give its money back, one refused because
/// its *PG payment* is already recorded must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreConflict {
    /// The caller's source already holds a record of this kind.
    #[error("the source already holds a record")]
    Source,
    /// The PG's uid (payment or billing key) is already recorded.
    #[error("the PG's uid is already recorded")]
    VendorUid,
    /// Another charge that has not failed holds the order.
    #[error("another charge holds the order")]
    OrderHeld,
    /// The transaction written with the change moved on since it was read.
    #[error("the transaction changed since it was read")]
    TransactionMoved,
    /// A coupon with the same code hash exists.
    #[error("the coupon code is taken")]
    CouponCode,
}

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; nothing was written.
    #[error("conflict: {0}")]
    Conflict(StoreConflict),
    /// The engine failed.
    #[error("storage failure: {0}")]
    Engine(String),
    /// A stored value could not be read back.
    #[error("corrupt stored value in {0}")]
    Corrupt(&'static str),
}

/// The storage port of the server.
#[async_trait]
pub trait Store: CouponStore + Send + Sync + 'static {
    /// Records a new history, with its transaction and messages, in one transaction.
    ///
    /// # Errors
    /// [`StoreConflict::Source`] or [`StoreConflict::VendorUid`] when one is taken,
    /// [`StoreConflict::TransactionMoved`] when an updated transaction's version moved on,
    /// [`StoreConflict::OrderHeld`] when an inserted charge's order is held.
    async fn insert_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<(), StoreError>;

    /// Reads a history by id.
    ///
    /// # Errors
    /// Engine failures.
    async fn history_by_id(&self, id: Uuid) -> Result<Option<StoredHistory>, StoreError>;

    /// Reads a history by the caller's source.
    ///
    /// # Errors
    /// Engine failures.
    async fn history_by_source(&self, source: &Source)
    -> Result<Option<StoredHistory>, StoreError>;

    /// Reads a history by its PG identifier.
    ///
    /// # Errors
    /// Engine failures.
    async fn history_by_vendor_uid(
        &self,
        vendor_code: &str,
        uid: &str,
    ) -> Result<Option<StoredHistory>, StoreError>;

    /// Reads a history by its PG order id.
    ///
    /// # Errors
    /// Engine failures.
    async fn history_by_order_id(
        &self,
        vendor_code: &str,
        order_id: &str,
    ) -> Result<Option<StoredHistory>, StoreError>;

    /// Replaces a history whose stored version is still `history.version`, bumping the
    /// version, and writes `transaction` and the messages with their outbox rows in the
    /// same transaction. Returns `false` (and writes nothing) when a version moved on.
    ///
    /// # Errors
    /// Engine failures.
    async fn update_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError>;

    /// Writes a transaction and its messages in one transaction. Returns `false` (and
    /// writes nothing) for an update whose version moved on.
    ///
    /// # Errors
    /// [`StoreConflict::OrderHeld`] when an inserted transaction holds an order another
    /// transaction holds already; engine failures.
    async fn write_transaction(
        &self,
        transaction: &TransactionWrite,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError>;

    /// Reads a transaction by id.
    ///
    /// # Errors
    /// Engine failures.
    async fn transaction_by_id(&self, id: Uuid) -> Result<Option<StoredTransaction>, StoreError>;

    /// The transaction recording a history's money.
    ///
    /// # Errors
    /// Engine failures.
    async fn transaction_by_history(
        &self,
        history_id: Uuid,
    ) -> Result<Option<StoredTransaction>, StoreError>;

    /// Every transaction of a kind for an order, oldest first.
    ///
    /// # Errors
    /// Engine failures.
    async fn transactions_by_order(
        &self,
        kind: &str,
        order_id: &str,
    ) -> Result<Vec<StoredTransaction>, StoreError>;

    /// Records a new reservation.
    ///
    /// # Errors
    /// [`StoreConflict::Source`] or [`StoreConflict::VendorUid`] when one is taken.
    async fn insert_reservation(&self, reservation: &StoredReservation) -> Result<(), StoreError>;

    /// Reads a reservation by id.
    ///
    /// # Errors
    /// Engine failures.
    async fn reservation_by_id(&self, id: Uuid) -> Result<Option<StoredReservation>, StoreError>;

    /// Reads a reservation by the caller's source.
    ///
    /// # Errors
    /// Engine failures.
    async fn reservation_by_source(
        &self,
        source: &Source,
    ) -> Result<Option<StoredReservation>, StoreError>;

    /// Pending deliveries due at `now_ms`, oldest first.
    ///
    /// # Errors
    /// Engine failures.
    async fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    /// The earliest `next_attempt_at` among pending deliveries.
    ///
    /// # Errors
    /// Engine failures.
    async fn next_due(&self) -> Result<Option<i64>, StoreError>;

    /// Records an attempt and moves the outbox row on, in one transaction.
    ///
    /// # Errors
    /// Engine failures.
    async fn record_attempt(
        &self,
        outbox_id: i64,
        attempt: &Attempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError>;

    /// Puts a message's delivery back to pending with a fresh attempt budget. Returns
    /// whether the message exists.
    ///
    /// # Errors
    /// Engine failures.
    async fn redeliver(&self, webhook_id: Uuid, now_ms: i64) -> Result<bool, StoreError>;

    /// What a message is and the history it reports on, `None` for an unknown message.
    ///
    /// # Errors
    /// Engine failures.
    async fn message_info(
        &self,
        webhook_id: Uuid,
    ) -> Result<Option<(MessageKind, Option<Uuid>)>, StoreError>;

    /// Where a webhook's delivery stands.
    ///
    /// # Errors
    /// Engine failures.
    async fn delivery_state(&self, webhook_id: Uuid) -> Result<Option<DeliveryState>, StoreError>;

    /// Every attempt made to deliver a webhook, oldest first.
    ///
    /// # Errors
    /// Engine failures.
    async fn delivery_attempts(&self, webhook_id: Uuid) -> Result<Vec<Attempt>, StoreError>;

    /// How many deliveries are pending.
    ///
    /// # Errors
    /// Engine failures.
    async fn outbox_depth(&self) -> Result<i64, StoreError>;

    /// Claims an idempotency key for a route. An in-flight claim older than
    /// `stale_before_ms` is taken over (its request died with its server).
    ///
    /// # Errors
    /// Engine failures.
    async fn idempotency_begin(
        &self,
        key: &str,
        route: &str,
        request_hash: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<IdempotencyBegin, StoreError>;

    /// Stores the response of a claimed key.
    ///
    /// # Errors
    /// Engine failures.
    async fn idempotency_finish(
        &self,
        key: &str,
        route: &str,
        status: u16,
        body_sealed: &str,
    ) -> Result<(), StoreError>;

    /// Releases a claimed key without a response (the request failed in a way a retry
    /// may fix).
    ///
    /// # Errors
    /// Engine failures.
    async fn idempotency_abandon(&self, key: &str, route: &str) -> Result<(), StoreError>;
}

//! The outbox port: messages written with the change they report, their deliveries and
//! attempts, and [`OutboxStore`]. The store owns the outbox's wake-up: a write that
//! stores messages wakes whoever waits in [`OutboxStore::wait_for_messages`], so no
//! caller has to remember to.

use super::StoreError;
use async_trait::async_trait;
use payments_core::envelope::EnvelopeKind;
use payments_core::timestamp::Timestamp;
use uuid::Uuid;

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

/// A delivery claimed for an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The outbox row.
    pub outbox_id: i64,
    /// The webhook's id.
    pub webhook_id: Uuid,
    /// What it is.
    pub kind: MessageKind,
    /// The history it reports on, for webhooks (named in the delivery logs).
    pub history_id: Option<Uuid>,
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

/// A message whose delivery ran out of attempts, for an operator to re-deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenUp {
    /// The message's id (what `redeliver` takes).
    pub webhook_id: Uuid,
    /// What it is.
    pub kind: MessageKind,
    /// The history it reports on, for webhooks.
    pub history_id: Option<Uuid>,
    /// Where it was to go.
    pub url: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt, when one was recorded.
    pub last_attempt: Option<Attempt>,
}

/// Where outgoing messages and their deliveries live.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` deliveries due at `now_ms` (pending, their next attempt due,
    /// no lease in force), oldest due first, and leases them until `lease_until_ms`: no
    /// worker, of this instance or another on the same database, claims them again
    /// before then. [`record_attempt`](Self::record_attempt) ends the lease; a worker
    /// that dies before recording leaves the lease to run out, and the delivery is
    /// claimed again after `lease_until_ms`. The lease must outlast one attempt (see
    /// `[webhooks] lease_ms`), or a slow receiver could be sent a message twice.
    ///
    /// # Errors
    /// Engine failures.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// When the next pending delivery may be claimed (its next attempt, or the end of
    /// its lease, whichever is later); `None` when nothing is pending.
    ///
    /// # Errors
    /// Engine failures.
    async fn next_due(&self) -> Result<Option<i64>, StoreError>;

    /// Records an attempt at a claimed delivery, moves the row on as `outcome` says and
    /// ends its lease, in one transaction.
    ///
    /// # Errors
    /// Engine failures.
    async fn record_attempt(
        &self,
        outbox_id: i64,
        attempt: &Attempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError>;

    /// Engine failures.
    async fn redeliver(&self, webhook_id: Uuid, now_ms: i64) -> Result<bool, StoreError>;

    /// Engine failures.
    async fn message_info(
        &self,
        webhook_id: Uuid,
    ) -> Result<Option<(MessageKind, Option<Uuid>)>, StoreError>;

    /// Engine failures.
    async fn delivery_state(&self, webhook_id: Uuid) -> Result<Option<DeliveryState>, StoreError>;

    /// Engine failures.
    async fn delivery_attempts(&self, webhook_id: Uuid) -> Result<Vec<Attempt>, StoreError>;

    /// Deliveries that gave up, newest message first, from just after `before` (a
    /// message id from an earlier page; `None` starts at the newest).
    ///
    /// # Errors
    /// Engine failures.
    async fn given_up(
        &self,
        before: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<GivenUp>, StoreError>;

    /// Engine failures.
    async fn outbox_depth(&self) -> Result<i64, StoreError>;

    /// Returns once a write stored new messages (or a message was put back to pending)
    /// since the last call returned; at once if that happened already.
    async fn wait_for_messages(&self);
}

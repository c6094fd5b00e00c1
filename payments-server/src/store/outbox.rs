//! The outbox port: messages written with the change they report, their deliveries and
//! attempts, and [`OutboxStore`]. The store owns the outbox's wake-up: a write that
//! stores messages wakes whoever waits in [`OutboxStore::wait_for_messages`], so no
//! caller has to remember to.
//!
//! Two rules shape a claim. Messages of one *stream* (one history's webhooks, one
//! transaction's events) go out one at a time in the order they were written, so a
//! receiver that applies `current` ends on the newest state. And each receiver host
//! gets at most its [`ReceiverBudget`] of a worker's attempts at once, so one slow
//! receiver cannot take every slot.

use super::StoreError;
use async_trait::async_trait;
use payments_core::envelope::EnvelopeKind;
use payments_core::timestamp::Timestamp;
use std::collections::BTreeMap;
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
    /// The stream it is delivered in order within ([`webhook_stream`],
    /// [`event_stream`]): it is not attempted while an earlier message of its stream is
    /// still pending.
    pub stream: String,
    /// The body, sealed at rest.
    pub body_sealed: String,
    /// Where to deliver it.
    pub url: String,
    /// The envelope to deliver it in.
    pub envelope: EnvelopeKind,
    /// When it was made.
    pub created_at: Timestamp,
}

/// The stream of a history's webhooks: its changes reach the receiver in order.
pub fn webhook_stream(history_id: Uuid) -> String {
    format!("webhook:{history_id}")
}

/// The stream of a transaction's events: they reach the event URL in order.
pub fn event_stream(transaction_id: Uuid) -> String {
    format!("event:{transaction_id}")
}

/// The receiver a URL's deliveries count against: its host, lower case (an IPv6
/// literal in brackets, as a URL writes it). A URL that does not parse is `""`; its
/// attempts fail before any connection.
pub fn receiver_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// How many more attempts each receiver host may be handed: a worker's cap per
/// receiver less what it has in flight there. A claim skips hosts with nothing left
/// and hands out no more than what is left to the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverBudget {
    per_receiver: usize,
    in_flight: BTreeMap<String, usize>,
}

impl ReceiverBudget {
    /// A budget of `per_receiver` attempts at once for every host, none in flight.
    pub fn new(per_receiver: usize) -> Self {
        Self {
            per_receiver,
            in_flight: BTreeMap::new(),
        }
    }

    /// No cap per host (a claim limited by its `limit` only).
    pub fn unlimited() -> Self {
        Self::new(usize::MAX)
    }

    /// The cap of a host with nothing in flight.
    pub fn per_receiver(&self) -> usize {
        self.per_receiver
    }

    /// How many more attempts `receiver` may be handed.
    pub fn remaining(&self, receiver: &str) -> usize {
        self.per_receiver
            .saturating_sub(self.in_flight.get(receiver).copied().unwrap_or(0))
    }

    /// Counts an attempt at `receiver` as started.
    pub fn take(&mut self, receiver: &str) {
        *self.in_flight.entry(receiver.to_owned()).or_insert(0) += 1;
    }

    /// Counts an attempt at `receiver` as finished.
    pub fn give_back(&mut self, receiver: &str) {
        if let Some(count) = self.in_flight.get_mut(receiver) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.in_flight.remove(receiver);
            }
        }
    }

    /// Every host with attempts in flight and what it has left (possibly 0); any other
    /// host has [`per_receiver`](Self::per_receiver) left.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.in_flight
            .keys()
            .map(|host| (host.as_str(), self.remaining(host)))
    }
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
    /// The receiver host its attempt counts against (see [`ReceiverBudget`]).
    pub receiver: String,
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
    /// Claims up to `limit` deliveries due at `now_ms`, oldest due first, and leases
    /// them until `lease_until_ms`: no worker, of this instance or another on the same
    /// database, claims them again before then. A delivery is due when it is pending,
    /// its next attempt is due, no lease on it is in force, no earlier message of its
    /// stream is still pending (delivered or given up first) and no other message of its
    /// stream is leased. Of the due deliveries, a host `budget` has nothing left for is
    /// skipped, and no host is handed more than it has left.
    ///
    /// [`record_attempt`](Self::record_attempt) ends the lease; a worker that dies
    /// before recording leaves the lease to run out, and the delivery is claimed again
    /// after `lease_until_ms`. The lease must outlast one attempt (see `[webhooks]
    /// lease_ms`), or a slow receiver could be sent a message twice.
    ///
    /// # Errors
    /// Engine failures.
    async fn claim_deliveries_within(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
        budget: &ReceiverBudget,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// [`claim_deliveries_within`](Self::claim_deliveries_within) without a cap per
    /// receiver host.
    ///
    /// # Errors
    /// Engine failures.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.claim_deliveries_within(now_ms, lease_until_ms, limit, &ReceiverBudget::unlimited())
            .await
    }

    /// When the next pending delivery may be claimed (its next attempt, or the end of
    /// the leases on its stream, whichever is later; deliveries waiting behind an
    /// earlier one of their stream do not count); `None` when nothing is pending.
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

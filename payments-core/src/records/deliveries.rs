//! The failed-deliveries listing (`PATCH /payments/deliveries/failed`, added by this
//! project): what the server gave up delivering, so an operator has the id that
//! re-delivery takes.

use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which page of given-up deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedDeliveriesQuery {
    /// Start just after this message (an earlier page's `next`); absent starts at the
    /// newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Uuid>,
    /// At most this many, 1 to 100; absent is 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// What a failed delivery carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// A `WebhookHistory` for a history's `webhook_url`
    /// (re-deliver: `POST /payments/webhooks/{id}/redeliver`).
    Webhook,
    /// A transaction event for the merchant's event URL
    /// (re-deliver: `POST /payments/events/{id}/redeliver`).
    Event,
}

/// One message whose delivery ran out of attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedDelivery {
    /// The message's id: what re-delivery takes.
    pub id: Uuid,
    /// What it is.
    pub kind: DeliveryKind,
    /// The history it reports on (webhooks).
    pub history_id: Option<Uuid>,
    /// Where it was to go.
    pub url: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When the last attempt was made.
    #[serde(with = "crate::timestamp::option")]
    pub last_attempt_at: Option<Timestamp>,
    /// The receiver's HTTP status on the last attempt, when it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed: the receiver's answer excerpt, or the transport error.
    pub last_error: Option<String>,
}

/// A page of failed deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedDeliveries {
    /// The page.
    pub deliveries: Vec<FailedDelivery>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next: Option<Uuid>,
}

//! Charge, transaction, event and identity-verification records of the wire protocol
//! (`docs/protocol.md`), shared by the server and the SDK.

use crate::order::{Order, OrderError, OrderId, Product};
use crate::payment_method::PaymentMethod;
use crate::records::{PaymentHistory, Source, Vendor};
use crate::secret::Secret;
use crate::timestamp::Timestamp;
use crate::transaction::{Transaction, TransactionEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One line of an order as the caller sends it: the product as it is now (the order
/// snapshots its id, name and price) and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    /// The product as the caller's catalogue has it at order time.
    pub product: Product,
    /// How many; below 1 is refused.
    pub quantity: i64,
}

/// An order as the caller sends it; [`OrderInput::to_order`] applies the order rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The caller's order id (also the PG's `orderId` / `merchant_uid`).
    pub id: String,
    /// The lines.
    pub lines: Vec<OrderLineInput>,
}

impl OrderInput {
    /// Builds the domain order: snapshots every line and computes the total once.
    ///
    /// # Errors
    /// The order rules: no lines, a quantity below 1, a disabled product, mixed
    /// currencies, an overflowing total.
    pub fn to_order(&self) -> Result<Order, OrderError> {
        Order::new(
            OrderId::new(self.id.clone()),
            self.lines.iter().map(|line| (&line.product, line.quantity)),
        )
    }
}

/// `Charge.Create`: charge a saved card (a reservation) for an order. Sent with an
/// `Idempotency-Key`, which the server passes on to the PG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeCreate {
    /// The caller's record the resulting payment history belongs to.
    pub source: Source,
    /// What is bought.
    pub order: OrderInput,
    /// What pays: a `saved_card` (reservation by id or source, with its password).
    pub method: PaymentMethod,
    /// The password of the payment history the charge records.
    pub password: Secret<String>,
    /// Where the history's webhooks go.
    pub webhook_url: Option<String>,
}

/// What kind of approval a transaction records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// A billing-key charge made by the server.
    Charge,
    /// A coupon redemption.
    Coupon,
    /// A PG payment the caller made and the server recorded.
    Payment,
}

impl TransactionKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Charge => "charge",
            Self::Coupon => "coupon",
            Self::Payment => "payment",
        }
    }
}

/// A transaction as the wire carries it: the domain transaction plus what a kiosk
/// screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// The domain transaction (id, order id, status, total, paid, cancels, …).
    pub transaction: Transaction,
    /// What kind of approval.
    pub kind: TransactionKind,
    /// The status in words, for a screen.
    pub status_message: String,
    /// The payment history recording the money, when there is one.
    pub history_id: Option<Uuid>,
    /// The order as it was snapshotted, when the server took it.
    pub order: Option<Order>,
}

/// `Charge`: the answer to a charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// The approval attempt.
    pub transaction: TransactionRecord,
    /// The verified payment history.
    pub history: PaymentHistory,
}

/// `Transaction.Read`: read a transaction by id, with the password of its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionAccess {
    /// The password given when the transaction was made: the charge's (or the recorded
    /// payment's) password, or the one sent with a coupon redemption.
    pub password: Secret<String>,
}

/// An event delivered to the merchant's event URL: one transaction change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The event's id: the same on every delivery attempt, for de-duplication.
    pub id: Uuid,
    /// What happened.
    pub event: TransactionEvent,
    /// The transaction after the change.
    pub transaction: TransactionRecord,
    /// When the event was recorded.
    #[serde(with = "crate::timestamp")]
    pub created_at: Timestamp,
}

/// `Certification.Verify`: verify a person with a PG certification (PortOne).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationVerify {
    /// The certification at the PG (`uid` = the certification's `imp_uid`).
    pub vendor: Vendor,
}

/// A verified identity. The person's CI (their unique key) never leaves the server:
/// only a keyed hash of it, stable for one server key, so a shop can refuse a second
/// account for the same person without storing who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    /// The verified name.
    pub name: String,
    /// The birth date, `YYYY-MM-DD`.
    pub birth_date: String,
    /// The verified phone number.
    pub phone: String,
    /// HMAC-SHA256 of the CI under the server's identity key, hex.
    pub ci_hash: String,
    /// When the PG certified the person.
    #[serde(with = "crate::timestamp")]
    pub certified_at: Timestamp,
}

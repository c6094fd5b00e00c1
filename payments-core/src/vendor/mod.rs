//! The ports a PG adapter implements, and the normalized view of a PG payment.
//!
//! Each PG describes a payment its own way (Toss: `status: "DONE"`, `totalAmount`,
//! ISO times; PortOne: `status: "paid"`, `amount`, Unix seconds). The server reasons
//! about one shape, [`VendorPayment`], built by the pure mappings in [`toss`],
//! [`iamport`] (PortOne V1) and [`portone`] (PortOne V2) from the PG's raw object, which
//! is kept beside it.
//!
//! - [`PaymentGateway`]: the async port (look up, confirm, cancel, billing keys).
//! - [`VendorPayment`], [`PaymentStatus`], [`VendorBillingKey`]: the normalized views.
//! - [`GatewayError`]: what can go wrong talking to a PG, split by what the caller must
//!   do about it (a timeout on a charge is "outcome unknown", never "failed").

pub mod iamport;
pub mod portone;
pub mod toss;

use crate::money::{Currency, Money};
use crate::records::{CancelHistory, RefundAccount, VendorCode};
use crate::timestamp::Timestamp;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Where a payment stands at its PG, in one vocabulary for every PG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Created, not yet authenticated by the payer (Toss `READY`; PortOne `ready` card).
    Ready,
    /// Authenticated by the payer, waiting for the merchant's confirmation (Toss `IN_PROGRESS`).
    AwaitingConfirmation,
    /// A virtual account was issued and waits for the deposit.
    WaitingForDeposit,
    /// Paid in full, nothing cancelled.
    Paid,
    /// Paid, part of it cancelled.
    PartiallyCancelled,
    /// Cancelled in full.
    Cancelled,
    /// Failed or aborted at the PG.
    Failed,
    /// The payment window (e.g. a virtual account's due date) passed unpaid.
    Expired,
}

impl PaymentStatus {
    /// The snake_case word it is serialized as (`paid`, `waiting_for_deposit`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::AwaitingConfirmation => "awaiting_confirmation",
            Self::WaitingForDeposit => "waiting_for_deposit",
            Self::Paid => "paid",
            Self::PartiallyCancelled => "partially_cancelled",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    /// Whether money was received (and not all of it returned).
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Paid | Self::PartiallyCancelled)
    }

    /// The failure code of a transaction whose PG payment ended unpaid in this status
    /// (`FAILED`, `EXPIRED`, `CANCELLED`); `None` for a status that is not such an end.
    /// A cancelled payment that was paid first is a cancel, not a failure: callers check
    /// `paid_at` before.
    pub fn failure_code(self) -> Option<&'static str> {
        match self {
            Self::Failed => Some("FAILED"),
            Self::Expired => Some("EXPIRED"),
            Self::Cancelled => Some("CANCELLED"),
            Self::Ready
            | Self::AwaitingConfirmation
            | Self::WaitingForDeposit
            | Self::Paid
            | Self::PartiallyCancelled => None,
        }
    }
}

/// One PG payment in the shared vocabulary, with the PG's own object beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorPayment {
    /// Which PG.
    pub vendor: VendorCode,
    /// The PG's identifier (`paymentKey`, `imp_uid`).
    pub uid: String,
    /// The merchant's order id at the PG (`orderId`, `merchant_uid`).
    pub order_id: String,
    /// Where it stands.
    pub status: PaymentStatus,
    /// The amount paid (or to be paid), before cancels, in the payment's currency.
    pub amount: Money,
    /// The sum of all cancels, in the same currency; never more than `amount` (the
    /// mappings refuse a PG object that says otherwise).
    pub cancelled_amount: Money,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// When it was cancelled in full.
    pub cancelled_at: Option<Timestamp>,
    /// Every cancel, oldest first.
    pub cancels: Vec<CancelHistory>,
    /// The per-payment secret a Toss virtual account's DEPOSIT_CALLBACK must carry.
    pub deposit_secret: Option<String>,
    /// The PG's reason for a failure, when it gives one.
    pub failure: Option<String>,
    /// The PG's object, verbatim.
    pub raw: serde_json::Value,
}

impl VendorPayment {
    /// What is left to cancel: `amount - cancelled_amount`, zero when a hand-built view
    /// breaks the mappings' invariant (cancels above the amount, or in another currency).
    pub fn balance(&self) -> Money {
        self.amount
            .checked_sub(self.cancelled_amount)
            .unwrap_or_else(|_| Money::zero(self.amount.currency()))
    }
}

/// A billing key (saved card) at a PG.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorBillingKey {
    /// Which PG.
    pub vendor: VendorCode,
    /// The PG's identifier (`billingKey`, `customer_uid`).
    pub uid: String,
    /// Toss's `customerKey` the billing key is bound to (PortOne has none).
    pub customer_key: Option<String>,
    /// The masked card number, when the PG gives one.
    pub card_number: Option<String>,
    /// Whether the PG says the key was deleted (PortOne V2 `status: "DELETED"`; the other
    /// PGs answer a deleted key as not found). A deleted key pays nothing.
    pub deleted: bool,
    /// The PG's object, verbatim.
    pub raw: serde_json::Value,
}

/// A request to cancel all or part of a payment.
#[derive(Debug, Clone)]
pub struct CancelPayment<'a> {
    /// The PG's payment identifier.
    pub uid: &'a str,
    /// How much to cancel; `None` cancels the whole balance.
    pub amount: Option<Money>,
    /// What the caller believes is left to cancel (the balance it holds). A PG with a
    /// consistency check (PortOne V2's `currentCancellableAmount`) refuses the cancel when
    /// its own balance differs, so a cancel made elsewhere meanwhile is never doubled;
    /// `None` uses the balance the adapter reads from the PG just before.
    pub balance: Option<Money>,
    /// Why.
    pub reason: &'a str,
    /// The refund account, required by the PGs for deposited virtual accounts.
    pub refund_account: Option<&'a RefundAccount>,
    /// Passed on to the PG where it supports one, so a retried cancel cancels once.
    pub idempotency_key: Option<&'a str>,
}

/// A request to charge a billing key.
#[derive(Debug, Clone)]
pub struct BillingCharge<'a> {
    /// The PG's billing key identifier (`billingKey`, `customer_uid`).
    pub billing_key: &'a str,
    /// Toss's `customerKey` (ignored by PortOne).
    pub customer_key: &'a str,
    /// The merchant's order id for this charge (`orderId`, `merchant_uid`).
    pub order_id: &'a str,
    /// What the payer sees.
    pub order_name: &'a str,
    /// How much, in which currency.
    pub amount: Money,
    /// Passed on to the PG so a retried charge charges once.
    pub idempotency_key: &'a str,
}

/// What went wrong talking to a PG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The PG declined a charge (card refused, limit, …) with its code and message.
    #[error("declined by the PG: {code}: {message}")]
    Declined {
        /// The PG's code.
        code: String,
        /// The PG's message.
        message: String,
    },
    /// The PG has no such payment or billing key.
    #[error("not found at the PG: {0}")]
    NotFound(String),
    /// The PG refused the request (bad input, wrong state, over-cancel …).
    #[error("refused by the PG ({status}): {code}: {message}")]
    Rejected {
        /// The PG's HTTP status.
        status: u16,
        /// The PG's code.
        code: String,
        /// The PG's message.
        message: String,
    },
    /// The PG refused our credentials.
    #[error("the PG refused our credentials: {0}")]
    Unauthorized(String),
    /// The request may or may not have taken effect (timeout after sending, 5xx on a
    /// write): ask the PG before doing anything again.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The PG could not be reached or failed before acting (nothing happened).
    #[error("the PG is unavailable: {0}")]
    Unavailable(String),
    /// The PG answered with something we cannot read.
    #[error("unreadable answer from the PG: {0}")]
    Malformed(String),
}

impl From<MappingError> for GatewayError {
    fn from(error: MappingError) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// A PG object that does not have the shape its PG documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct MappingError {
    /// The field at fault.
    pub field: &'static str,
    /// What was wrong with it.
    pub problem: String,
}

impl MappingError {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// The port every PG adapter implements. One instance serves one store (merchant
/// account) at one PG.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Which PG this adapter talks to.
    fn vendor(&self) -> VendorCode;

    /// Looks a payment up by the PG's identifier.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown payment; transport and PG failures.
    async fn lookup_payment(&self, uid: &str) -> Result<VendorPayment, GatewayError>;

    /// Looks a payment up by the merchant's order id (Toss `orders/{orderId}`, PortOne
    /// `payments/find/{merchant_uid}`).
    ///
    /// # Errors
    /// As [`PaymentGateway::lookup_payment`].
    async fn lookup_payment_by_order(&self, order_id: &str) -> Result<VendorPayment, GatewayError>;

    /// Confirms (approves) a payment that awaits the merchant's confirmation, for exactly
    /// `order_id` and `amount`. PGs without a confirmation step look the payment up.
    ///
    /// # Errors
    /// [`GatewayError::Rejected`] when the PG refuses (wrong amount, already confirmed);
    /// [`GatewayError::OutcomeUnknown`] when it may have been confirmed anyway.
    async fn confirm_payment(
        &self,
        uid: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<VendorPayment, GatewayError>;

    /// Cancels all or part of a payment and returns the payment as the PG has it after.
    ///
    /// # Errors
    /// [`GatewayError::Rejected`] for an over-cancel or a missing refund account;
    /// [`GatewayError::OutcomeUnknown`] when it may have been cancelled anyway.
    async fn cancel_payment(
        &self,
        cancel: CancelPayment<'_>,
    ) -> Result<VendorPayment, GatewayError>;

    /// Looks a billing key up. Toss binds billing keys to a `customer_key`; PortOne
    /// ignores it.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown key; transport and PG failures.
    async fn lookup_billing_key(
        &self,
        uid: &str,
        customer_key: &str,
    ) -> Result<VendorBillingKey, GatewayError>;

    /// Charges a billing key once: the idempotency key is passed on to the PG.
    ///
    /// # Errors
    /// [`GatewayError::Declined`] when the card is refused;
    /// [`GatewayError::OutcomeUnknown`] when it may have been charged anyway.
    async fn charge_billing_key(
        &self,
        charge: BillingCharge<'_>,
    ) -> Result<VendorPayment, GatewayError>;

    /// Looks up an identity certification (PortOne `certifications/{imp_uid}`) and
    /// returns the PG's object. PGs without certifications refuse.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown certification; `Rejected` where the PG
    /// has no certifications.
    async fn lookup_certification(&self, uid: &str) -> Result<serde_json::Value, GatewayError> {
        let _ = uid;
        Err(GatewayError::Rejected {
            status: 400,
            code: "UNSUPPORTED".into(),
            message: format!("{} has no identity certifications", self.vendor()),
        })
    }
}

/// Reads a JSON number as a whole amount (PG amounts may arrive as `1000` or `1000.0`).
pub(crate) fn amount(
    value: Option<&serde_json::Value>,
    field: &'static str,
) -> Result<i64, MappingError> {
    let value = value.ok_or_else(|| MappingError::new(field, "missing"))?;
    if let Some(whole) = value.as_i64() {
        return Ok(whole);
    }
    match value.as_f64() {
        Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => Ok(float as i64),
        Some(_) => Err(MappingError::new(
            field,
            format!("{value} is not a whole amount"),
        )),
        None => Err(MappingError::new(field, format!("{value} is not a number"))),
    }
}

/// Reads a PG amount as [`Money`]. PGs write amounts in whole major units of the
/// payment's currency (`10000` won), so the amount is scaled to minor units the way
/// [`Money::from_major`] does.
///
/// # Errors
/// A missing or fractional number, or one [`Money`] cannot carry (negative, too large).
pub(crate) fn money(
    value: Option<&serde_json::Value>,
    currency: Currency,
    field: &'static str,
) -> Result<Money, MappingError> {
    let whole = amount(value, field)?;
    Money::from_major(whole, currency)
        .map_err(|e| MappingError::new(field, format!("{whole} is not an amount: {e}")))
}

/// Reads the payment's ISO-4217 currency field.
///
/// # Errors
/// A missing field, or a currency [`Currency`] does not know.
pub(crate) fn currency(
    object: &serde_json::Value,
    field: &'static str,
) -> Result<Currency, MappingError> {
    string(object, field)?
        .parse()
        .map_err(|e: crate::money::UnknownCurrency| MappingError::new(field, e.to_string()))
}

/// The sum of cancel amounts in `currency`, refused when it is more than `total`.
///
/// # Errors
/// An overflowing sum, or cancels above the payment's amount.
pub(crate) fn cancelled(
    total: Money,
    cancels: impl IntoIterator<Item = Money>,
    field: &'static str,
) -> Result<Money, MappingError> {
    let sum = Money::sum(total.currency(), cancels)
        .map_err(|e| MappingError::new(field, e.to_string()))?;
    if total.checked_sub(sum).is_err() {
        return Err(MappingError::new(
            field,
            format!("cancels of {sum} exceed the payment's {total}"),
        ));
    }
    Ok(sum)
}

/// A [`Money`] as the whole major-unit number a PG request carries (the reverse of how
/// the mappings read PG amounts).
///
/// # Errors
/// [`GatewayError::Rejected`] (nothing sent) for an amount with a fractional major
/// unit (`$12.34`), which no adapter sends.
pub fn pg_amount(money: Money, field: &'static str) -> Result<i64, GatewayError> {
    let scale = 10i64.pow(money.currency().minor_units());
    if money.amount() % scale != 0 {
        return Err(GatewayError::Rejected {
            status: 400,
            code: "INVALID_AMOUNT".into(),
            message: format!(
                "{field}: {money} is not a whole number of {}",
                money.currency()
            ),
        });
    }
    Ok(money.amount() / scale)
}

/// Reads a required string field.
pub(crate) fn string(
    object: &serde_json::Value,
    field: &'static str,
) -> Result<String, MappingError> {
    match object.get(field) {
        Some(serde_json::Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(MappingError::new(field, format!("{other} is not a string"))),
        None => Err(MappingError::new(field, "missing")),
    }
}

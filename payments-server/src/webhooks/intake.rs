//! PG webhooks in. A PG webhook is never trusted: its body only names a payment, which
//! the server fetches from the PG before changing anything. Unknown payments are
//! acknowledged (so the PG stops retrying) and logged; a PG that cannot be reached is
//! answered `502` so the PG retries later. PortOne V2's webhooks are signed: one whose
//! signature no configured store's secret verifies is refused before it is read.

use crate::app::App;
use crate::errors::UnknownStore;
use crate::histories::{self, HistoryError};
use crate::reservations::{self, ReservationError};
use crate::store::StoreError;
use payments_core::records::VendorCode;
use payments_core::vendor::GatewayError;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// What a webhook did, as answered to the PG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The history changed and its webhook was queued.
    Updated,
    /// The PG's payment matches the history already.
    Unchanged,
    /// No history names this payment.
    Unknown,
    /// An event type this server does not act on.
    Ignored,
}

/// The answer body.
#[derive(Debug, Clone, Serialize)]
pub struct Ack {
    /// What happened.
    pub outcome: Outcome,
}

/// Why a PG webhook was not applied.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The body names no payment; says which field.
    #[error("{0}")]
    Invalid(String),
    /// A deposit callback whose secret is not the payment's.
    #[error("secret: does not match the payment's")]
    WrongSecret,
    /// A PortOne V2 webhook whose signature does not verify (or is missing).
    #[error(transparent)]
    BadSignature(#[from] super::portone::BadSignature),
    /// The history's store is not configured (any more).
    #[error(transparent)]
    UnknownStore(#[from] UnknownStore),
    /// The PG could not be asked.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// Applying the PG's view to the history failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Marking a reservation's billing key deleted failed.
    #[error(transparent)]
    Reservation(#[from] ReservationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn ack(outcome: Outcome) -> Ack {
    Ack { outcome }
}

fn field<'a>(
    body: &'a serde_json::Value,
    path: &[&str],
    name: &str,
) -> Result<&'a str, IntakeError> {
    let mut value = body;
    for key in path {
        value = value.get(key).unwrap_or(&serde_json::Value::Null);
    }
    value
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| IntakeError::Invalid(format!("{name}: missing or not a string")))
}

/// Handles a Toss webhook: `PAYMENT_STATUS_CHANGED` (`{eventType, data: {paymentKey}}`)
/// or `DEPOSIT_CALLBACK` (`{secret, orderId, status}`), whose `secret` must match the
/// payment's.
///
/// # Errors
/// [`IntakeError::Invalid`] for a body that names no payment,
/// [`IntakeError::WrongSecret`] for a deposit callback whose secret does not match,
/// [`IntakeError::Gateway`] when the PG cannot be asked.
pub async fn toss(app: &App, body: &serde_json::Value) -> Result<Ack, IntakeError> {
    let code = VendorCode::TossPayments;
    match body.get("eventType").and_then(|e| e.as_str()) {
        Some("PAYMENT_STATUS_CHANGED") => {
            let uid = field(body, &["data", "paymentKey"], "data.paymentKey")?;
            refresh_named(app, code, uid).await
        }
        Some("DEPOSIT_CALLBACK") | None if body.get("secret").is_some() => {
            let order_id = field(body, &["orderId"], "orderId")?;
            let secret = field(body, &["secret"], "secret")?;
            let Some(stored) = app.store.history_by_order_id(code, order_id).await? else {
                tracing::warn!(order_id, "Toss deposit callback for an unknown order");
                return Ok(ack(Outcome::Unknown));
            };
            let gateway = app.gateway(code, &stored.vendor.store_id)?;
            let payment = gateway.lookup_payment(&stored.vendor.uid).await?;
            let expected = payment.deposit_secret.as_deref().unwrap_or("");
            if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) {
                tracing::warn!(order_id, "Toss deposit callback with a wrong secret");
                return Err(IntakeError::WrongSecret);
            }
            let (_, changed) = histories::apply(app, stored, &payment).await?;
            Ok(applied(changed))
        }
        Some(other) => {
            tracing::info!(event = other, "Toss webhook event ignored");
            Ok(ack(Outcome::Ignored))
        }
        None => Err(IntakeError::Invalid(
            "eventType: missing, and the body is not a deposit callback".into(),
        )),
    }
}

/// A PortOne webhook body (JSON or form-encoded).
#[derive(Debug, Clone, Deserialize)]
pub struct IamportNotice {
    /// The payment.
    pub imp_uid: String,
    /// The merchant's order id.
    pub merchant_uid: Option<String>,
    /// PortOne's status word (not trusted).
    pub status: Option<String>,
}

/// Handles a PortOne webhook.
///
/// # Errors
/// [`IntakeError::Invalid`] for an empty `imp_uid`, [`IntakeError::Gateway`] when the
/// PG cannot be asked.
pub async fn iamport(app: &App, notice: &IamportNotice) -> Result<Ack, IntakeError> {
    if notice.imp_uid.is_empty() {
        return Err(IntakeError::Invalid("imp_uid: must not be empty".into()));
    }
    refresh_named(app, VendorCode::Iamport, &notice.imp_uid).await
}

/// Handles a PortOne V2 webhook: the signature first (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`, by any configured store's secret), then the body, version
/// `2024-04-25` (`{type, timestamp, data: {storeId, paymentId | billingKey, …}}`) or
/// `2024-01-01` (`{payment_id, tx_id, status}`, JSON or form fields as a JSON object).
/// `Transaction.*` (and every `2024-01-01` body) re-fetches the named payment and applies
/// it; `BillingKey.Deleted` marks the key's reservation deleted once the PG confirms it;
/// any other type is acknowledged as [`Outcome::Ignored`].
///
/// # Errors
/// [`IntakeError::BadSignature`] before anything is read; [`IntakeError::Invalid`] for a
/// signed body that names nothing; [`IntakeError::Gateway`] when the PG cannot be asked.
pub async fn portone(
    app: &App,
    headers: &http::HeaderMap,
    raw: &[u8],
    body: impl FnOnce(&[u8]) -> Result<serde_json::Value, IntakeError>,
) -> Result<Ack, IntakeError> {
    super::portone::signing_stores(&app.config.vendors.portone, headers, raw)?;
    let body = body(raw)?;
    let code = VendorCode::PortOne;
    if body.get("type").is_none() && body.get("payment_id").is_some() {
        let payment_id = field(&body, &["payment_id"], "payment_id")?;
        return refresh_named(app, code, payment_id).await;
    }
    let kind = field(&body, &["type"], "type")?;
    // The payment or key is looked up with the credentials of the store it is recorded
    // under, whichever store signed: the PG's answer, not the body, is what counts.
    if kind.starts_with("Transaction.") {
        let payment_id = field(&body, &["data", "paymentId"], "data.paymentId")?;
        return refresh_named(app, code, payment_id).await;
    }
    if kind == "BillingKey.Deleted" {
        let billing_key = field(&body, &["data", "billingKey"], "data.billingKey")?;
        let known = reservations::follow_deletion(app, code, billing_key).await?;
        return Ok(ack(match known {
            Some(true) => Outcome::Updated,
            Some(false) => Outcome::Unchanged,
            None => Outcome::Unknown,
        }));
    }
    tracing::info!(event = kind, "PortOne V2 webhook type ignored");
    Ok(ack(Outcome::Ignored))
}

/// The common case of a PG webhook: it names a payment by the PG's uid. An unknown
/// payment is acknowledged (so the PG stops retrying) and logged; a known one is fetched
/// from the PG and applied.
async fn refresh_named(app: &App, code: VendorCode, uid: &str) -> Result<Ack, IntakeError> {
    let Some(stored) = app.store.history_by_vendor_uid(code, uid).await? else {
        app.unknown_payments.seen(app.store.clone(), code, uid);
        return Ok(ack(Outcome::Unknown));
    };
    let (_, changed) = histories::refresh(app, stored).await?;
    Ok(applied(changed))
}

fn applied(changed: bool) -> Ack {
    ack(if changed {
        Outcome::Updated
    } else {
        Outcome::Unchanged
    })
}

//! PG webhooks in. A PG webhook is never trusted: its body only names a payment, which
//! the server fetches from the PG before changing anything. Unknown payments are
//! acknowledged (so the PG stops retrying) and logged; a PG that cannot be reached is
//! answered `502` so the PG retries later.

use crate::app::App;
use crate::errors::UnknownStore;
use crate::histories::{self, HistoryError};
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
    /// The history's store is not configured (any more).
    #[error(transparent)]
    UnknownStore(#[from] UnknownStore),
    /// The PG could not be asked.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// Applying the PG's view to the history failed.
    #[error(transparent)]
    History(#[from] HistoryError),
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

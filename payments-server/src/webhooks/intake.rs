//! PG webhooks in. A PG webhook is never trusted: its body only names a payment, which
//! the server fetches from the PG before changing anything. PortOne V2's webhooks are
//! signed: one whose signature no configured store's secret verifies is refused before
//! it is read. Toss's and PortOne V1's are not signed, so anyone may send them, and the
//! intake is built so that sending them gains nothing:
//!
//! - every webhook that names a payment gets one answer, `200 {"outcome":"received"}`,
//!   whether the payment is on record, changed, unchanged, or (a deposit callback) came
//!   with a wrong secret: the answer is no oracle of what the server holds;
//! - a deposit callback's secret is checked against the payment as recorded, before
//!   any PG call;
//! - refreshes are coalesced per payment ([`super::coalesce`]): N webhooks for one
//!   payment cost one or two PG fetches, not N;
//! - each source address has a token bucket (`[limits] intake_burst`,
//!   `intake_refill_ms`), checked in `http/webhooks.rs` before the body is read.
//!
//! A PG that cannot be reached during the fetch is answered `502`, so the PG retries
//! later: an attacker cannot cause that, so it tells them nothing.

use crate::app::App;
use crate::errors::UnknownStore;
use crate::histories::{self, HistoryError};
use crate::reservations::{self, ReservationError};
use crate::store::{StoreError, StoredHistory};
use crate::webhooks::coalesce::Turn;
use payments_core::records::VendorCode;
use payments_core::vendor::GatewayError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What the server answers to every PG webhook it took in: the same whatever it found,
/// so the answer tells nobody whether a payment is on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Taken in: what it named was looked up, and applied if it changed anything.
    Received,
}

/// The answer body.
#[derive(Debug, Clone, Serialize)]
pub struct Ack {
    /// Always [`Outcome::Received`].
    pub outcome: Outcome,
}

/// Why a PG webhook was not applied.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The body names no payment; says which field.
    #[error("{0}")]
    Invalid(String),
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

/// The one answer.
const RECEIVED: Ack = Ack {
    outcome: Outcome::Received,
};

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
/// one recorded with the payment (checked before the PG is asked; a wrong one is logged
/// and answered like any other webhook).
///
/// # Errors
/// [`IntakeError::Invalid`] for a body that names no payment,
/// [`IntakeError::Gateway`] when the PG cannot be asked.
pub async fn toss(app: &Arc<App>, body: &serde_json::Value) -> Result<Ack, IntakeError> {
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
                return Ok(RECEIVED);
            };
            // The secret Toss issued with the virtual account is in the payment object
            // recorded at creation: checked here, so a forged callback costs no PG call.
            let recorded = histories::to_record(app, &stored).map_err(HistoryError::from)?;
            let expected = recorded
                .data
                .get("secret")
                .and_then(|s| s.as_str())
                .unwrap_or("");
            if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) {
                tracing::warn!(
                    order_id,
                    "Toss deposit callback with a wrong secret: ignored"
                );
                return Ok(RECEIVED);
            }
            refresh(app, stored).await
        }
        Some(other) => {
            tracing::info!(event = other, "Toss webhook event ignored");
            Ok(RECEIVED)
        }
        None => Err(IntakeError::Invalid(
            "eventType: missing, and the body is not a deposit callback".into(),
        )),
    }
}

/// A PortOne webhook body (JSON or form-encoded).
#[derive(Debug, Clone, Deserialize)]
pub struct IamportNotice {
    /// The payment; the rest of the body (order id, status word) is not trusted, so
    /// not read: the PG is asked.
    pub imp_uid: String,
}

/// Handles a PortOne webhook.
///
/// # Errors
/// [`IntakeError::Invalid`] for an empty `imp_uid`, [`IntakeError::Gateway`] when the
/// PG cannot be asked.
pub async fn iamport(app: &Arc<App>, notice: &IamportNotice) -> Result<Ack, IntakeError> {
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
/// any other type is acknowledged.
///
/// # Errors
/// [`IntakeError::BadSignature`] before anything is read; [`IntakeError::Invalid`] for a
/// signed body that names nothing; [`IntakeError::Gateway`] when the PG cannot be asked.
pub async fn portone(
    app: &Arc<App>,
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
        reservations::follow_deletion(app, code, billing_key).await?;
        return Ok(RECEIVED);
    }
    tracing::info!(event = kind, "PortOne V2 webhook type ignored");
    Ok(RECEIVED)
}

/// The common case of a PG webhook: it names a payment by the PG's uid. An unknown
/// payment is acknowledged (so the PG stops retrying) and watched: still unknown after
/// the grace window and confirmed by the PG, it is kept for an operator
/// ([`super::unknown`]); a known one is fetched
/// from the PG, coalesced with the other webhooks naming it, and applied.
async fn refresh_named(app: &Arc<App>, code: VendorCode, uid: &str) -> Result<Ack, IntakeError> {
    let Some(stored) = app.store.history_by_vendor_uid(code, uid).await? else {
        app.unknown_payments.seen(app, code, uid);
        return Ok(RECEIVED);
    };
    refresh(app, stored).await
}

/// Fetches a recorded payment from its PG and applies it, unless a fetch of it runs or
/// ran within the coalescing window: then the lead's follow-up fetches it once more
/// after the window, and this webhook is answered at once.
async fn refresh(app: &Arc<App>, stored: StoredHistory) -> Result<Ack, IntakeError> {
    settle(refresh_coalesced(app, stored).await)
}

/// The one way a PG's view of a recorded payment is applied, for webhooks and the
/// reconciliation worker alike ([`crate::reconcile`]): fetched from the PG, coalesced
/// with the other fetches of the payment ([`super::coalesce`]), and applied by
/// [`histories::apply`] (the history, its transaction and their outbox messages in one
/// database transaction). Returns the history as stored after the fetch, or `None`
/// when a fetch of it ran within the coalescing window (the lead's follow-up fetches it
/// once more).
///
/// # Errors
/// As [`histories::refresh`]: the PG or the store failed.
pub(crate) async fn refresh_coalesced(
    app: &Arc<App>,
    stored: StoredHistory,
) -> Result<Option<StoredHistory>, HistoryError> {
    let key = (stored.vendor.code, stored.vendor.uid.clone());
    match app.refreshes.enter(&key) {
        Turn::Joined => return Ok(None),
        Turn::Uncoalesced => return histories::refresh(app, stored).await.map(|(s, _)| Some(s)),
        Turn::Lead => {}
    }
    let id = stored.id;
    let fetched = histories::refresh(app, stored).await;
    let follower = app.clone();
    tokio::spawn(async move { follow_up(follower, key, id).await });
    fetched.map(|(s, _)| Some(s))
}

/// The answer once a fetch is done. Only a failure a later retry by the PG may fix is
/// answered as one (the PG or the store could not be asked); anything else about a
/// recorded payment (the PG no longer knows it, a change the rules refuse) is logged and
/// answered like every other webhook, so the answer never tells a payment on record
/// from one that is not.
fn settle<T>(fetched: Result<T, HistoryError>) -> Result<Ack, IntakeError> {
    match fetched {
        Ok(_) => Ok(RECEIVED),
        Err(HistoryError::Gateway(
            error @ (GatewayError::Unavailable(_)
            | GatewayError::OutcomeUnknown(_)
            | GatewayError::Malformed(_)
            | GatewayError::Unauthorized(_)),
        )) => Err(error.into()),
        Err(error @ (HistoryError::Store(_) | HistoryError::Internal(_))) => Err(error.into()),
        Err(error) => {
            tracing::warn!(%error, "PG webhook for a recorded payment not applied");
            Ok(RECEIVED)
        }
    }
}

/// The lead's tail: a window after each fetch, fetches once more if a webhook named the
/// payment meanwhile. Failures are logged: the webhooks it stands for were answered.
async fn follow_up(app: Arc<App>, key: super::coalesce::PaymentKey, history_id: uuid::Uuid) {
    loop {
        tokio::time::sleep(app.refreshes.window()).await;
        if !app.refreshes.follow_up(&key) {
            return;
        }
        let refreshed = match app.store.history_by_id(history_id).await {
            Ok(Some(stored)) => histories::refresh(&app, stored)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = refreshed {
            tracing::warn!(vendor = %key.0, history = %history_id, %error, "PG webhook follow-up fetch failed");
        }
    }
}

//! Transactions: every approval attempt (a charge, a coupon redemption, a recorded PG
//! payment) as the core [`Transaction`], sealed at rest. Each change yields domain
//! events, written to the outbox in the same database transaction as the change and
//! delivered at least once to the merchant's event URL (`[events] url`).

use crate::app::App;
use crate::error::ApiError;
use crate::store::{MessageKind, NewMessage, StoredTransaction};
use payments_core::money::{Currency, Money};
use payments_core::order::{Order, OrderId};
use payments_core::records::charges::{EventRecord, TransactionKind, TransactionRecord};
use payments_core::timestamp::Timestamp;
use payments_core::transaction::{FailureReason, Transaction, TransactionEvent, TransactionStatus};
use payments_core::vendor::{PaymentStatus, VendorPayment};
use uuid::Uuid;

fn context(id: Uuid) -> String {
    format!("transaction:{id}")
}

/// Money of a PG amount (in the currency's natural unit).
///
/// # Errors
/// `422 UNSUPPORTED_CURRENCY` for a currency we cannot carry or one with minor units
/// (the PGs here charge whole units), `422` for a negative amount.
pub fn money(amount: i64, currency: &str) -> Result<Money, ApiError> {
    let currency: Currency = currency.parse().map_err(|_| {
        ApiError::unprocessable(
            "UNSUPPORTED_CURRENCY",
            format!("currency {currency:?} is not supported"),
        )
    })?;
    Money::from_major(amount, currency)
        .map_err(|e| ApiError::unprocessable("INVALID_AMOUNT", e.to_string()))
}

/// The wire record of a transaction.
pub fn record(
    transaction: Transaction,
    kind: TransactionKind,
    history_id: Option<Uuid>,
    order: Option<Order>,
) -> TransactionRecord {
    TransactionRecord {
        status_message: transaction.status_message(),
        transaction,
        kind,
        history_id,
        order,
    }
}

/// Opens a stored transaction.
///
/// # Errors
/// `500` when the sealed body does not open.
pub fn open(app: &App, stored: &StoredTransaction) -> Result<TransactionRecord, ApiError> {
    app.data_keys
        .open_json(&context(stored.id), &stored.body_sealed)
        .map_err(ApiError::internal)
}

/// Seals a record for storage at `version` (the version an update expects to find),
/// readable with the password whose hash is `password_hash`.
pub fn stored(
    app: &App,
    record: &TransactionRecord,
    password_hash: &str,
    created_at: Timestamp,
    version: i64,
) -> StoredTransaction {
    let id = record.transaction.id();
    StoredTransaction {
        id,
        kind: record.kind.as_str().to_owned(),
        order_id: record.transaction.order_id().as_str().to_owned(),
        status: record.transaction.status().to_string(),
        history_id: record.history_id,
        body_sealed: app.data_keys.seal_json(&context(id), record),
        password_hash: password_hash.to_owned(),
        // One live charge per order: a second concurrent charge is refused by the store
        // before it reaches the PG; a failed charge lets the order be charged again.
        holds_order: record.kind == TransactionKind::Charge
            && record.transaction.status() != TransactionStatus::Failed,
        created_at,
        version,
    }
}

/// The outbox messages for `events`, or none when no event URL is configured.
pub fn event_messages(
    app: &App,
    events: Vec<TransactionEvent>,
    record: &TransactionRecord,
) -> Vec<NewMessage> {
    let Some(url) = &app.config.events.url else {
        return Vec::new();
    };
    events
        .into_iter()
        .map(|event| {
            let id = app.ids.uuid();
            let created_at = app.clock.now();
            let body = EventRecord {
                id,
                event,
                transaction: record.clone(),
                created_at,
            };
            NewMessage {
                id,
                kind: MessageKind::Event,
                history_id: None,
                body_sealed: app
                    .data_keys
                    .seal_json(&crate::webhooks::body_context(id), &body),
                url: url.clone(),
                envelope: app.config.events.envelope,
                created_at,
            }
        })
        .collect()
}

/// Moves a transaction along with what the PG says of its payment; returns the events.
/// Steps the transaction does not allow (e.g. a second approval) are skipped: the PG's
/// view is the truth and the transaction only follows it.
pub fn follow_payment(
    transaction: &mut Transaction,
    payment: &VendorPayment,
    at: Timestamp,
) -> Vec<TransactionEvent> {
    let mut events = Vec::new();
    if transaction.status() == TransactionStatus::Pending {
        if payment.status.is_paid()
            || payment.status == PaymentStatus::Cancelled && payment.paid_at.is_some()
        {
            if let Ok(event) =
                transaction.approve(transaction.total(), payment.paid_at.unwrap_or(at))
            {
                events.push(event);
            }
        } else if matches!(
            payment.status,
            PaymentStatus::Failed | PaymentStatus::Expired
        ) || payment.status == PaymentStatus::Cancelled
        {
            let reason = FailureReason {
                code: format!("{:?}", payment.status).to_uppercase(),
                message: payment
                    .failure
                    .clone()
                    .unwrap_or_else(|| "the PG payment did not complete".into()),
            };
            if let Ok(event) = transaction.fail(reason, at) {
                events.push(event);
            }
        }
    }
    let already = transaction.cancelled().amount();
    let delta = payment.cancelled_amount - already;
    if delta > 0 && transaction.paid().amount() > 0 {
        let reason = payment
            .cancels
            .last()
            .map(|c| c.reason.clone())
            .unwrap_or_default();
        let when = payment.cancels.last().map(|c| c.created_at).unwrap_or(at);
        if let Ok(event) = transaction.cancel_minor(delta, reason, when) {
            events.push(event);
        }
    }
    events
}

/// A new transaction for an order.
///
/// # Errors
/// `422` for a zero total.
pub fn pending(app: &App, order_id: &str, total: Money) -> Result<Transaction, ApiError> {
    Transaction::pending(
        app.ids.uuid(),
        OrderId::new(order_id),
        total,
        app.clock.now(),
    )
    .map_err(|e| ApiError::unprocessable("INVALID_TRANSACTION", e.to_string()))
}

/// Reads a transaction by id, with the password of the charge (or recorded payment)
/// that made it.
///
/// # Errors
/// `404` for an unknown id, `403` for a wrong password.
pub async fn get(app: &App, id: Uuid, password: &str) -> Result<TransactionRecord, ApiError> {
    let stored = app
        .store
        .transaction_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no transaction {id}")))?;
    app.check_password(&stored.password_hash, password).await?;
    open(app, &stored)
}

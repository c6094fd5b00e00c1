//! Transactions: every approval attempt (a charge, a coupon redemption, a recorded PG
//! payment) as the core [`Transaction`], sealed at rest. Each change yields domain
//! events, written to the outbox in the same database transaction as the change and
//! delivered at least once to the merchant's event URL (`[events] url`).

use crate::app::App;
use crate::errors::{AccessError, Internal};
use crate::store::{MessageKind, NewMessage, PasswordRecord, RecordKind, StoredTransaction};
use payments_core::money::Money;
use payments_core::order::{Order, OrderId};
use payments_core::records::charges::{EventRecord, TransactionKind, TransactionRecord};
use payments_core::timestamp::Timestamp;
use payments_core::transaction::{
    FailureReason, Transaction, TransactionError, TransactionEvent, TransactionStatus,
};
use payments_core::vendor::{PaymentStatus, VendorPayment};
use uuid::Uuid;

fn context(id: Uuid) -> String {
    format!("transaction:{id}")
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
/// [`Internal`] when the sealed body does not open.
pub fn open(app: &App, stored: &StoredTransaction) -> Result<TransactionRecord, Internal> {
    app.data_keys
        .open_json(&context(stored.id), &stored.body_sealed)
        .map_err(Internal::new)
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
        kind: record.kind,
        order_id: record.transaction.order_id().as_str().to_owned(),
        status: record.transaction.status(),
        history_id: record.history_id,
        body_sealed: app.data_keys.seal_json(&context(id), record),
        password_hash: password_hash.to_owned(),
        // One live charge per order: a second concurrent charge is refused by the store
        // before it reaches the PG; a failed charge lets the order be charged again.
        holds_order: record.kind == TransactionKind::Charge
            && record.transaction.status() != TransactionStatus::Failed,
        created_at,
        // Leases are taken by the charge that asks the PG (see `charges`); any other
        // write, a final state above all, holds none.
        attempt_until: None,
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
                // One transaction's events reach the merchant in the order they happened.
                stream: crate::store::event_stream(record.transaction.id()),
                body_sealed: app
                    .data_keys
                    .seal_json(&crate::at_rest::message_context(id), &body),
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
            // Approved with the PG's amount, so a PG that approved another amount than
            // the transaction's total is refused by the core rule, not papered over.
            let approved = transaction.approve(payment.amount, payment.paid_at.unwrap_or(at));
            match approved {
                Ok(event) => events.push(event),
                Err(error) => tracing::error!(
                    transaction = %transaction.id(),
                    uid = %payment.uid,
                    %error,
                    "the PG's payment cannot approve the transaction; it stays pending"
                ),
            }
        } else if let Some(code) = payment.status.failure_code() {
            let reason = FailureReason {
                code: code.to_owned(),
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
    if let Some(event) = follow_cancels(transaction, payment, at) {
        events.push(event);
    }
    events
}

/// The cancel the PG made since the transaction last looked, as the transaction's own
/// cancel (its balance rule applies).
fn follow_cancels(
    transaction: &mut Transaction,
    payment: &VendorPayment,
    at: Timestamp,
) -> Option<TransactionEvent> {
    if transaction.paid().is_zero() {
        return None;
    }
    let delta = payment
        .cancelled_amount
        .checked_sub(transaction.cancelled())
        .ok()?;
    if delta.is_zero() {
        return None;
    }
    let last = payment.cancels.last();
    let reason = last.map(|c| c.reason.clone()).unwrap_or_default();
    let when = last.map(|c| c.created_at).unwrap_or(at);
    transaction.cancel(delta, reason, when).ok()
}

/// A new transaction for an order.
///
/// # Errors
/// The core's [`TransactionError`] for a zero total.
pub fn pending(app: &App, order_id: &str, total: Money) -> Result<Transaction, TransactionError> {
    Transaction::pending(
        app.ids.uuid(),
        OrderId::new(order_id),
        total,
        app.clock.now(),
    )
}

/// Reads a transaction by id, with the password of the charge (or recorded payment)
/// that made it.
///
/// # Errors
/// [`AccessError::NotFound`] for an unknown id, [`AccessError::WrongPassword`].
pub async fn get(app: &App, id: Uuid, password: &str) -> Result<TransactionRecord, AccessError> {
    let stored = app
        .store
        .transaction_by_id(id)
        .await?
        .ok_or_else(|| AccessError::NotFound(format!("no transaction {id}")))?;
    let record = PasswordRecord {
        kind: RecordKind::Transaction,
        id: stored.id,
    };
    // A transaction that belongs to a history has the history's password: the two
    // share one count, so reading both does not double a guesser's tries.
    let counted_as = stored.history_id.map_or(record, |id| PasswordRecord {
        kind: RecordKind::History,
        id,
    });
    crate::passwords::check(app, counted_as, record, &stored.password_hash, password).await?;
    Ok(open(app, &stored)?)
}

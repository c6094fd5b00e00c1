//! Charges: the server takes the payment. An order (validated by the core rules and
//! snapshotted) is charged to a saved card (a reservation) at whichever PG holds it,
//! passing the caller's idempotency key on to the PG, and recorded as a verified
//! payment history with its transaction and events.
//!
//! Money rules: the charge is attempted at most once per idempotency key (the PG
//! de-duplicates by the same key); an outcome the PG did not tell us is resolved by
//! asking the PG for the order, never by charging again; a decline is `402` with the
//! PG's reason and leaves a failed transaction.

use crate::app::App;
use crate::errors::{AccessError, FieldError, Internal, UnknownStore};
use crate::histories::{self, HistoryError, NewHistory};
use crate::store::{
    StoreConflict, StoreError, StoredReservation, StoredTransaction, TransactionWrite,
};
use crate::{refunds, reservations, transactions, validate};
use payments_core::envelope::EnvelopeKind;
use payments_core::money::Currency;
use payments_core::order::Order;
use payments_core::payment_method::{PaymentMethod, ReservationRef};
use payments_core::records::Vendor;
use payments_core::records::charges::{Charge, ChargeCreate, TransactionKind, TransactionRecord};
use payments_core::timestamp::Timestamp;
use payments_core::transaction::{FailureReason, TransactionError, TransactionStatus};
use payments_core::vendor::{BillingCharge, GatewayError, PaymentGateway};
use std::sync::Arc;

/// Why a charge did not end in an approved, recorded payment.
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The request has no idempotency key.
    #[error("charges need an Idempotency-Key header: a retried charge must charge once")]
    KeyRequired,
    /// The payment method is not a saved card.
    #[error(
        "method.type: charges take a saved_card; coupons are redeemed at /payments/coupons/redeem"
    )]
    UnsupportedMethod,
    /// The order breaks a core rule.
    #[error("order: {0}")]
    InvalidOrder(String),
    /// The order's currency has minor units; the PGs charge whole units.
    #[error("order: the PGs charge {0} in whole units only")]
    UnsupportedCurrency(Currency),
    /// No such reservation, or the wrong password.
    #[error(transparent)]
    Reservation(AccessError),
    /// The reservation's billing key was deleted at the PG; nothing was charged.
    #[error("method.reservation: the saved card was deleted at the PG on {0}; register a new one")]
    ReservationDeleted(String),
    /// The reservation's store is not configured.
    #[error(transparent)]
    UnknownStore(#[from] UnknownStore),
    /// The source already holds a history.
    #[error("source: this source already has a payment history")]
    SourceTaken,
    /// The order is paid already.
    #[error("order.id: order {0} is already paid")]
    OrderPaid(String),
    /// Another request is charging the order right now; nothing was sent to the PG.
    #[error(
        "order.id: another request is charging order {0} right now; read its outcome, or retry with that request's Idempotency-Key"
    )]
    InFlight(String),
    /// Another request recorded this order (or its source) first; this one's money, if it
    /// took any, was given back.
    #[error("the order was recorded by another request ({0})")]
    LostRace(StoreConflict),
    /// The PG declined the charge; the transaction failed.
    #[error("{code}: {message}")]
    Declined {
        /// The PG's code.
        code: String,
        /// The PG's reason.
        message: String,
    },
    /// The PG's payment is not the one charged (order, amount or status).
    #[error("the PG's payment does not match the order")]
    VendorMismatch,
    /// The transaction rules refuse the order (a zero total).
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// Recording the payment failed.
    #[error(transparent)]
    History(HistoryError),
    /// The PG failed, refused, or left the outcome unknown.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A sealed value did not open, or hashing failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<StoreError> for ChargeError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(StoreConflict::OrderHeld) => {
                Self::LostRace(StoreConflict::OrderHeld)
            }
            other => Self::Store(other),
        }
    }
}

impl From<HistoryError> for ChargeError {
    fn from(error: HistoryError) -> Self {
        match error {
            HistoryError::SourceTaken => Self::SourceTaken,
            other => Self::History(other),
        }
    }
}

/// The name the PG shows the payer: the first line, and how many more.
fn order_name(order: &Order) -> String {
    let lines = order.lines();
    match lines.len() {
        0 => String::new(),
        1 => lines[0].name().to_owned(),
        n => format!("{} 외 {}건", lines[0].name(), n - 1),
    }
}

async fn reservation(app: &App, method: &PaymentMethod) -> Result<StoredReservation, ChargeError> {
    let PaymentMethod::SavedCard {
        reservation,
        password,
    } = method
    else {
        return Err(ChargeError::UnsupportedMethod);
    };
    let stored = match reservation {
        ReservationRef::Id(id) => app.store.reservation_by_id(*id).await?,
        ReservationRef::Source(source) => app.store.reservation_by_source(source).await?,
    }
    .ok_or_else(|| {
        ChargeError::Reservation(AccessError::NotFound(
            "method.reservation: no such reservation".into(),
        ))
    })?;
    reservations::check_password(app, &stored, password.expose())
        .await
        .map_err(ChargeError::Reservation)?;
    if let Some(at) = app.store.reservation_deleted_at(stored.id).await? {
        return Err(ChargeError::ReservationDeleted(
            payments_core::timestamp::format(&at),
        ));
    }
    Ok(stored)
}

/// Charges an order to a saved card.
///
/// # Errors
/// [`ChargeError`]: bad input or a missing idempotency key; an order the core rules
/// refuse; the reservation unknown or its password wrong; the order already paid, being
/// charged by another request, or its source taken; a decline with the PG's code and
/// message; an outcome even the PG cannot tell ([`GatewayError::OutcomeUnknown`]).
pub async fn create(
    app: Arc<App>,
    input: ChargeCreate,
    envelope: EnvelopeKind,
    idempotency_key: Option<String>,
) -> Result<Charge, ChargeError> {
    let idempotency_key = idempotency_key.ok_or(ChargeError::KeyRequired)?;
    validate::source("source", &input.source)?;
    validate::password("password", input.password.expose())?;
    if let Some(url) = &input.webhook_url {
        validate::webhook_url("webhook_url", url, &app.egress)?;
    }
    let order = input
        .order
        .to_order()
        .map_err(|e| ChargeError::InvalidOrder(e.to_string()))?;
    let total = order.total();
    if total.currency().minor_units() != 0 {
        return Err(ChargeError::UnsupportedCurrency(total.currency()));
    }
    let reservation = reservation(&app, &input.method).await?;
    let gateway = app.gateway(reservation.vendor_code, &reservation.store_id)?;
    histories::ensure_source_free(&app, &input.source).await?;

    // One transaction per attempt; an earlier attempt for this order decides what may happen.
    let order_id = order.id().as_str().to_owned();
    let earlier = app
        .store
        .transactions_by_order(TransactionKind::Charge, &order_id)
        .await?;
    let mut resumed = None;
    for row in earlier {
        let record = transactions::open(&app, &row)?;
        match record.transaction.status() {
            TransactionStatus::Failed => {}
            TransactionStatus::Pending => resumed = Some((record, row)),
            _ => return Err(ChargeError::OrderPaid(order_id)),
        }
    }
    let password_hash = app.hash_password(input.password.expose());
    let resuming = resumed.is_some();
    let now = app.clock.now();
    let lease = Some(now + attempt_lease(&app));
    let (record, row) = match resumed {
        Some((record, row)) => (record, claim(&app, row, lease, &order_id).await?),
        None => {
            let transaction = transactions::pending(&app, &order_id, total)?;
            let record = transactions::record(
                transaction,
                TransactionKind::Charge,
                None,
                Some(order.clone()),
            );
            let row = StoredTransaction {
                attempt_until: lease,
                ..transactions::stored(&app, &record, &password_hash, now, 0)
            };
            app.store
                .write_transaction(&TransactionWrite::Insert(row.clone()), &[])
                .await?;
            (record, row)
        }
    };
    // Written before the PG is asked: should this request never learn the outcome
    // (and the caller never retry), the reconciliation worker asks the PG for it.
    if let Err(error) = crate::pending_charges::schedule(
        &app,
        row.id,
        crate::pending_charges::PendingCharge {
            vendor_code: reservation.vendor_code,
            store_id: reservation.store_id.clone(),
            source: input.source.clone(),
            webhook_url: input.webhook_url.clone(),
            envelope,
        },
    )
    .await
    {
        release(&app, row).await;
        return Err(error.into());
    }
    let outcome = attempt(
        &app,
        input,
        envelope,
        &idempotency_key,
        Attempt {
            order,
            reservation,
            gateway,
            record,
            row: row.clone(),
            resuming,
            password_hash,
        },
    )
    .await;
    if outcome.is_err() {
        release(&app, row).await;
    }
    outcome
}

/// How long a charge's lease lasts: the PG calls one attempt makes (a lookup, the charge,
/// a lookup after it) at their time limit each, and time to record the answer. A request
/// that dies holding it (a crashed server) blocks the order that long, no longer.
pub(crate) fn attempt_lease(app: &App) -> chrono::Duration {
    let per_call = i64::try_from(app.config.vendors.timeout_ms).unwrap_or(i64::MAX / 4);
    chrono::Duration::milliseconds(per_call.saturating_mul(3).saturating_add(10_000))
}

/// Takes over a pending charge another request left, once its lease is over: the one
/// request that moves its version holds it; every other request (and any while the lease
/// runs, when the first request may still be waiting for the PG) is a duplicate.
pub(crate) async fn claim(
    app: &App,
    row: StoredTransaction,
    lease: Option<Timestamp>,
    order_id: &str,
) -> Result<StoredTransaction, ChargeError> {
    let in_flight = || ChargeError::InFlight(order_id.to_owned());
    if row
        .attempt_until
        .is_some_and(|until| until > app.clock.now())
    {
        return Err(in_flight());
    }
    let claimed = StoredTransaction {
        attempt_until: lease,
        ..row
    };
    if !app
        .store
        .write_transaction(&TransactionWrite::Update(claimed.clone()), &[])
        .await?
    {
        return Err(in_flight());
    }
    Ok(StoredTransaction {
        version: claimed.version + 1,
        ..claimed
    })
}

/// Gives up this request's lease on a charge it left pending (the PG's answer was lost,
/// or the PG failed), so a retry under any key may ask the PG at once. A no-op when the
/// charge moved on (approved, failed) since it was claimed.
pub(crate) async fn release(app: &App, row: StoredTransaction) {
    let id = row.id;
    let released = StoredTransaction {
        attempt_until: None,
        ..row
    };
    if let Err(error) = app
        .store
        .write_transaction(&TransactionWrite::Update(released), &[])
        .await
    {
        tracing::warn!(transaction = %id, %error, "a charge's lease was not released; it lapses on its own");
    }
}

/// When the PG refused a charge because the reservation's billing key is gone: asks the PG
/// about the key and, when it confirms, records the deletion. `None` when the key is live,
/// or the PG could not say.
async fn deleted_at_pg(app: &App, reservation: &StoredReservation) -> Option<Timestamp> {
    let billing_key = match reservations::billing_key(app, reservation) {
        Ok(key) => key,
        Err(error) => {
            tracing::error!(reservation = %reservation.id, %error, "a reservation's billing key does not open");
            return None;
        }
    };
    match reservations::follow_deletion(app, reservation.vendor_code, &billing_key).await {
        Ok(Some(_)) => app
            .store
            .reservation_deleted_at(reservation.id)
            .await
            .ok()
            .flatten(),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(reservation = %reservation.id, %error, "could not ask the PG whether a refused charge's billing key was deleted");
            None
        }
    }
}

/// What one charge attempt holds once its transaction is claimed.
struct Attempt {
    order: Order,
    reservation: StoredReservation,
    gateway: Arc<dyn PaymentGateway>,
    record: TransactionRecord,
    row: StoredTransaction,
    resuming: bool,
    password_hash: String,
}

/// Charges (or, when resuming, first asks the PG about) the claimed transaction and
/// records the payment.
async fn attempt(
    app: &Arc<App>,
    input: ChargeCreate,
    envelope: EnvelopeKind,
    idempotency_key: &str,
    attempt: Attempt,
) -> Result<Charge, ChargeError> {
    let Attempt {
        order,
        reservation,
        gateway,
        record,
        row,
        resuming,
        password_hash,
    } = attempt;
    let app = app.clone();
    let order_id = order.id().as_str().to_owned();
    let total = order.total();

    // An earlier attempt for this order never learned its outcome (its key may differ
    // from this one): ask the PG before charging, so the card is never charged twice.
    let already_charged = if resuming {
        match gateway.lookup_payment_by_order(&order_id).await {
            Ok(payment) if payment.status.is_paid() => Some(payment),
            Ok(_) | Err(GatewayError::NotFound(_)) => None,
            Err(error) => return Err(error.into()),
        }
    } else {
        None
    };

    // A Toss billing key is bound to customerKey = the reservation's source id (checked
    // when the reservation was recorded); PortOne ignores it.
    let customer_key = reservation.source.id.clone();
    let billing_key = reservations::billing_key(&app, &reservation)?;
    let charge = BillingCharge {
        billing_key: &billing_key,
        customer_key: &customer_key,
        order_id: &order_id,
        order_name: &order_name(&order),
        amount: total,
        idempotency_key,
    };
    let outcome = match already_charged {
        Some(payment) => Ok((payment, Origin::Found)),
        None => match gateway.charge_billing_key(charge).await {
            Ok(payment) => Ok((payment, Origin::Charged)),
            Err(GatewayError::OutcomeUnknown(detail)) => {
                // Ask the PG what happened to this order instead of charging again.
                tracing::warn!(order = %order_id, %detail, "charge outcome unknown; asking the PG");
                match gateway.lookup_payment_by_order(&order_id).await {
                    Ok(payment) => Ok((payment, Origin::Found)),
                    Err(GatewayError::NotFound(_)) => Err(GatewayError::Declined {
                        code: "NOT_CHARGED".into(),
                        message: "the PG has no payment for this order after a timeout".into(),
                    }),
                    Err(_) => Err(GatewayError::OutcomeUnknown(detail)),
                }
            }
            Err(refused @ GatewayError::Rejected { .. }) => {
                // The PGs refuse a second charge for an order they already charged: when
                // that is why, another request paid this order and this one is a duplicate.
                if let Ok(payment) = gateway.lookup_payment_by_order(&order_id).await
                    && payment.status.is_paid()
                {
                    return Err(ChargeError::OrderPaid(order_id.clone()));
                }
                // Or the card was deleted at the PG and its webhook never reached us:
                // record that (the PG confirms it) so the next charge is refused here.
                if let Some(at) = deleted_at_pg(&app, &reservation).await {
                    fail(
                        &app,
                        record,
                        row,
                        "RESERVATION_DELETED",
                        "the saved card was deleted at the PG",
                    )
                    .await?;
                    return Err(ChargeError::ReservationDeleted(
                        payments_core::timestamp::format(&at),
                    ));
                }
                if !resuming {
                    let reason = refused.to_string();
                    fail(
                        &app,
                        record.clone(),
                        row.clone(),
                        "VENDOR_REJECTED",
                        &reason,
                    )
                    .await?;
                }
                Err(refused)
            }
            Err(other) => Err(other),
        },
    };
    let (payment, origin) = match outcome {
        Ok(found) => found,
        Err(GatewayError::Declined { code, message }) => {
            fail(&app, record, row, &code, &message).await?;
            return Err(ChargeError::Declined { code, message });
        }
        Err(other) => return Err(other.into()),
    };
    if payment.order_id != order_id || payment.amount != total || !payment.status.is_paid() {
        match origin {
            Origin::Charged => {
                refunds::refund_unrecorded(
                    &app,
                    gateway.as_ref(),
                    &payment,
                    "the PG's payment does not match the charge",
                )
                .await;
            }
            Origin::Found => tracing::error!(
                order = %order_id,
                uid = %payment.uid,
                "the PG's payment for this order does not match the charge; left as it is",
            ),
        }
        fail(
            &app,
            record,
            row,
            "VENDOR_MISMATCH",
            "the PG's payment does not match the order",
        )
        .await?;
        return Err(ChargeError::VendorMismatch);
    }
    let new = NewHistory {
        vendor: Vendor {
            code: reservation.vendor_code,
            store_id: reservation.store_id.clone(),
            uid: payment.uid.clone(),
        },
        source: input.source.clone(),
        webhook_url: input.webhook_url.clone(),
        envelope,
        password_hash,
    };
    let stored =
        match histories::record_verified(&app, new, &payment, Some((record.clone(), row.clone())))
            .await
        {
            Ok(stored) => stored,
            Err(error) => {
                let Some(conflict) = error.conflict() else {
                    return Err(error.into());
                };
                // Which rule broke decides: a payment some history holds is never
                // refunded, and only a payment this request charged is ever refunded.
                if origin == Origin::Charged
                    && conflict != StoreConflict::VendorUid
                    && refunds::refund_unrecorded(
                        &app,
                        gateway.as_ref(),
                        &payment,
                        "charged, but another request recorded this order or source first",
                    )
                    .await
                {
                    // Applies only while the transaction is still the one read.
                    fail(
                        &app,
                        record,
                        row,
                        "DUPLICATE",
                        "the order or source was recorded by another request",
                    )
                    .await?;
                }
                return Err(ChargeError::LostRace(conflict));
            }
        };
    let history = histories::to_record(&app, &stored)?;
    let transaction = app
        .store
        .transaction_by_id(record.transaction.id())
        .await?
        .ok_or_else(|| Internal::new("a charge's transaction vanished"))?;
    Ok(Charge {
        transaction: transactions::open(&app, &transaction)?,
        history,
    })
}

/// Where the payment a charge records came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// This request's own billing charge made it: this request may give it back.
    Charged,
    /// Found by asking the PG for the order: another request may have made it, so it is
    /// never refunded here.
    Found,
}

pub(crate) async fn fail(
    app: &App,
    record: TransactionRecord,
    row: StoredTransaction,
    code: &str,
    message: &str,
) -> Result<(), StoreError> {
    let mut transaction = record.transaction;
    let reason = FailureReason {
        code: code.to_owned(),
        message: message.to_owned(),
    };
    let Ok(event) = transaction.fail(reason, app.clock.now()) else {
        return Ok(());
    };
    let record = transactions::record(transaction, record.kind, record.history_id, record.order);
    let messages = transactions::event_messages(app, vec![event], &record);
    let write = TransactionWrite::Update(transactions::stored(
        app,
        &record,
        &row.password_hash,
        row.created_at,
        row.version,
    ));
    app.store.write_transaction(&write, &messages).await?;
    Ok(())
}

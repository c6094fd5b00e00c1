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
use crate::error::ApiError;
use crate::histories::{self, NewHistory, RecordError};
use crate::store::{
    StoreConflict, StoreError, StoredReservation, StoredTransaction, TransactionWrite,
};
use crate::{refunds, transactions, validate};
use axum::http::StatusCode;
use payments_core::envelope::EnvelopeKind;
use payments_core::order::Order;
use payments_core::payment_method::{PaymentMethod, ReservationRef};
use payments_core::records::Vendor;
use payments_core::records::charges::{Charge, ChargeCreate, TransactionKind, TransactionRecord};
use payments_core::transaction::{FailureReason, TransactionStatus};
use payments_core::vendor::{BillingCharge, GatewayError};
use std::sync::Arc;

/// The name the PG shows the payer: the first line, and how many more.
fn order_name(order: &Order) -> String {
    let lines = order.lines();
    match lines.len() {
        0 => String::new(),
        1 => lines[0].name().to_owned(),
        n => format!("{} 외 {}건", lines[0].name(), n - 1),
    }
}

async fn reservation(app: &App, method: &PaymentMethod) -> Result<StoredReservation, ApiError> {
    let PaymentMethod::SavedCard {
        reservation,
        password,
    } = method
    else {
        return Err(ApiError::bad_request(
            "UNSUPPORTED_METHOD",
            "method.type: charges take a saved_card; coupons are redeemed at /payments/coupons/redeem",
        ));
    };
    let stored = match reservation {
        ReservationRef::Id(id) => app.store.reservation_by_id(*id).await?,
        ReservationRef::Source(source) => app.store.reservation_by_source(source).await?,
    }
    .ok_or_else(|| ApiError::not_found("method.reservation: no such reservation"))?;
    app.check_password(&stored.password_hash, password.expose())
        .await?;
    Ok(stored)
}

/// Charges an order to a saved card.
///
/// # Errors
/// `400` for bad input or a missing idempotency key; `422 INVALID_ORDER` for an order
/// the core rules refuse; `404`/`403` for the reservation; `409 DUPLICATE` when the
/// order is already paid or the source taken; `402 PAYMENT_DECLINED` with the PG's code
/// and message; `504 VENDOR_TIMEOUT` when even the PG cannot say what happened.
pub async fn create(
    app: Arc<App>,
    input: ChargeCreate,
    envelope: EnvelopeKind,
    idempotency_key: Option<String>,
) -> Result<Charge, ApiError> {
    let idempotency_key = idempotency_key.ok_or_else(|| {
        ApiError::bad_request(
            "IDEMPOTENCY_KEY_REQUIRED",
            "charges need an Idempotency-Key header: a retried charge must charge once",
        )
    })?;
    validate::source("source", &input.source)?;
    validate::password("password", input.password.expose())?;
    if let Some(url) = &input.webhook_url {
        validate::webhook_url("webhook_url", url)?;
    }
    let order = input
        .order
        .to_order()
        .map_err(|e| ApiError::unprocessable("INVALID_ORDER", format!("order: {e}")))?;
    let total = order.total();
    if total.currency().minor_units() != 0 {
        return Err(ApiError::unprocessable(
            "UNSUPPORTED_CURRENCY",
            format!(
                "order: the PGs charge {} in whole units only",
                total.currency()
            ),
        ));
    }
    let reservation = reservation(&app, &input.method).await?;
    let gateway = app.gateway(reservation.vendor.code, &reservation.vendor.store_id)?;
    histories::ensure_source_free(&app, &input.source).await?;

    // One transaction per attempt; an earlier attempt for this order decides what may happen.
    let order_id = order.id().as_str().to_owned();
    let earlier = app
        .store
        .transactions_by_order(TransactionKind::Charge.as_str(), &order_id)
        .await?;
    let mut resumed = None;
    for row in earlier {
        let record = transactions::open(&app, &row)?;
        match record.transaction.status() {
            TransactionStatus::Failed => {}
            TransactionStatus::Pending => resumed = Some((record, row)),
            _ => {
                return Err(already_paid(&order_id));
            }
        }
    }
    let password_hash = app.hash_password(input.password.expose()).await?;
    let resuming = resumed.is_some();
    let (record, row) = match resumed {
        Some(pending) => pending,
        None => {
            let transaction = transactions::pending(&app, &order_id, total)?;
            let record = transactions::record(
                transaction,
                TransactionKind::Charge,
                None,
                Some(order.clone()),
            );
            let row = transactions::stored(&app, &record, &password_hash, app.clock.now(), 0);
            app.store
                .write_transaction(&TransactionWrite::Insert(row.clone()), &[])
                .await?;
            (record, row)
        }
    };

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
    let charge = BillingCharge {
        billing_key: &reservation.vendor.uid,
        customer_key: &customer_key,
        order_id: &order_id,
        order_name: &order_name(&order),
        amount: total.amount(),
        currency: total.currency().code(),
        idempotency_key: &idempotency_key,
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
                    return Err(already_paid(&order_id));
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
            return Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "PAYMENT_DECLINED",
                format!("{code}: {message}"),
            ));
        }
        Err(other) => return Err(other.into()),
    };
    if payment.order_id != order_id || payment.amount != total.amount() || !payment.status.is_paid()
    {
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
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "VENDOR_MISMATCH",
            "the PG's payment does not match the order",
        ));
    }
    let new = NewHistory {
        vendor: Vendor {
            code: reservation.vendor.code,
            store_id: reservation.vendor.store_id.clone(),
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
            Err(RecordError::Conflict(conflict)) => {
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
                return Err(StoreError::Conflict(conflict).into());
            }
            Err(RecordError::Other(error)) => return Err(error),
        };
    let history = histories::to_record(&app, &stored)?;
    let transaction = app
        .store
        .transaction_by_id(record.transaction.id())
        .await?
        .ok_or_else(|| ApiError::internal("a charge's transaction vanished"))?;
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

fn already_paid(order_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "DUPLICATE",
        format!("order.id: order {order_id} is already paid"),
    )
}

async fn fail(
    app: &App,
    record: TransactionRecord,
    row: StoredTransaction,
    code: &str,
    message: &str,
) -> Result<(), ApiError> {
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
    app.messages_written(&messages);
    Ok(())
}

//! Charges whose outcome their request never learned: the PG's answer was lost, the
//! lookup after it failed too, and the caller never retried. The money may be at the
//! PG with no history here, so before a charge is sent to the PG its request records
//! what recording the payment needs ([`PendingCharge`], sealed), and the
//! reconciliation worker ([`crate::reconcile`]) resolves a charge still pending once no
//! request holds it, by the rules a resumed charge follows in [`crate::charges`]:
//!
//! - the PG is asked for the order, never charged again;
//! - a paid payment of the order's amount is recorded as the charge's history, verified
//!   against the PG (its transaction approved, its events in the outbox);
//! - the PG has no payment for the order: the charge failed (`NOT_CHARGED`), as when a
//!   request's lookup after a timeout finds none;
//! - a payment that does not match (another amount, not paid) is left as it is and the
//!   charge fails (`VENDOR_MISMATCH`): it was found by asking, not charged here, so it
//!   is never refunded;
//! - a payment no history may hold (its source was taken meanwhile) is never refunded
//!   either: it is kept as an unknown payment for an operator
//!   ([`crate::store::UnknownPaymentStore`]).

use crate::app::App;
use crate::charges::{self, ChargeError};
use crate::errors::Internal;
use crate::histories::{self, NewHistory};
use crate::store::{StoreConflict, StoredTransaction, UnknownPayment};
use crate::transactions;
use payments_core::envelope::EnvelopeKind;
use payments_core::records::{Source, Vendor, VendorCode};
use payments_core::transaction::TransactionStatus;
use payments_core::vendor::{GatewayError, VendorPayment};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// What recording a charge's payment needs besides its transaction: kept sealed beside
/// the charge while it is pending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCharge {
    /// The PG of the reservation charged.
    pub vendor_code: VendorCode,
    /// Its configured store.
    pub store_id: String,
    /// The caller's record the history is for.
    pub source: Source,
    /// Where the history's webhooks go.
    pub webhook_url: Option<String>,
    /// The envelope they are sealed in.
    pub envelope: EnvelopeKind,
}

fn context(transaction_id: Uuid) -> String {
    format!("charge-check:{transaction_id}:context")
}

/// Records `pending` beside the charge `transaction_id`, with a check due one
/// reconciliation interval from now (by then a request that is still waiting for the
/// PG holds the charge's lease, and the check waits for it).
///
/// # Errors
/// Storage failures: the charge must then not be sent to the PG.
pub async fn schedule(
    app: &App,
    transaction_id: Uuid,
    pending: PendingCharge,
) -> Result<(), crate::store::StoreError> {
    let sealed = app.data_keys.seal_json(&context(transaction_id), &pending);
    let interval = i64::try_from(app.config.reconcile.interval_ms).unwrap_or(i64::MAX / 4);
    let at = app.now_ms().saturating_add(interval);
    app.store
        .schedule_charge_check(transaction_id, &sealed, at)
        .await
}

/// Where a check of a pending charge left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The charge is final (or gone): nothing more to check.
    Final,
    /// A request holds the charge, or the PG could not tell: ask again later.
    Again,
}

/// Checks the pending charge `transaction_id` once (see the module's rules).
///
/// # Errors
/// The context or transaction does not open, the store fails, or the PG cannot be
/// asked (the charge is released, and checked again later).
pub async fn resolve(
    app: &Arc<App>,
    transaction_id: Uuid,
    context_sealed: &str,
) -> Result<Resolution, ChargeError> {
    let Some(row) = app.store.transaction_by_id(transaction_id).await? else {
        return Ok(Resolution::Final);
    };
    let record = transactions::open(app, &row)?;
    if record.transaction.status() != TransactionStatus::Pending {
        return Ok(Resolution::Final);
    }
    let pending: PendingCharge = app
        .data_keys
        .open_json(&context(transaction_id), context_sealed)
        .map_err(Internal::new)?;
    let gateway = app.gateway(pending.vendor_code, &pending.store_id)?;
    let order_id = record.transaction.order_id().as_str().to_owned();
    // Taken like a resumed charge: a request that holds it (or takes it first) wins.
    let lease = Some(app.clock.now() + charges::attempt_lease(app));
    let row = match charges::claim(app, row, lease, &order_id).await {
        Ok(row) => row,
        Err(ChargeError::InFlight(_)) => return Ok(Resolution::Again),
        Err(error) => return Err(error),
    };
    let payment = match gateway.lookup_payment_by_order(&order_id).await {
        Ok(payment) => payment,
        Err(GatewayError::NotFound(_)) => {
            charges::fail(
                app,
                record,
                row,
                "NOT_CHARGED",
                "the PG has no payment for this order",
            )
            .await?;
            tracing::info!(transaction = %transaction_id, order = %order_id, "reconcile: a pending charge was never made at the PG; failed");
            return Ok(Resolution::Final);
        }
        Err(error) => {
            charges::release(app, row).await;
            return Err(error.into());
        }
    };
    let total = record.transaction.total();
    if payment.order_id != order_id || payment.amount != total || !payment.status.is_paid() {
        tracing::error!(
            transaction = %transaction_id,
            order = %order_id,
            uid = %payment.uid,
            "reconcile: the PG's payment for a pending charge's order does not match the charge; left as it is",
        );
        charges::fail(
            app,
            record,
            row,
            "VENDOR_MISMATCH",
            "the PG's payment does not match the order",
        )
        .await?;
        return Ok(Resolution::Final);
    }
    let new = NewHistory {
        vendor: Vendor {
            code: pending.vendor_code,
            store_id: pending.store_id.clone(),
            uid: payment.uid.clone(),
        },
        source: pending.source.clone(),
        webhook_url: pending.webhook_url.clone(),
        envelope: pending.envelope,
        password_hash: row.password_hash.clone(),
    };
    match histories::record_verified(app, new, &payment, Some((record, row.clone()))).await {
        Ok(stored) => {
            tracing::info!(transaction = %transaction_id, history = %stored.id, "reconcile: a pending charge the PG made was recorded");
            Ok(Resolution::Final)
        }
        Err(error) => match error.conflict() {
            // A history holds the payment: nothing is lost.
            Some(StoreConflict::VendorUid) => Ok(Resolution::Final),
            // A request moved the charge meanwhile: look again.
            Some(StoreConflict::TransactionMoved) | Some(StoreConflict::OrderHeld) => {
                Ok(Resolution::Again)
            }
            Some(_) => {
                keep_for_operator(app, &pending, &payment, &row).await;
                Ok(Resolution::Final)
            }
            None => {
                charges::release(app, row).await;
                Err(error.into())
            }
        },
    }
}

/// A paid payment no history may hold: never refunded (it was found by asking), kept
/// for an operator; the charge stays as it is.
async fn keep_for_operator(
    app: &App,
    pending: &PendingCharge,
    payment: &VendorPayment,
    row: &StoredTransaction,
) {
    tracing::error!(
        transaction = %row.id,
        uid = %payment.uid,
        "reconcile: a pending charge's payment cannot be recorded (its source holds another history); kept for an operator",
    );
    let kept = UnknownPayment {
        vendor: pending.vendor_code,
        store_id: pending.store_id.clone(),
        uid: payment.uid.clone(),
        order_id: payment.order_id.clone(),
        status: payment.status,
        data_sealed: app.data_keys.seal_json(
            &crate::at_rest::unknown_payment_context(pending.vendor_code, &payment.uid),
            &histories::stored_data(&payment.raw),
        ),
        seen_at: app.clock.now(),
    };
    if let Err(error) = app.store.keep_unknown_payment(&kept).await {
        tracing::error!(transaction = %row.id, %error, "reconcile: an unrecordable payment was not kept");
    }
    charges::release(app, row.clone()).await;
}

//! Payment histories: record a PG payment only after the PG confirms it, read it back
//! with its password, cancel it at the PG, and apply whatever the PG says changed.

use crate::app::App;
use crate::errors::{AccessError, FieldError, Internal, UnknownStore};
use crate::store::{
    MessageKind, NewMessage, PasswordRecord, RecordKind, StoreConflict, StoreError, StoredHistory,
    TransactionWrite,
};
use crate::transactions;
use crate::{passwords, validate};
use payments_core::envelope::EnvelopeKind;
use payments_core::money::Money;
use payments_core::records::charges::TransactionKind;
use payments_core::records::{
    Accessor, CancelCreate, CancelHistory, PaymentHistory, PaymentHistoryCreate, WebhookHistory,
};
use payments_core::transaction::{TransactionError, TransactionStatus};
use payments_core::vendor::{CancelPayment, GatewayError, PaymentStatus, VendorPayment};
use std::sync::Arc;
use uuid::Uuid;

pub(crate) fn data_context(id: Uuid) -> String {
    format!("history:{id}:data")
}

pub(crate) fn cancels_context(id: Uuid) -> String {
    format!("history:{id}:cancels")
}

/// Why a payment history was not recorded, read, cancelled or updated.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The vendor's store is not configured.
    #[error(transparent)]
    UnknownStore(#[from] UnknownStore),
    /// No such history, or the wrong password.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The source already holds a history.
    #[error("source: this source already has a payment history")]
    SourceTaken,
    /// The PG payment already has a history.
    #[error("vendor.uid: this PG payment is already recorded")]
    PaymentRecorded,
    /// The PG payment belongs to another order; it was left as it is.
    #[error("source.id: the PG payment belongs to order {pg_order:?}, not {source_id:?}")]
    OrderMismatch {
        /// The PG's order id.
        pg_order: String,
        /// The caller's source id.
        source_id: String,
    },
    /// The PG payment is this order's for another amount; it was cancelled.
    #[error(
        "price: the PG payment is {} {}, not {price}; the PG payment was cancelled",
        amount.amount(),
        amount.currency()
    )]
    AmountMismatch {
        /// The PG's amount.
        amount: Money,
        /// The caller's price.
        price: i64,
    },
    /// The PG refused to confirm the payment for this order and price (no money moved).
    #[error("the PG refused to confirm the payment for this order and price: {code}: {message}")]
    ConfirmRefused {
        /// Whether the order id (rather than the amount) is what differs.
        order_differs: bool,
        /// The PG's code.
        code: String,
        /// The PG's message.
        message: String,
    },
    /// The PG payment is not paid (nor waiting for a deposit).
    #[error("the PG payment is {}, not paid", .0.as_str())]
    NotPaid(PaymentStatus),
    /// A cancel asks for more than is left.
    #[error("price: {price} is more than the {balance} left to cancel")]
    CancelExceedsBalance {
        /// What the caller asked to cancel.
        price: Money,
        /// What is left.
        balance: Money,
    },
    /// The transaction rules refuse the payment (e.g. a zero amount).
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// The PG failed or refused.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The store failed, or refused with a conflict other than source or PG uid.
    #[error(transparent)]
    Store(StoreError),
    /// A sealed value did not open, or hashing failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<StoreError> for HistoryError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(StoreConflict::Source) => Self::SourceTaken,
            StoreError::Conflict(StoreConflict::VendorUid) => Self::PaymentRecorded,
            other => Self::Store(other),
        }
    }
}

impl HistoryError {
    /// The uniqueness rule that refused the history, if that is why nothing was
    /// recorded.
    pub fn conflict(&self) -> Option<StoreConflict> {
        match self {
            Self::SourceTaken => Some(StoreConflict::Source),
            Self::PaymentRecorded => Some(StoreConflict::VendorUid),
            Self::Store(StoreError::Conflict(conflict)) => Some(*conflict),
            _ => None,
        }
    }
}

/// Opens a stored history into its wire record.
///
/// # Errors
/// [`Internal`] when a sealed field does not open (wrong data key, corruption).
pub fn to_record(app: &App, stored: &StoredHistory) -> Result<PaymentHistory, Internal> {
    let data: serde_json::Value = app
        .data_keys
        .open_json(&data_context(stored.id), &stored.data_sealed)
        .map_err(Internal::new)?;
    let cancels: Vec<CancelHistory> = app
        .data_keys
        .open_json(&cancels_context(stored.id), &stored.cancels_sealed)
        .map_err(Internal::new)?;
    Ok(record_of(stored, data, cancels))
}

/// The wire record of a history whose PG object and cancels are at hand (opened, or
/// about to be sealed).
fn record_of(
    stored: &StoredHistory,
    data: serde_json::Value,
    cancels: Vec<CancelHistory>,
) -> PaymentHistory {
    PaymentHistory {
        id: stored.id,
        vendor_code: stored.vendor.code,
        vendor: stored.vendor.clone(),
        source: stored.source.clone(),
        data,
        currency: stored.price.currency().code().to_owned(),
        price: stored.price.amount(),
        refund: stored.refund.map(|refund| refund.amount()),
        webhook_url: stored.webhook_url.clone(),
        created_at: stored.created_at,
        paid_at: stored.paid_at,
        cancelled_at: stored.cancelled_at,
        cancels,
    }
}

/// The PG object as stored: verbatim but for a refund account the PG echoes back
/// (`refundReceiveAccount`), whose number is masked to its last four digits, because a
/// refund account is used for the PG call and never stored.
pub(crate) fn stored_data(raw: &serde_json::Value) -> serde_json::Value {
    let mut data = raw.clone();
    mask_refund_accounts(&mut data);
    data
}

fn mask_refund_accounts(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if key == "refundReceiveAccount" {
                    if let Some(number) = inner.get_mut("accountNumber")
                        && let Some(text) = number.as_str()
                    {
                        let chars: Vec<char> = text.chars().collect();
                        let hidden = chars.len().saturating_sub(4);
                        let tail: String = chars[hidden..].iter().collect();
                        *number = serde_json::Value::String("*".repeat(hidden) + &tail);
                    }
                } else {
                    mask_refund_accounts(inner);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_refund_accounts),
        _ => {}
    }
}

/// Writes the PG's view of a payment into a stored history (not yet saved); `data` is
/// [`stored_data`] of the payment's PG object.
fn with_payment(
    app: &App,
    stored: &StoredHistory,
    payment: &VendorPayment,
    data: &serde_json::Value,
) -> StoredHistory {
    StoredHistory {
        refund: (!payment.cancelled_amount.is_zero()).then_some(payment.cancelled_amount),
        data_sealed: app.data_keys.seal_json(&data_context(stored.id), data),
        cancels_sealed: app
            .data_keys
            .seal_json(&cancels_context(stored.id), &payment.cancels),
        status: payment.status,
        paid_at: payment.paid_at,
        cancelled_at: payment.cancelled_at,
        ..stored.clone()
    }
}

/// Asks the PG for the payment, confirming it first when it awaits the merchant's
/// confirmation (the Toss widget flow).
async fn verified_payment(
    app: &App,
    input: &PaymentHistoryCreate,
) -> Result<VendorPayment, HistoryError> {
    let gateway = app.gateway(input.vendor.code, &input.vendor.store_id)?;
    let payment = gateway.lookup_payment(&input.vendor.uid).await?;
    if payment.status != PaymentStatus::AwaitingConfirmation {
        return Ok(payment);
    }
    // The caller's price is in the payment's currency (the wire carries no other).
    let price = Money::new(input.price, payment.amount.currency())
        .map_err(|e| FieldError::new("price", e.to_string()))?;
    match gateway
        .confirm_payment(&input.vendor.uid, &input.source.id, price)
        .await
    {
        Ok(payment) => Ok(payment),
        Err(GatewayError::Rejected { code, message, .. }) => {
            // Someone confirmed it meanwhile (a double click): the PG's current state
            // decides, and the usual order/amount checks follow.
            let now = gateway.lookup_payment(&input.vendor.uid).await?;
            if now.status != PaymentStatus::AwaitingConfirmation
                && now.status != PaymentStatus::Ready
            {
                return Ok(now);
            }
            // The PG refuses to confirm an order id or amount other than the payment's:
            // no money moved, so there is nothing to cancel.
            Err(HistoryError::ConfirmRefused {
                order_differs: payment.order_id != input.source.id,
                code,
                message,
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// Records a PG payment after verifying it with the PG.
///
/// # Errors
/// [`HistoryError`]: bad input or an unknown store; a source or PG payment that already
/// has a history; a PG payment that is not what the caller says (another order, another
/// amount — which also cancels the PG payment —, not paid); PG failures.
pub async fn create(
    app: Arc<App>,
    input: PaymentHistoryCreate,
    envelope: EnvelopeKind,
) -> Result<PaymentHistory, HistoryError> {
    validate::source("source", &input.source)?;
    validate::text("vendor.uid", &input.vendor.uid)?;
    validate::positive("price", input.price)?;
    validate::password("password", input.password.expose())?;
    if let Some(url) = &input.webhook_url {
        validate::webhook_url("webhook_url", url, &app.egress)?;
    }
    let gateway = app.gateway(input.vendor.code, &input.vendor.store_id)?;
    // Refuse duplicates before touching the PG, so a repeated create never confirms twice
    // (one query for both rules; the unique indexes still decide a race).
    if let Some(conflict) = app
        .store
        .history_conflict(&input.source, input.vendor.code, &input.vendor.uid)
        .await?
    {
        return Err(StoreError::Conflict(conflict).into());
    }

    let payment = verified_payment(&app, &input).await?;
    if payment.order_id != input.source.id {
        // The payment belongs to another order: cancelling it would let anyone cancel
        // someone else's payment by naming it, so it is only refused.
        return Err(HistoryError::OrderMismatch {
            pg_order: payment.order_id,
            source_id: input.source.id,
        });
    }
    if payment.amount.amount() != input.price {
        // The payment is this order's but for another amount (a tampered checkout): the
        // PG must not keep money for an order that is refused.
        if payment.status.is_paid() || payment.status == PaymentStatus::WaitingForDeposit {
            crate::refunds::refund_unrecorded(
                &app,
                gateway.as_ref(),
                &payment,
                "amount mismatch: refused by the payment server",
            )
            .await;
        }
        return Err(HistoryError::AmountMismatch {
            amount: payment.amount,
            price: input.price,
        });
    }
    if !(payment.status.is_paid() || payment.status == PaymentStatus::WaitingForDeposit) {
        return Err(HistoryError::NotPaid(payment.status));
    }

    let password_hash = app.hash_password(input.password.expose());
    let stored = record_verified(
        &app,
        NewHistory {
            vendor: input.vendor.clone(),
            source: input.source.clone(),
            webhook_url: input.webhook_url.clone(),
            envelope,
            password_hash,
        },
        &payment,
        None,
    )
    .await?;
    Ok(to_record(&app, &stored)?)
}

/// Refuses a source that already holds a history, before any PG call is made (the
/// unique index still decides a race).
///
/// # Errors
/// [`HistoryError::SourceTaken`]; storage failures.
pub async fn ensure_source_free(
    app: &App,
    source: &payments_core::records::Source,
) -> Result<(), HistoryError> {
    if app.store.history_by_source(source).await?.is_some() {
        return Err(HistoryError::SourceTaken);
    }
    Ok(())
}

/// What a new history needs besides the PG's payment.
#[derive(Debug, Clone)]
pub struct NewHistory {
    /// The payment at the PG.
    pub vendor: payments_core::records::Vendor,
    /// The caller's record.
    pub source: payments_core::records::Source,
    /// Where webhooks go.
    pub webhook_url: Option<String>,
    /// The envelope webhooks are sealed in.
    pub envelope: EnvelopeKind,
    /// The password's hash.
    pub password_hash: String,
}

/// Stores a verified payment as a new history together with the transaction that
/// approves it and its events, in one database transaction. Without `charge` (a
/// payment the caller made at the PG) a transaction of kind `payment` is started and
/// follows the PG's status; with it (a charge the server made), that pending
/// transaction is approved and linked to the history.
///
/// # Errors
/// [`HistoryError::conflict`] names the rule that broke when the source or the PG
/// payment was recorded meanwhile, or the charge's transaction moved on; storage
/// failures otherwise.
pub async fn record_verified(
    app: &App,
    new: NewHistory,
    payment: &VendorPayment,
    charge: Option<(
        payments_core::records::charges::TransactionRecord,
        crate::store::StoredTransaction,
    )>,
) -> Result<StoredHistory, HistoryError> {
    let id = app.ids.uuid();
    let now = app.clock.now();
    let skeleton = StoredHistory {
        id,
        vendor: payments_core::records::Vendor {
            uid: payment.uid.clone(),
            ..new.vendor
        },
        order_id: payment.order_id.clone(),
        source: new.source,
        price: payment.amount,
        refund: None,
        webhook_url: new.webhook_url,
        envelope: new.envelope,
        password_hash: new.password_hash.clone(),
        data_sealed: String::new(),
        cancels_sealed: String::new(),
        status: payment.status,
        created_at: now,
        paid_at: None,
        cancelled_at: None,
        version: 0,
    };
    let stored = with_payment(app, &skeleton, payment, &stored_data(&payment.raw));
    let (write, record, events) = match charge {
        None => {
            let mut transaction = transactions::pending(app, &payment.order_id, payment.amount)?;
            let events = transactions::follow_payment(&mut transaction, payment, now);
            let record =
                transactions::record(transaction, TransactionKind::Payment, Some(id), None);
            let row = transactions::stored(app, &record, &new.password_hash, now, 0);
            (TransactionWrite::Insert(row), record, events)
        }
        Some((record, row)) => {
            let mut transaction = record.transaction.clone();
            let events = transactions::follow_payment(&mut transaction, payment, now);
            let record = transactions::record(transaction, record.kind, Some(id), record.order);
            let row = transactions::stored(
                app,
                &record,
                &row.password_hash,
                row.created_at,
                row.version,
            );
            (TransactionWrite::Update(row), record, events)
        }
    };
    let messages = transactions::event_messages(app, events, &record);
    app.store
        .insert_history(&stored, Some(&write), &messages)
        .await?;
    tracing::info!(history = %id, vendor = %stored.vendor.code, "payment history recorded");
    Ok(stored)
}

async fn by_source_checked(app: &App, accessor: &Accessor) -> Result<StoredHistory, AccessError> {
    let stored = app
        .store
        .history_by_source(&accessor.source())
        .await?
        .ok_or_else(|| AccessError::NotFound("no payment history for this source".into()))?;
    check_password(app, &stored, accessor.password.expose()).await?;
    Ok(stored)
}

/// The password check of a history, behind its guess limiter.
async fn check_password(
    app: &App,
    stored: &StoredHistory,
    password: &str,
) -> Result<(), AccessError> {
    let record = PasswordRecord {
        kind: RecordKind::History,
        id: stored.id,
    };
    passwords::check(app, record, record, &stored.password_hash, password).await
}

/// Reads a history by its source, with its password.
///
/// # Errors
/// [`AccessError::NotFound`] for an unknown source, [`AccessError::WrongPassword`].
pub async fn get_by_source(
    app: Arc<App>,
    accessor: Accessor,
) -> Result<PaymentHistory, AccessError> {
    let stored = by_source_checked(&app, &accessor).await?;
    Ok(to_record(&app, &stored)?)
}

/// Reads a history by id, with its password.
///
/// # Errors
/// [`AccessError::NotFound`] for an unknown id, [`AccessError::WrongPassword`].
pub async fn get_by_id(
    app: Arc<App>,
    id: Uuid,
    password: &str,
) -> Result<PaymentHistory, AccessError> {
    let stored = get_by_id_checked(&app, id, password).await?;
    Ok(to_record(&app, &stored)?)
}

/// The stored history with this id, once its password is checked.
///
/// # Errors
/// As [`get_by_id`].
pub async fn get_by_id_checked(
    app: &App,
    id: Uuid,
    password: &str,
) -> Result<StoredHistory, AccessError> {
    let stored = app
        .store
        .history_by_id(id)
        .await?
        .ok_or_else(|| AccessError::NotFound(format!("no payment history {id}")))?;
    check_password(app, &stored, password).await?;
    Ok(stored)
}

/// Cancels all or part of a recorded payment at the PG and records the PG's resulting
/// cancel list. The refund account is passed to the PG and never stored.
///
/// # Errors
/// [`HistoryError`]: as reads; a price that is not positive; a price above what is left
/// ([`HistoryError::CancelExceedsBalance`]); PG refusals.
pub async fn cancel(
    app: Arc<App>,
    input: CancelCreate,
    idempotency_key: Option<String>,
) -> Result<PaymentHistory, HistoryError> {
    validate::source("source", &input.source)?;
    validate::positive("price", input.price)?;
    validate::text("reason", &input.reason)?;
    let accessor = Accessor {
        schema: input.source.schema.clone(),
        table: input.source.table.clone(),
        id: input.source.id.clone(),
        password: input.password.clone(),
    };
    let stored = by_source_checked(&app, &accessor).await?;
    let balance = cancellable(&app, &stored).await?;
    let price = Money::new(input.price, balance.currency())
        .map_err(|e| FieldError::new("price", e.to_string()))?;
    if price.amount() > balance.amount() {
        return Err(HistoryError::CancelExceedsBalance { price, balance });
    }
    let gateway = app.gateway(stored.vendor.code, &stored.vendor.store_id)?;
    // Should the PG's answer be lost (a timeout, a crash), the reconciliation worker
    // asks the PG about the payment once the answer is overdue and applies the cancel.
    let overdue = app
        .config
        .vendors
        .timeout_ms
        .saturating_add(app.config.reconcile.interval_ms);
    let check_at = app
        .now_ms()
        .saturating_add(i64::try_from(overdue).unwrap_or(i64::MAX / 4));
    app.store.schedule_check(stored.id, check_at).await?;
    let payment = gateway
        .cancel_payment(CancelPayment {
            uid: &stored.vendor.uid,
            amount: Some(price),
            reason: &input.reason,
            refund_account: input.account.as_ref(),
            idempotency_key: idempotency_key.as_deref(),
            balance: Some(balance),
        })
        .await?;
    let (current, _) = apply(&app, stored, &payment).await?;
    Ok(to_record(&app, &current)?)
}

/// What is left to cancel of a history: its transaction's balance once the payment is
/// approved (the core's cancel rule keeps it), otherwise — a payment still waiting for
/// its deposit, or a history recorded before transactions existed — the PG's price less
/// what was refunded.
async fn cancellable(app: &App, stored: &StoredHistory) -> Result<Money, HistoryError> {
    if let Some(row) = app.store.transaction_by_history(stored.id).await? {
        let transaction = transactions::open(app, &row)?.transaction;
        if matches!(
            transaction.status(),
            TransactionStatus::Approved | TransactionStatus::PartiallyCancelled
        ) {
            return Ok(transaction.balance());
        }
    }
    let refunded = stored
        .refund
        .unwrap_or_else(|| Money::zero(stored.price.currency()));
    stored
        .price
        .checked_sub(refunded)
        .map_err(|e| Internal::new(format!("history {}: {e}", stored.id)).into())
}

/// Applies the PG's view of a payment to its history: when anything changed, updates the
/// history and, in the same transaction, records a [`WebhookHistory`] and its delivery.
/// Applying the same view twice changes nothing the second time. A view older than the
/// stored one (fewer cancels) is ignored.
///
/// Returns the history as stored after, and whether it changed.
///
/// # Errors
/// Storage failures, or a stored value that does not open.
pub async fn apply(
    app: &App,
    mut stored: StoredHistory,
    payment: &VendorPayment,
) -> Result<(StoredHistory, bool), HistoryError> {
    // Masked once: the PG's view is the same on every round of the loop.
    let data = stored_data(&payment.raw);
    for _ in 0..8 {
        let stale = payment.cancelled_amount.amount() < stored.refund.map_or(0, |r| r.amount());
        if stale {
            return Ok((stored, false));
        }
        let previous = to_record(app, &stored)?;
        if previous.data == data {
            return Ok((stored, false));
        }
        let mut next = with_payment(app, &stored, payment, &data);
        let mut messages = Vec::new();
        if let Some(url) = &stored.webhook_url {
            // What was just sealed, without opening it again.
            let current = record_of(&next, data.clone(), payment.cancels.clone());
            let record = WebhookHistory {
                id: app.ids.uuid(),
                source: stored.source.clone(),
                previous: previous.snapshot(),
                current: current.snapshot(),
            };
            messages.push(NewMessage {
                id: record.id,
                kind: MessageKind::Webhook,
                history_id: Some(stored.id),
                // One history's changes reach the receiver in order: a receiver that
                // applies `current` must not end on an older state.
                stream: crate::store::webhook_stream(stored.id),
                body_sealed: app
                    .data_keys
                    .seal_json(&crate::at_rest::message_context(record.id), &record),
                url: url.clone(),
                envelope: stored.envelope,
                created_at: app.clock.now(),
            });
        }
        let mut transaction_write = None;
        if let Some(row) = app.store.transaction_by_history(stored.id).await? {
            let record = transactions::open(app, &row)?;
            let mut transaction = record.transaction.clone();
            let events = transactions::follow_payment(&mut transaction, payment, app.clock.now());
            if !events.is_empty() {
                let record =
                    transactions::record(transaction, record.kind, record.history_id, record.order);
                messages.extend(transactions::event_messages(app, events, &record));
                transaction_write = Some(TransactionWrite::Update(transactions::stored(
                    app,
                    &record,
                    &row.password_hash,
                    row.created_at,
                    row.version,
                )));
            }
        }
        if app
            .store
            .update_history(&next, transaction_write.as_ref(), &messages)
            .await?
        {
            next.version += 1;
            return Ok((next, true));
        }
        // Someone else updated it first: read it again and compare with that.
        stored = app
            .store
            .history_by_id(stored.id)
            .await?
            .ok_or_else(|| Internal::new("a history vanished during an update"))?;
    }
    Err(Internal::new("a history kept changing during an update").into())
}

/// Fetches a recorded payment from its PG and applies what changed.
///
/// # Errors
/// PG failures and storage failures.
pub async fn refresh(
    app: &App,
    stored: StoredHistory,
) -> Result<(StoredHistory, bool), HistoryError> {
    let gateway = app.gateway(stored.vendor.code, &stored.vendor.store_id)?;
    let payment = gateway.lookup_payment(&stored.vendor.uid).await?;
    apply(app, stored, &payment).await
}

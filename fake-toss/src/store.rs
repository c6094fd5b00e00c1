//! The fake's state and the business rules of every operation: the payment status machine,
//! cancels, virtual accounts, billing keys, cash receipts. All of it is synchronous and runs
//! under one short-held lock; events for webhooks are queued in `outbox` while it is held.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Datelike, Utc};
use fake_harness::Retention;
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde_json::{Value, json};

use crate::cards::builtin_decline;
use crate::clock::{kst, toss_time};
use crate::error::TossError;
use crate::fields::{self as rq};
use crate::model::{Billing, CashReceipt, Method, Payment, PaymentStatus};

/// How long an authenticated (widget) payment may wait for confirmation.
pub(crate) const CONFIRM_WINDOW_MINUTES: i64 = 30;
/// Default validity of an issued virtual account.
pub(crate) const DEFAULT_VALID_HOURS: i64 = 168;

/// A webhook event produced by a state change, drained by [`crate::state::Shared`].
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub event_type: &'static str,
    pub body: Value,
}

/// A one-time key standing for a card the "widget" authenticated (fake-only).
#[derive(Debug, Clone)]
pub(crate) struct AuthKey {
    pub(crate) customer_key: String,
    pub(crate) card_number: String,
}

/// Everything the fake remembers.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) payments: HashMap<String, Payment>,
    pub(crate) orders: HashMap<String, String>,
    pub(crate) billings: HashMap<String, Billing>,
    pub(crate) auth_keys: HashMap<String, AuthKey>,
    pub(crate) receipts: HashMap<String, CashReceipt>,
    pub(crate) declines: HashMap<String, TossError>,
    /// Which payments to forget under the `capacity` / `record_ttl` knobs.
    pub(crate) retention: Retention<String>,
    pub outbox: Vec<Outgoing>,
    /// Reproduce samchon's fake where it differs (see the README's table).
    pub(crate) samchon: bool,
}

pub(crate) fn random_alnum(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

pub(crate) fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.gen_range(0..16usize)]))
        .collect()
}

pub(crate) fn already_processed(p: &Payment) -> TossError {
    TossError::new(
        400,
        "ALREADY_PROCESSED_PAYMENT",
        format!(
            "이미 처리된 결제 입니다. (payment {} is {})",
            p.payment_key,
            p.status.as_str()
        ),
    )
}

impl Store {
    /// Adds (or replaces) a declined card for this instance.
    pub(crate) fn decline(&mut self, number: String, err: TossError) {
        self.declines.insert(number, err);
    }

    pub(crate) fn decline_for(&self, number: &str) -> Option<TossError> {
        self.declines
            .get(number)
            .cloned()
            .or_else(|| builtin_decline(number))
    }

    /// Re-renders the payment and announces its status, except `READY`/`IN_PROGRESS`
    /// (a widget payment waiting for confirmation concerns no one but its confirmer).
    pub(crate) fn emit_status(&mut self, key: &str, now: DateTime<Utc>) {
        if let Some(p) = self.payments.get_mut(key) {
            p.refresh();
            if matches!(p.status, PaymentStatus::Ready | PaymentStatus::InProgress) {
                return;
            }
            let body = json!({
                "eventType": "PAYMENT_STATUS_CHANGED",
                "createdAt": toss_time(now),
                "data": p.to_json(),
            });
            self.outbox.push(Outgoing {
                event_type: "PAYMENT_STATUS_CHANGED",
                body,
            });
        }
    }

    pub(crate) fn emit_deposit(&mut self, key: &str, now: DateTime<Utc>) {
        let Some(p) = self.payments.get(key) else {
            return;
        };
        let Method::VirtualAccount(acct) = &p.method else {
            return;
        };
        let body = json!({
            "createdAt": toss_time(now),
            "secret": acct.secret,
            "status": p.status.as_str(),
            "transactionKey": p.last_transaction_key,
            "orderId": p.order_id,
        });
        self.outbox.push(Outgoing {
            event_type: "DEPOSIT_CALLBACK",
            body,
        });
    }

    /// Expires one payment whose window passed; `true` if it changed.
    pub(crate) fn expire_one(&mut self, key: &str, now: DateTime<Utc>) -> bool {
        let Some(p) = self.payments.get_mut(key) else {
            return false;
        };
        let due = match (&p.status, &p.method) {
            (PaymentStatus::InProgress, _) => now > p.confirm_deadline,
            (PaymentStatus::WaitingForDeposit, Method::VirtualAccount(a)) => now > a.due_at,
            _ => false,
        };
        if due {
            p.status = PaymentStatus::Expired;
            self.emit_status(key, now);
        }
        due
    }

    /// Expires every payment whose window passed (after the clock moved).
    pub(crate) fn sweep(&mut self, now: DateTime<Utc>) {
        let keys: Vec<String> = self
            .payments
            .values()
            .filter(|p| {
                matches!(
                    p.status,
                    PaymentStatus::InProgress | PaymentStatus::WaitingForDeposit
                )
            })
            .map(|p| p.payment_key.clone())
            .collect();
        for key in keys {
            self.expire_one(&key, now);
        }
    }

    pub(crate) fn payment_mut(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<&mut Payment, TossError> {
        self.expire_one(key, now);
        self.payments
            .get_mut(key)
            .ok_or_else(|| TossError::payment_not_found(&format!("paymentKey {key:?}")))
    }

    pub(crate) fn check_new_order(&self, order_id: &str) -> Result<(), TossError> {
        rq::order_id(order_id)?;
        if self.orders.contains_key(order_id) {
            return Err(TossError::new(
                400,
                "DUPLICATED_ORDER_ID",
                format!(
                    "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. (orderId {order_id:?})"
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn insert(&mut self, mut p: Payment, now: DateTime<Utc>) -> Bytes {
        p.omit_other_methods = self.samchon;
        p.refresh();
        let key = p.payment_key.clone();
        self.orders.insert(p.order_id.clone(), key.clone());
        let rendered = p.rendered.clone();
        self.payments.insert(key.clone(), p);
        self.emit_status(&key, now);
        for gone in self.retention.insert(key, now) {
            self.forget(&gone);
        }
        rendered
    }

    /// Forgets the payments past their `record_ttl` (see [`Retention`]); run before every
    /// operation, so a lookup of an expired payment answers `NOT_FOUND_PAYMENT`.
    pub(crate) fn expire(&mut self, now: DateTime<Utc>) {
        for gone in self.retention.expired(now) {
            self.forget(&gone);
        }
    }

    /// Removes a payment with its order index and cash receipts, so nothing dangles.
    fn forget(&mut self, payment_key: &str) {
        if let Some(p) = self.payments.remove(payment_key)
            && self
                .orders
                .get(&p.order_id)
                .is_some_and(|k| k == payment_key)
        {
            self.orders.remove(&p.order_id);
        }
        self.receipts.retain(|_, r| r.payment_key != payment_key);
    }

    pub(crate) fn new_payment(
        order_id: String,
        order_name: String,
        method: Method,
        total: i64,
        tax_free: i64,
        now: DateTime<Utc>,
    ) -> Payment {
        let tx = random_hex(32);
        Payment {
            payment_key: format!("fake{}", random_alnum(36)),
            order_id,
            order_name,
            method,
            billing: false,
            status: PaymentStatus::Ready,
            total,
            balance: total,
            tax_free_balance: tax_free,
            requested_at: now,
            approved_at: None,
            transaction_key: tx.clone(),
            last_transaction_key: tx,
            cancels: Vec::new(),
            cash_receipt: None,
            confirm_deadline: now + chrono::Duration::minutes(CONFIRM_WINDOW_MINUTES),
            rendered: Bytes::new(),
            omit_other_methods: false,
        }
    }

    pub(crate) fn tax_free(v: Option<f64>, total: i64) -> Result<i64, TossError> {
        let tf = rq::whole("taxFreeAmount", v.unwrap_or(0.0))?;
        if tf > total {
            return Err(TossError::invalid(format!(
                "taxFreeAmount: {tf} exceeds the amount {total}"
            )));
        }
        Ok(tf)
    }
}

/// Rejects a card whose expiry month lies before `now`.
pub(crate) fn check_not_expired(
    year: i32,
    month: u32,
    now: DateTime<Utc>,
) -> Result<(), TossError> {
    let today = now.with_timezone(&kst());
    if (year, month) < (today.year(), today.month()) {
        return Err(TossError::new(
            400,
            "INVALID_CARD_EXPIRATION",
            format!("cardExpirationYear/Month: the card expired in {year}-{month:02}"),
        ));
    }
    Ok(())
}

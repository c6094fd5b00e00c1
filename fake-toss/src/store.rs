//! The fake's state and the business rules of every operation: the payment status machine,
//! cancels, virtual accounts, billing keys, cash receipts. All of it is synchronous and runs
//! under one short-held lock; events for webhooks are queued in `outbox` while it is held.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde_json::{Value, json};

use crate::cards::builtin_decline;
use crate::clock::{kst, toss_time};
use crate::error::TossError;
use crate::model::{
    AccountInfo, Billing, Cancel, CardInfo, CashReceipt, Method, Payment, PaymentStatus,
    ReceiptSummary, split_vat,
};
use crate::requests::{self as rq};

/// How long an authenticated (widget) payment may wait for confirmation.
const CONFIRM_WINDOW_MINUTES: i64 = 30;
/// Default validity of an issued virtual account.
const DEFAULT_VALID_HOURS: i64 = 168;

/// A webhook event produced by a state change, drained by [`crate::state::Shared`].
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub event_type: &'static str,
    pub body: Value,
}

/// A one-time key standing for a card the "widget" authenticated (fake-only).
#[derive(Debug, Clone)]
struct AuthKey {
    customer_key: String,
    card_number: String,
}

/// Everything the fake remembers.
#[derive(Debug, Default)]
pub(crate) struct Store {
    payments: HashMap<String, Payment>,
    orders: HashMap<String, String>,
    billings: HashMap<String, Billing>,
    auth_keys: HashMap<String, AuthKey>,
    receipts: HashMap<String, CashReceipt>,
    declines: HashMap<String, TossError>,
    pub outbox: Vec<Outgoing>,
}

fn random_alnum(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn random_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.gen_range(0..16usize)]))
        .collect()
}

fn already_processed(p: &Payment) -> TossError {
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
    // ---- helpers -------------------------------------------------------------------

    /// Adds (or replaces) a declined card for this instance.
    pub(crate) fn decline(&mut self, number: String, err: TossError) {
        self.declines.insert(number, err);
    }

    fn decline_for(&self, number: &str) -> Option<TossError> {
        self.declines
            .get(number)
            .cloned()
            .or_else(|| builtin_decline(number))
    }

    /// Re-renders the payment and announces its status, except `READY`/`IN_PROGRESS`
    /// (a widget payment waiting for confirmation concerns no one but its confirmer).
    fn emit_status(&mut self, key: &str, now: DateTime<Utc>) {
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

    fn emit_deposit(&mut self, key: &str, now: DateTime<Utc>) {
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
    fn expire_one(&mut self, key: &str, now: DateTime<Utc>) -> bool {
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

    fn payment_mut(&mut self, key: &str, now: DateTime<Utc>) -> Result<&mut Payment, TossError> {
        self.expire_one(key, now);
        self.payments
            .get_mut(key)
            .ok_or_else(|| TossError::payment_not_found(&format!("paymentKey {key:?}")))
    }

    fn check_new_order(&self, order_id: &str) -> Result<(), TossError> {
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

    fn insert(&mut self, mut p: Payment, now: DateTime<Utc>) -> Bytes {
        p.refresh();
        let key = p.payment_key.clone();
        self.orders.insert(p.order_id.clone(), key.clone());
        let rendered = p.rendered.clone();
        self.payments.insert(key.clone(), p);
        self.emit_status(&key, now);
        rendered
    }

    fn new_payment(
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
        }
    }

    fn tax_free(v: Option<f64>, total: i64) -> Result<i64, TossError> {
        let tf = rq::whole("taxFreeAmount", v.unwrap_or(0.0))?;
        if tf > total {
            return Err(TossError::invalid(format!(
                "taxFreeAmount: {tf} exceeds the amount {total}"
            )));
        }
        Ok(tf)
    }

    // ---- reads ---------------------------------------------------------------------

    /// The payment's current JSON.
    pub(crate) fn get(&mut self, key: &str, now: DateTime<Utc>) -> Result<Bytes, TossError> {
        Ok(self.payment_mut(key, now)?.rendered.clone())
    }

    /// The payment of an order.
    pub(crate) fn get_by_order(
        &mut self,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        let key = self
            .orders
            .get(order_id)
            .cloned()
            .ok_or_else(|| TossError::payment_not_found(&format!("orderId {order_id:?}")))?;
        self.get(&key, now)
    }

    // ---- card payments -------------------------------------------------------------

    /// `POST /v1/payments/key-in`.
    pub(crate) fn key_in(&mut self, r: rq::KeyIn, now: DateTime<Utc>) -> Result<Bytes, TossError> {
        if let Some(m) = r.method.as_deref().filter(|m| *m != "card") {
            return Err(TossError::invalid(format!(
                "method: must be \"card\", got {m:?}"
            )));
        }
        rq::card_number(&r.card_number)?;
        let (year, month) = rq::card_expiry(&r.card_expiration_year, &r.card_expiration_month)?;
        let total = rq::amount("amount", r.amount)?;
        let tax_free = Self::tax_free(r.tax_free_amount, total)?;
        let months = rq::installment(r.card_installment_plan)?;
        self.check_new_order(&r.order_id)?;
        let order_name = r.order_name.unwrap_or_else(|| "fake order".to_owned());
        rq::text("orderName", &order_name, 100)?;
        check_not_expired(year, month, now)?;
        let widget = r.approved == Some(false);
        if !widget && let Some(err) = self.decline_for(&r.card_number) {
            return Err(err);
        }
        let card = CardInfo {
            number: r.card_number,
            installment_months: months,
            approve_no: random_digits(8),
        };
        let mut p = Self::new_payment(
            r.order_id,
            order_name,
            Method::Card(card),
            total,
            tax_free,
            now,
        );
        if widget {
            p.status = PaymentStatus::InProgress;
        } else {
            p.status = PaymentStatus::Done;
            p.approved_at = Some(now);
        }
        Ok(self.insert(p, now))
    }

    /// `POST /v1/payments/confirm` and `POST /v1/payments/{paymentKey}`.
    pub(crate) fn confirm(
        &mut self,
        key: &str,
        order_id: &str,
        amount: f64,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        let amount = rq::amount("amount", amount)?;
        let decline = {
            let p = self.payment_mut(key, now)?;
            match p.status {
                PaymentStatus::InProgress | PaymentStatus::Ready => {}
                PaymentStatus::Expired => {
                    return Err(TossError::new(
                        404,
                        "NOT_FOUND_PAYMENT_SESSION",
                        format!(
                            "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다. (payment {key} expired)"
                        ),
                    ));
                }
                _ => return Err(already_processed(p)),
            }
            if p.order_id != order_id {
                return Err(TossError::new(
                    403,
                    "FORBIDDEN_REQUEST",
                    format!(
                        "허용되지 않은 요청입니다. (orderId {order_id:?} does not match the payment's orderId)"
                    ),
                ));
            }
            if p.total != amount {
                return Err(TossError::invalid(format!(
                    "amount: {amount} does not match the payment's totalAmount {}",
                    p.total
                )));
            }
            match &p.method {
                Method::Card(c) => c.number.clone(),
                Method::VirtualAccount(_) => String::new(),
            }
        };
        let declined = if decline.is_empty() {
            None
        } else {
            self.decline_for(&decline)
        };
        let p = self.payment_mut(key, now)?;
        if let Some(err) = declined {
            p.status = PaymentStatus::Aborted;
            self.emit_status(key, now);
            return Err(err);
        }
        match p.method {
            Method::Card(_) => {
                p.status = PaymentStatus::Done;
                p.approved_at = Some(now);
            }
            Method::VirtualAccount(_) => p.status = PaymentStatus::WaitingForDeposit,
        }
        self.emit_status(key, now);
        self.get(key, now)
    }

    // ---- cancels -------------------------------------------------------------------

    /// `POST /v1/payments/{paymentKey}/cancel`.
    pub(crate) fn cancel(
        &mut self,
        key: &str,
        r: rq::CancelReq,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        if let Some(body_key) = r.payment_key.as_deref().filter(|k| *k != key) {
            return Err(TossError::invalid(format!(
                "paymentKey: body names {body_key:?} but the path names {key:?}"
            )));
        }
        rq::text("cancelReason", &r.cancel_reason, 200)?;
        let requested = r
            .cancel_amount
            .map(|a| rq::amount("cancelAmount", a))
            .transpose()?;
        let refundable = r
            .refundable_amount
            .map(|a| rq::whole("refundableAmount", a))
            .transpose()?;
        let tax_free = rq::whole("taxFreeAmount", r.tax_free_amount.unwrap_or(0.0))?;
        let p = self.payment_mut(key, now)?;
        match p.status {
            PaymentStatus::Done | PaymentStatus::PartialCanceled => {}
            PaymentStatus::WaitingForDeposit => {
                if requested.is_some_and(|a| a != p.balance) {
                    return Err(TossError::new(
                        403,
                        "NOT_CANCELABLE_AMOUNT",
                        "취소 할 수 없는 금액 입니다. (a virtual account awaiting deposit can only be cancelled in full)",
                    ));
                }
            }
            PaymentStatus::Canceled => {
                return Err(TossError::new(
                    400,
                    "ALREADY_CANCELED_PAYMENT",
                    format!("이미 취소된 결제 입니다. (payment {key})"),
                ));
            }
            other => {
                return Err(TossError::new(
                    403,
                    "NOT_CANCELABLE_PAYMENT",
                    format!(
                        "취소 할 수 없는 결제 입니다. (payment {key} is {})",
                        other.as_str()
                    ),
                ));
            }
        }
        let amount = requested.unwrap_or(p.balance);
        if amount > p.balance {
            return Err(TossError::new(
                403,
                "NOT_CANCELABLE_AMOUNT",
                format!(
                    "취소 할 수 없는 금액 입니다. (cancelAmount {amount} exceeds balanceAmount {})",
                    p.balance
                ),
            ));
        }
        if let Some(expected) = refundable.filter(|r| *r != p.balance) {
            return Err(TossError::new(
                403,
                "NOT_MATCHES_REFUNDABLE_AMOUNT",
                format!(
                    "잔액 결과가 일치하지 않습니다. (refundableAmount {expected} but balanceAmount is {})",
                    p.balance
                ),
            ));
        }
        if tax_free > amount || tax_free > p.tax_free_balance {
            return Err(TossError::invalid(format!(
                "taxFreeAmount: {tax_free} exceeds the cancel amount or the remaining tax-free amount {}",
                p.tax_free_balance
            )));
        }
        let deposited = p.approved_at.is_some();
        if let Method::VirtualAccount(acct) = &mut p.method
            && deposited
        {
            let Some(account) = r.refund_receive_account else {
                return Err(TossError::new(
                    400,
                    "INVALID_REFUND_ACCOUNT_INFO",
                    "refundReceiveAccount: required to refund a deposited virtual account",
                ));
            };
            check_refund_account(&account)?;
            acct.refund_account = serde_json::to_value(&account).ok();
        }
        let tx = random_hex(32);
        let (_, tax) = split_vat(amount - tax_free);
        p.balance -= amount;
        p.tax_free_balance -= tax_free;
        p.last_transaction_key = tx.clone();
        p.cancels.push(Cancel {
            transaction_key: tx,
            amount,
            reason: r.cancel_reason,
            tax_free,
            tax,
            refundable_after: p.balance,
            at: now,
        });
        p.status = if p.balance == 0 {
            PaymentStatus::Canceled
        } else {
            PaymentStatus::PartialCanceled
        };
        self.emit_status(key, now);
        self.get(key, now)
    }

    // ---- virtual accounts ----------------------------------------------------------

    /// `POST /v1/virtual-accounts`.
    pub(crate) fn issue_virtual_account(
        &mut self,
        r: rq::VirtualAccountReq,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        if let Some(m) = r.method.as_deref().filter(|m| *m != "virtual-account") {
            return Err(TossError::invalid(format!(
                "method: must be \"virtual-account\", got {m:?}"
            )));
        }
        let total = rq::amount("amount", r.amount)?;
        let tax_free = Self::tax_free(r.tax_free_amount, total)?;
        rq::text("orderName", &r.order_name, 100)?;
        rq::text("bank", &r.bank, 20)?;
        rq::text("customerName", &r.customer_name, 100)?;
        self.check_new_order(&r.order_id)?;
        let due_at = match (&r.due_date, r.valid_hours) {
            (Some(_), Some(_)) => {
                return Err(TossError::invalid(
                    "dueDate, validHours: give at most one of them",
                ));
            }
            (Some(d), None) => parse_due_date(d)?,
            (None, hours) => {
                let h = rq::amount("validHours", hours.unwrap_or(168.0))?;
                if h > 720 {
                    return Err(TossError::invalid(format!(
                        "validHours: must be at most 720, got {h}"
                    )));
                }
                now + chrono::Duration::hours(if hours.is_some() {
                    h
                } else {
                    DEFAULT_VALID_HOURS
                })
            }
        };
        if due_at <= now {
            return Err(TossError::invalid("dueDate: must be in the future"));
        }
        let acct = AccountInfo {
            account_number: random_digits(14),
            bank: r.bank,
            customer_name: r.customer_name,
            due_at,
            secret: random_alnum(24),
            refund_account: None,
        };
        let mut p = Self::new_payment(
            r.order_id,
            r.order_name,
            Method::VirtualAccount(acct),
            total,
            tax_free,
            now,
        );
        p.status = if r.approved == Some(false) {
            PaymentStatus::InProgress
        } else {
            PaymentStatus::WaitingForDeposit
        };
        Ok(self.insert(p, now))
    }

    /// Fake-only: the customer deposits into a virtual account.
    pub(crate) fn deposit(&mut self, key: &str, now: DateTime<Utc>) -> Result<Bytes, TossError> {
        let p = self.payment_mut(key, now)?;
        if !matches!(p.method, Method::VirtualAccount(_)) {
            return Err(TossError::invalid(format!(
                "paymentKey: payment {key} is not a virtual-account payment"
            )));
        }
        match p.status {
            PaymentStatus::WaitingForDeposit => {}
            PaymentStatus::Expired => {
                return Err(TossError::new(
                    400,
                    "EXPIRED_VIRTUAL_ACCOUNT",
                    format!("virtual account of payment {key} expired; no deposit accepted"),
                ));
            }
            PaymentStatus::InProgress | PaymentStatus::Ready => {
                return Err(TossError::invalid(format!(
                    "payment {key} is not confirmed yet; confirm it before depositing"
                )));
            }
            _ => return Err(already_processed(p)),
        }
        p.status = PaymentStatus::Done;
        p.approved_at = Some(now);
        let tx = random_hex(32);
        p.last_transaction_key = tx;
        self.emit_status(key, now);
        self.emit_deposit(key, now);
        self.get(key, now)
    }

    // ---- billing -------------------------------------------------------------------

    fn register_billing(
        &mut self,
        customer_key: String,
        card_number: String,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        if let Some(err) = self.decline_for(&card_number) {
            return Err(err);
        }
        let b = Billing {
            billing_key: random_alnum(40),
            customer_key,
            card_number,
            authenticated_at: now,
        };
        let json = b.to_json();
        self.billings.insert(b.billing_key.clone(), b);
        Ok(json)
    }

    /// `POST /v1/billing/authorizations/card`.
    pub(crate) fn billing_card(
        &mut self,
        r: rq::BillingCardReq,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        rq::card_number(&r.card_number)?;
        let (year, month) = rq::card_expiry(&r.card_expiration_year, &r.card_expiration_month)?;
        rq::customer_key(&r.customer_key)?;
        check_not_expired(year, month, now)?;
        self.register_billing(r.customer_key, r.card_number, now)
    }

    /// Fake-only: what the payment widget does in a browser — authenticate a card for a
    /// customer and hand back a one-time `authKey`.
    pub(crate) fn create_auth_key(&mut self, r: rq::AuthKeyReq) -> Result<Value, TossError> {
        rq::customer_key(&r.customer_key)?;
        rq::card_number(&r.card_number)?;
        let auth_key = format!("fakeauth_{}", random_alnum(24));
        self.auth_keys.insert(
            auth_key.clone(),
            AuthKey {
                customer_key: r.customer_key.clone(),
                card_number: r.card_number,
            },
        );
        Ok(json!({ "authKey": auth_key, "customerKey": r.customer_key }))
    }

    /// `POST /v1/billing/authorizations/issue`.
    pub(crate) fn issue_billing(
        &mut self,
        r: rq::IssueReq,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        rq::customer_key(&r.customer_key)?;
        let Some(auth) = self.auth_keys.get(&r.auth_key).cloned() else {
            return Err(TossError::new(
                400,
                "INVALID_AUTH_KEY",
                format!("authKey: {:?} is unknown or already used", r.auth_key),
            ));
        };
        if auth.customer_key != r.customer_key {
            return Err(not_matches_customer_key());
        }
        self.auth_keys.remove(&r.auth_key);
        self.register_billing(r.customer_key, auth.card_number, now)
    }

    fn billing(&self, billing_key: &str, customer_key: &str) -> Result<&Billing, TossError> {
        let b = self.billings.get(billing_key).ok_or_else(|| {
            TossError::new(
                404,
                "NOT_FOUND_BILLING_KEY",
                format!("billingKey: no billing key {billing_key:?}"),
            )
        })?;
        if b.customer_key != customer_key {
            return Err(not_matches_customer_key());
        }
        Ok(b)
    }

    /// `POST /v1/billing/authorizations/{billingKey}`: read a billing key back.
    pub(crate) fn read_billing(
        &self,
        billing_key: &str,
        r: &rq::CustomerKeyReq,
    ) -> Result<Value, TossError> {
        self.billing(billing_key, &r.customer_key)
            .map(Billing::to_json)
    }

    /// `POST /v1/billing/{billingKey}`: charge a billing key.
    pub(crate) fn charge(
        &mut self,
        billing_key: &str,
        r: rq::ChargeReq,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        if let Some(m) = r.method.as_deref().filter(|m| *m != "billing") {
            return Err(TossError::invalid(format!(
                "method: must be \"billing\", got {m:?}"
            )));
        }
        if let Some(k) = r.billing_key.as_deref().filter(|k| *k != billing_key) {
            return Err(TossError::invalid(format!(
                "billingKey: body names {k:?} but the path names {billing_key:?}"
            )));
        }
        let total = rq::amount("amount", r.amount)?;
        let tax_free = Self::tax_free(r.tax_free_amount, total)?;
        let months = rq::installment(r.card_installment_plan)?;
        let card_number = self
            .billing(billing_key, &r.customer_key)?
            .card_number
            .clone();
        self.check_new_order(&r.order_id)?;
        let order_name = r
            .order_name
            .unwrap_or_else(|| "fake billing order".to_owned());
        rq::text("orderName", &order_name, 100)?;
        if let Some(err) = self.decline_for(&card_number) {
            return Err(err);
        }
        let card = CardInfo {
            number: card_number,
            installment_months: months,
            approve_no: random_digits(8),
        };
        let mut p = Self::new_payment(
            r.order_id,
            order_name,
            Method::Card(card),
            total,
            tax_free,
            now,
        );
        p.billing = true;
        p.status = PaymentStatus::Done;
        p.approved_at = Some(now);
        Ok(self.insert(p, now))
    }

    // ---- cash receipts -------------------------------------------------------------

    /// `POST /v1/cash-receipts`.
    pub(crate) fn issue_cash_receipt(
        &mut self,
        r: rq::CashReceiptReq,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        if r.kind != "소득공제" && r.kind != "지출증빙" {
            return Err(TossError::invalid(format!(
                "type: must be \"소득공제\" or \"지출증빙\", got {:?}",
                r.kind
            )));
        }
        let number = r
            .registration_number
            .as_deref()
            .or(r.customer_identity_number.as_deref())
            .ok_or_else(|| TossError::invalid("registrationNumber: required"))?;
        let digits: String = number.chars().filter(|c| *c != '-').collect();
        if !(10..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TossError::new(
                400,
                "INVALID_REGISTRATION_NUMBER",
                format!(
                    "registrationNumber: must be a phone, business or card number of 10-19 digits, got {number:?}"
                ),
            ));
        }
        let amount = rq::amount("amount", r.amount)?;
        let tax_free = Self::tax_free(r.tax_free_amount, amount)?;
        rq::text("orderName", &r.order_name, 100)?;
        rq::text("orderId", &r.order_id, 64)?;
        let payment_key = r.payment_key.clone().unwrap_or_default();
        if !payment_key.is_empty() {
            let p = self.payment_mut(&payment_key, now)?;
            if p.order_id != r.order_id {
                return Err(TossError::invalid(format!(
                    "orderId: {:?} is not the orderId of payment {payment_key}",
                    r.order_id
                )));
            }
            if matches!(p.method, Method::Card(_)) {
                return Err(TossError::new(
                    400,
                    "NOT_SUPPORTED_METHOD",
                    "cash receipts are issued for cash payments (virtual account, transfer), not cards",
                ));
            }
            if !matches!(
                p.status,
                PaymentStatus::Done | PaymentStatus::PartialCanceled
            ) {
                return Err(TossError::invalid(format!(
                    "paymentKey: payment {payment_key} is {}, a cash receipt needs a paid payment",
                    p.status.as_str()
                )));
            }
            if p.cash_receipt.is_some() {
                return Err(TossError::new(
                    400,
                    "ALREADY_ISSUED_CASH_RECEIPT",
                    format!("payment {payment_key} already has a cash receipt"),
                ));
            }
            if amount > p.balance {
                return Err(TossError::invalid(format!(
                    "amount: {amount} exceeds the payment's balanceAmount {}",
                    p.balance
                )));
            }
        }
        let receipt = CashReceipt {
            receipt_key: format!("fakercpt{}", random_alnum(24)),
            kind: r.kind,
            payment_key: payment_key.clone(),
            order_id: r.order_id,
            order_name: r.order_name,
            approval_number: random_digits(9),
            amount,
            tax_free,
            canceled_amount: 0,
            approved_at: now,
            canceled_at: None,
        };
        if let Some(p) = self.payments.get_mut(&payment_key) {
            p.cash_receipt = Some(ReceiptSummary {
                receipt_key: receipt.receipt_key.clone(),
                kind: receipt.kind.clone(),
                amount,
                tax_free,
                issue_number: receipt.approval_number.clone(),
                url: receipt.url(),
            });
            p.refresh();
        }
        let json = receipt.to_json();
        self.receipts.insert(receipt.receipt_key.clone(), receipt);
        Ok(json)
    }

    /// `POST /v1/cash-receipts/{receiptKey}/cancel`.
    pub(crate) fn cancel_cash_receipt(
        &mut self,
        receipt_key: &str,
        r: &rq::CashReceiptCancelReq,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        let requested = r.amount.map(|a| rq::amount("amount", a)).transpose()?;
        let receipt = self.receipts.get_mut(receipt_key).ok_or_else(|| {
            TossError::new(
                404,
                "NOT_FOUND_CASH_RECEIPT",
                format!("receiptKey: no cash receipt {receipt_key:?}"),
            )
        })?;
        let remaining = receipt.amount - receipt.canceled_amount;
        if remaining == 0 {
            return Err(TossError::new(
                400,
                "ALREADY_CANCELED_CASH_RECEIPT",
                format!("cash receipt {receipt_key} is already cancelled"),
            ));
        }
        let amount = requested.unwrap_or(remaining);
        if amount > remaining {
            return Err(TossError::new(
                403,
                "NOT_CANCELABLE_AMOUNT",
                format!(
                    "취소 할 수 없는 금액 입니다. (amount {amount} exceeds the receipt's remaining {remaining})"
                ),
            ));
        }
        receipt.canceled_amount += amount;
        let left = receipt.amount - receipt.canceled_amount;
        if left == 0 {
            receipt.canceled_at = Some(now);
        }
        let json = receipt.to_json();
        let payment_key = receipt.payment_key.clone();
        if let Some(p) = self.payments.get_mut(&payment_key) {
            if left == 0 {
                p.cash_receipt = None;
            } else if let Some(s) = p.cash_receipt.as_mut() {
                s.amount = left;
            }
            p.refresh();
        }
        Ok(json)
    }
}

fn not_matches_customer_key() -> TossError {
    TossError::new(
        403,
        "NOT_MATCHES_CUSTOMER_KEY",
        "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다. (customerKey does not match the billing key's)",
    )
}

fn check_refund_account(a: &rq::RefundAccount) -> Result<(), TossError> {
    let bad = |m: String| TossError::new(400, "INVALID_REFUND_ACCOUNT_INFO", m);
    if a.bank.trim().is_empty() {
        return Err(bad("refundReceiveAccount.bank: must not be empty".into()));
    }
    if a.account_number.is_empty()
        || a.account_number.len() > 20
        || !a.account_number.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad(format!(
            "refundReceiveAccount.accountNumber: must be 1-20 digits, got {:?}",
            a.account_number
        )));
    }
    if a.holder_name.trim().is_empty() {
        return Err(bad(
            "refundReceiveAccount.holderName: must not be empty".into()
        ));
    }
    Ok(())
}

/// Rejects a card whose expiry month lies before `now`.
fn check_not_expired(year: i32, month: u32, now: DateTime<Utc>) -> Result<(), TossError> {
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

/// A due date as RFC 3339 or a `YYYY-MM-DD` date (the end of that day in Korea).
fn parse_due_date(v: &str) -> Result<DateTime<Utc>, TossError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    let bad = || {
        TossError::invalid(format!(
            "dueDate: must be RFC 3339 or YYYY-MM-DD, got {v:?}"
        ))
    };
    let date = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad())?;
    let end = date.and_hms_opt(23, 59, 59).ok_or_else(bad)?;
    kst()
        .from_local_datetime(&end)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(bad)
}

//! Payments: pre-registration, the payment window (checkout), instant card and virtual
//! account payments, billing-key payments, deposits, cancels, closing a virtual account,
//! webhook resends, transactions and the list.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::World;
use crate::amount::{Amounts, CancelAsk};
use crate::cards::{Card, Decline};
use crate::checkout::{Checkout, CheckoutAmount, CheckoutMethod, TEST_CARD};
use crate::error::{ErrorKind, PortOneError};
use crate::ids::{new_id, ts};
use crate::payment::{Cancellation, Method, Payment, PaymentStatus, SentWebhook, VirtualAccount};
use crate::requests::{
    AmountInput, BillingKeyPayBody, CancelBody, CustomerInput, GetPaymentsBody, InstantBody,
    PreRegisterBody,
};

/// What `pre-register` recorded for a `paymentId`: the amounts the window must charge.
#[derive(Debug, Clone)]
pub(crate) struct PreRegistration {
    total: Option<i64>,
    tax_free: Option<i64>,
    currency: Option<String>,
}

/// How long a virtual account waits for its deposit unless the request says.
const DEFAULT_VA_HOURS: i64 = 168;

type Key = (String, String);

/// The parts of a new payment attempt every way of paying shares.
struct Attempt {
    order_name: String,
    amounts: Amounts,
    currency: String,
    customer: Value,
    custom_data: Option<String>,
    notice_urls: Vec<String>,
    channel: Value,
    platform: &'static str,
    billing_key: Option<String>,
    schedule_id: Option<String>,
}

fn not_found(id: &str) -> PortOneError {
    PortOneError::new(
        ErrorKind::PaymentNotFound,
        format!("no payment with paymentId {id:?} in this store"),
    )
}

fn check_text(field: &str, v: &str) -> Result<(), PortOneError> {
    if v.trim().is_empty() {
        return Err(PortOneError::invalid(format!("{field} must not be empty")));
    }
    Ok(())
}

fn check_currency(v: &str) -> Result<(), PortOneError> {
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(PortOneError::invalid(format!(
            "currency must be an ISO 4217 code such as KRW, got {v:?}"
        )))
    }
}

fn check_bank(field: &str, v: &str) -> Result<(), PortOneError> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        Ok(())
    } else {
        Err(PortOneError::invalid(format!(
            "{field} must be a Bank code such as SHINHAN or KOOKMIN, got {v:?}"
        )))
    }
}

fn amounts_of(a: AmountInput) -> Result<Amounts, PortOneError> {
    Amounts::new(a.total, a.tax_free, a.vat)
}

fn customer_json(c: Option<&CustomerInput>) -> Value {
    c.map_or_else(|| json!({}), CustomerInput::render)
}

impl World {
    /// A payment of `store_id`.
    ///
    /// # Errors
    /// `404 PAYMENT_NOT_FOUND` when the store has no such `paymentId`.
    pub fn payment(&self, store_id: &str, id: &str) -> Result<&Payment, PortOneError> {
        self.payments
            .get(&(store_id.to_owned(), id.to_owned()))
            .ok_or_else(|| not_found(id))
    }

    /// A payment to change: its cached rendering is dropped.
    pub(super) fn payment_mut(&mut self, key: &Key) -> Result<&mut Payment, PortOneError> {
        let p = self
            .payments
            .get_mut(key)
            .ok_or_else(|| not_found(&key.1))?;
        p.rendered = None;
        Ok(p)
    }

    /// The payment as `GET /payments/{paymentId}` answers it, serialised (cached).
    ///
    /// # Errors
    /// `404 PAYMENT_NOT_FOUND`.
    pub fn payment_bytes(
        &mut self,
        store_id: &str,
        id: &str,
    ) -> Result<bytes::Bytes, PortOneError> {
        self.payments
            .get_mut(&(store_id.to_owned(), id.to_owned()))
            .map(Payment::render_bytes)
            .ok_or_else(|| not_found(id))
    }

    /// Refuses a new attempt on a payment that is paid or awaiting a deposit.
    fn check_payable(&self, key: &Key) -> Result<(), PortOneError> {
        match self.payments.get(key).map(|p| p.status) {
            None | Some(PaymentStatus::Ready | PaymentStatus::Failed) => Ok(()),
            Some(s) => Err(PortOneError::new(
                ErrorKind::AlreadyPaid,
                format!("payment {:?} is already {}", key.1, s.as_str()),
            )),
        }
    }

    /// `Some(reason)` when the amounts differ from the pre-registered ones.
    fn pre_registration_mismatch(&self, key: &Key, a: &Amounts, currency: &str) -> Option<String> {
        let pre = self.pre_registered.get(key)?;
        if pre.total.is_some_and(|t| t != a.total) {
            return Some(format!(
                "amount.total {} differs from the pre-registered totalAmount {}",
                a.total,
                pre.total.unwrap_or_default()
            ));
        }
        if pre.tax_free.is_some_and(|t| t != a.tax_free) {
            return Some(format!(
                "amount.taxFree {} differs from the pre-registered taxFreeAmount {}",
                a.tax_free,
                pre.tax_free.unwrap_or_default()
            ));
        }
        if pre.currency.as_deref().is_some_and(|c| c != currency) {
            return Some(format!(
                "currency {currency} differs from the pre-registered currency {}",
                pre.currency.clone().unwrap_or_default()
            ));
        }
        None
    }

    /// Creates the payment, or starts a new attempt of a `READY`/`FAILED` one.
    fn start_attempt(&mut self, key: &Key, a: Attempt, now: DateTime<Utc>) -> &mut Payment {
        self.retain(key, now);
        let seq = self.next_seq();
        let merchant_id = self.merchant_id(&key.0);
        let transaction_id = new_id("");
        let p = self.payments.entry(key.clone()).or_insert_with(|| Payment {
            seq,
            store_id: key.0.clone(),
            merchant_id,
            id: key.1.clone(),
            transaction_id: String::new(),
            status: PaymentStatus::Ready,
            method: None,
            channel: Value::Null,
            platform: "API",
            order_name: String::new(),
            amounts: a.amounts,
            currency: String::new(),
            customer: Value::Null,
            custom_data: None,
            notice_urls: Vec::new(),
            billing_key: None,
            schedule_id: None,
            requested_at: now,
            updated_at: now,
            status_changed_at: now,
            paid_at: None,
            failed_at: None,
            failure: None,
            cancelled_at: None,
            cancellations: Vec::new(),
            pg_tx_id: None,
            webhooks: Vec::new(),
            history: Vec::new(),
            rendered: None,
        });
        p.rendered = None;
        p.new_attempt(transaction_id, now);
        p.order_name = a.order_name;
        p.amounts = a.amounts;
        p.currency = a.currency;
        p.customer = a.customer;
        p.custom_data = a.custom_data;
        p.notice_urls = a.notice_urls;
        p.channel = a.channel;
        p.platform = a.platform;
        p.billing_key = a.billing_key;
        p.schedule_id = a.schedule_id;
        p.method = None;
        p
    }

    /// Ends an attempt: paid (or the virtual account issued), or failed with `decline`;
    /// sends the webhook unless `skip_webhook`.
    fn settle(
        &mut self,
        key: &Key,
        method: Method,
        decline: Option<&Decline>,
        skip_webhook: bool,
        now: DateTime<Utc>,
    ) -> Result<&Payment, PortOneError> {
        let p = self.payment_mut(key)?;
        let is_va = matches!(method, Method::VirtualAccount(_));
        p.method = Some(method);
        match decline {
            Some(d) => p.fail(d, now),
            None if is_va => {
                p.pg_tx_id = Some(new_id("pg-"));
                p.set_status(PaymentStatus::VirtualAccountIssued, now);
            }
            None => {
                p.pg_tx_id = Some(new_id("pg-"));
                p.pay(now);
            }
        }
        if !skip_webhook {
            self.emit_payment(key, None, now);
        }
        self.payment(&key.0, &key.1)
    }

    /// `POST /payments/{paymentId}/pre-register`.
    ///
    /// # Errors
    /// `409 ALREADY_PAID` for a paid payment; `400 INVALID_REQUEST` for bad amounts.
    pub fn pre_register(
        &mut self,
        store_id: &str,
        id: &str,
        body: PreRegisterBody,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        self.check_payable(&key)?;
        if let Some(total) = body.total_amount {
            Amounts::new(total, body.tax_free_amount, None)?;
        }
        if let Some(c) = &body.currency {
            check_currency(c)?;
        }
        self.pre_registered.insert(
            key,
            PreRegistration {
                total: body.total_amount,
                tax_free: body.tax_free_amount,
                currency: body.currency,
            },
        );
        Ok(json!({}))
    }

    /// `POST /payments/{paymentId}/instant`: a server-side card payment or virtual account.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` (bad field, amounts differing from the pre-registration),
    /// `409 ALREADY_PAID`, `409 SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT`, `404
    /// CHANNEL_NOT_FOUND`, `502 PG_PROVIDER` for a declined card (the payment is `FAILED`).
    pub fn instant(
        &mut self,
        store_id: &str,
        id: &str,
        body: InstantBody,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        check_text("orderName", &body.order_name)?;
        check_currency(&body.currency)?;
        let amounts = amounts_of(body.amount)?;
        let channel = self.channel(body.channel_key.as_deref())?;
        let method = match (body.method.card, body.method.virtual_account) {
            (Some(card), None) => {
                let c = &card.credential;
                let parsed = Card::parse(
                    "method.card.credential",
                    &c.number,
                    &c.expiry_year,
                    &c.expiry_month,
                )?;
                Method::Card {
                    card: parsed,
                    installment_month: card.installment_month.unwrap_or(0),
                }
            }
            (None, Some(va)) => {
                check_bank("method.virtualAccount.bank", &va.bank)?;
                let expired_at = match (va.expiry.due_date, va.expiry.valid_hours) {
                    (Some(due), _) => due,
                    (None, Some(h)) if h > 0 => now + chrono::Duration::hours(h),
                    (None, Some(h)) => {
                        return Err(PortOneError::invalid(format!(
                            "method.virtualAccount.expiry.validHours must be positive, got {h}"
                        )));
                    }
                    (None, None) => now + chrono::Duration::hours(DEFAULT_VA_HOURS),
                };
                if expired_at <= now {
                    return Err(PortOneError::invalid(
                        "method.virtualAccount.expiry.dueDate must be in the future",
                    ));
                }
                let (account_type, number) = match va.option.kind.as_str() {
                    "NORMAL" => ("NORMAL", random_account_number()),
                    "FIXED" => (
                        "FIXED",
                        va.option
                            .fixed
                            .and_then(|f| f.account_number)
                            .unwrap_or_else(random_account_number),
                    ),
                    other => {
                        return Err(PortOneError::invalid(format!(
                            "method.virtualAccount.option.type must be NORMAL or FIXED, got {other:?}"
                        )));
                    }
                };
                Method::VirtualAccount(VirtualAccount {
                    bank: va.bank,
                    account_number: number,
                    account_type,
                    remittee_name: va.remittee_name.unwrap_or_else(|| "(주)가맹점".to_owned()),
                    issued_at: now,
                    expired_at,
                    refunded: false,
                })
            }
            _ => {
                return Err(PortOneError::invalid(
                    "method must have exactly one of card and virtualAccount",
                ));
            }
        };
        self.check_payable(&key)?;
        if let Some(reason) = self.pre_registration_mismatch(&key, &amounts, &body.currency) {
            return Err(PortOneError::invalid(reason));
        }
        let decline = match &method {
            Method::Card { card, .. } => self.refusal(card, now),
            _ => None,
        };
        self.start_attempt(
            &key,
            Attempt {
                order_name: body.order_name,
                amounts,
                currency: body.currency,
                customer: customer_json(body.customer.as_ref()),
                custom_data: body.custom_data,
                notice_urls: body.notice_urls,
                channel,
                platform: "API",
                billing_key: None,
                schedule_id: None,
            },
            now,
        );
        let p = self.settle(&key, method, decline.as_ref(), body.skip_webhook, now)?;
        if let Some(d) = decline {
            return Err(d.error());
        }
        Ok(json!({ "payment": summary(p, now) }))
    }

    /// `POST /payments/{paymentId}/billing-key` (and a due schedule, with `schedule_id`).
    ///
    /// # Errors
    /// `404 BILLING_KEY_NOT_FOUND` (also another store's key), `409
    /// BILLING_KEY_ALREADY_DELETED`, `409 ALREADY_PAID`, `400`, `404 CHANNEL_NOT_FOUND`,
    /// `502 PG_PROVIDER` for a declined card (the payment is `FAILED`).
    pub fn pay_with_billing_key(
        &mut self,
        store_id: &str,
        id: &str,
        body: BillingKeyPayBody,
        schedule_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        check_text("orderName", &body.order_name)?;
        check_currency(&body.currency)?;
        let amounts = amounts_of(body.amount)?;
        let bk = self.live_billing_key(store_id, &body.billing_key)?;
        let (card, bk_channel, bk_customer) =
            (bk.card.clone(), bk.channel.clone(), bk.customer.clone());
        let channel = match &body.channel_key {
            Some(k) => self.channel(Some(k))?,
            None => bk_channel,
        };
        self.check_payable(&key)?;
        let decline = self.refusal(&card, now);
        let customer = match &body.customer {
            Some(c) => c.render(),
            None => bk_customer,
        };
        self.start_attempt(
            &key,
            Attempt {
                order_name: body.order_name,
                amounts,
                currency: body.currency,
                customer,
                custom_data: body.custom_data,
                notice_urls: body.notice_urls,
                channel,
                platform: "API",
                billing_key: Some(body.billing_key),
                schedule_id,
            },
            now,
        );
        let method = Method::Card {
            card,
            installment_month: body.installment_month.unwrap_or(0),
        };
        let p = self.settle(&key, method, decline.as_ref(), body.skip_webhook, now)?;
        if let Some(d) = decline {
            return Err(d.error());
        }
        Ok(json!({ "payment": summary(p, now) }))
    }

    /// `POST /internal/payments/{paymentId}/checkout`: the customer completes the payment
    /// window. A declined card, a scripted `fail` or amounts that differ from the
    /// pre-registration leave the payment `FAILED` (still answered with the payment).
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for bad input, `409 ALREADY_PAID`, `404 CHANNEL_NOT_FOUND`.
    pub fn checkout(
        &mut self,
        store_id: &str,
        id: &str,
        c: Checkout,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        check_text("orderName", &c.order_name)?;
        let amounts = match c.amount {
            CheckoutAmount::Total(t) => Amounts::new(t, None, None)?,
            CheckoutAmount::Parts {
                total,
                tax_free,
                vat,
            } => Amounts::new(total, tax_free, vat)?,
        };
        let channel = self.channel(c.channel_key.as_deref())?;
        let method = match c.method {
            CheckoutMethod::Card => {
                let card = match &c.card {
                    Some(card) => Card::parse_checkout(&card.number, &card.expiry)?,
                    None => Card::parse_checkout(TEST_CARD, "12/39")?,
                };
                Method::Card {
                    card,
                    installment_month: 0,
                }
            }
            CheckoutMethod::VirtualAccount => Method::VirtualAccount(VirtualAccount {
                bank: "SHINHAN".to_owned(),
                account_number: random_account_number(),
                account_type: "NORMAL",
                remittee_name: "(주)가맹점".to_owned(),
                issued_at: now,
                expired_at: now + chrono::Duration::hours(DEFAULT_VA_HOURS),
                refunded: false,
            }),
            CheckoutMethod::EasyPay => Method::EasyPay {
                provider: "KAKAOPAY".to_owned(),
            },
        };
        self.check_payable(&key)?;
        let decline = if let Some(reason) = self.pre_registration_mismatch(&key, &amounts, "KRW") {
            Some(Decline {
                pg_code: "PRE_REGISTERED_AMOUNT_MISMATCH".to_owned(),
                pg_message: reason,
            })
        } else if let Some(f) = &c.fail {
            Some(Decline::new(&f.pg_code, &f.pg_message))
        } else if let Method::Card { card, .. } = &method {
            self.refusal(card, now)
        } else {
            None
        };
        let customer = c.customer.as_ref().map_or_else(
            || json!({}),
            |cu| {
                let mut v = json!({});
                for (k, val) in [
                    ("id", &cu.id),
                    ("name", &cu.name),
                    ("email", &cu.email),
                    ("phoneNumber", &cu.phone_number),
                ] {
                    if let Some(val) = val {
                        v[k] = json!(val);
                    }
                }
                v
            },
        );
        self.start_attempt(
            &key,
            Attempt {
                order_name: c.order_name,
                amounts,
                currency: "KRW".to_owned(),
                customer,
                custom_data: c.custom_data,
                notice_urls: c.notice_urls,
                channel,
                platform: "PC",
                billing_key: None,
                schedule_id: None,
            },
            now,
        );
        let p = self.settle(&key, method, decline.as_ref(), false, now)?;
        Ok(p.render())
    }

    /// `POST /internal/payments/{paymentId}/deposit`: the customer pays the virtual
    /// account in full; the payment is `PAID`.
    ///
    /// # Errors
    /// `404 PAYMENT_NOT_FOUND`; `409 PAYMENT_NOT_WAITING_FOR_DEPOSIT` when it is not an
    /// issued virtual account or the account has expired.
    pub fn deposit(
        &mut self,
        store_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        let p = self.payment_mut(&key)?;
        let waiting = |m: String| PortOneError::new(ErrorKind::PaymentNotWaitingForDeposit, m);
        if p.status != PaymentStatus::VirtualAccountIssued {
            return Err(waiting(format!(
                "payment {id:?} is {}, not VIRTUAL_ACCOUNT_ISSUED",
                p.status.as_str()
            )));
        }
        if let Some(Method::VirtualAccount(va)) = &p.method
            && now > va.expired_at
        {
            return Err(waiting(format!(
                "the virtual account of payment {id:?} expired at {}",
                ts(va.expired_at)
            )));
        }
        p.pay(now);
        self.emit_payment(&key, None, now);
        Ok(self.payment(store_id, id)?.render())
    }

    /// `POST /payments/{paymentId}/cancel`: a full or partial cancel.
    ///
    /// # Errors
    /// `404 PAYMENT_NOT_FOUND`; `409 PAYMENT_ALREADY_CANCELLED`, `409 PAYMENT_NOT_PAID`;
    /// the amount errors of [`Amounts::plan_cancel`]; `400 INVALID_REQUEST` for an empty
    /// reason, or a deposited virtual account without a valid `refundAccount`.
    pub fn cancel(
        &mut self,
        store_id: &str,
        id: &str,
        body: CancelBody,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        check_text("reason", &body.reason)?;
        let p = self.payment_mut(&key)?;
        match p.status {
            PaymentStatus::Paid | PaymentStatus::PartialCancelled => {}
            PaymentStatus::Cancelled => {
                return Err(PortOneError::new(
                    ErrorKind::PaymentAlreadyCancelled,
                    format!("payment {id:?} is already cancelled"),
                ));
            }
            other => {
                return Err(PortOneError::new(
                    ErrorKind::PaymentNotPaid,
                    format!(
                        "payment {id:?} is {}, not paid{}",
                        other.as_str(),
                        if other == PaymentStatus::VirtualAccountIssued {
                            " (close the virtual account instead)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        let is_va = matches!(p.method, Some(Method::VirtualAccount(_)));
        if is_va {
            let Some(acct) = &body.refund_account else {
                return Err(PortOneError::invalid(
                    "refundAccount is required to cancel a deposited virtual-account payment",
                ));
            };
            check_bank("refundAccount.bank", &acct.bank)?;
            let digits: String = acct.number.chars().filter(|c| *c != '-').collect();
            if digits.len() < 8 || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(PortOneError::invalid(format!(
                    "refundAccount.number must be 8 to 20 digits, got {:?}",
                    acct.number
                )));
            }
            check_text("refundAccount.holderName", &acct.holder_name)?;
        }
        let parts = p.amounts.plan_cancel(CancelAsk {
            amount: body.amount,
            tax_free: body.tax_free_amount,
            vat: body.vat_amount,
            current_cancellable: body.current_cancellable_amount,
        })?;
        p.amounts.apply_cancel(parts);
        let cancellation = Cancellation {
            id: new_id("cancel-"),
            pg_cancellation_id: new_id("pg-cancel-"),
            parts,
            reason: body.reason,
            requested_at: now,
        };
        let rendered = cancellation.render();
        let cancellation_id = cancellation.id.clone();
        p.cancellations.push(cancellation);
        p.cancelled_at = Some(now);
        if let Some(Method::VirtualAccount(va)) = &mut p.method {
            va.refunded = true;
        }
        let status = if p.amounts.cancellable() == 0 {
            PaymentStatus::Cancelled
        } else {
            PaymentStatus::PartialCancelled
        };
        p.set_status(status, now);
        if !body.skip_webhook {
            self.emit_payment(&key, Some(cancellation_id), now);
        }
        Ok(json!({ "cancellation": rendered }))
    }

    /// `POST /payments/{paymentId}/virtual-account/close`: the issued account is closed
    /// before a deposit; the payment is `CANCELLED`.
    ///
    /// # Errors
    /// `404 PAYMENT_NOT_FOUND`; `409 PAYMENT_NOT_WAITING_FOR_DEPOSIT`.
    pub fn close_virtual_account(
        &mut self,
        store_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        let p = self.payment_mut(&key)?;
        if p.status != PaymentStatus::VirtualAccountIssued {
            return Err(PortOneError::new(
                ErrorKind::PaymentNotWaitingForDeposit,
                format!(
                    "payment {id:?} is {}, not VIRTUAL_ACCOUNT_ISSUED",
                    p.status.as_str()
                ),
            ));
        }
        p.cancelled_at = Some(now);
        p.set_status(PaymentStatus::Cancelled, now);
        self.emit_payment(&key, None, now);
        Ok(json!({ "closedAt": ts(now) }))
    }

    /// `POST /payments/{paymentId}/resend-webhook`: sends the payment's latest webhook
    /// (or `webhook_id`) again, as a new message.
    ///
    /// # Errors
    /// `404 PAYMENT_NOT_FOUND`; `404 WEBHOOK_NOT_FOUND` when the payment has no such webhook.
    pub fn resend_webhook(
        &mut self,
        store_id: &str,
        id: &str,
        webhook_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        let p = self.payment(store_id, id)?;
        let original = match webhook_id {
            Some(w) => p.webhooks.iter().find(|h| h.id == w),
            None => p.webhooks.last(),
        }
        .cloned()
        .ok_or_else(|| {
            PortOneError::new(
                ErrorKind::WebhookNotFound,
                match webhook_id {
                    Some(w) => format!("payment {id:?} has no webhook {w:?}"),
                    None => format!("payment {id:?} has had no webhook yet"),
                },
            )
        })?;
        let Some(store) = self.store(store_id) else {
            return Err(not_found(id));
        };
        let again = super::Outgoing {
            id: new_id("msg_"),
            event_type: original.event_type.clone(),
            url: (!original.url.is_empty()).then(|| original.url.clone()),
            body: original.body.clone(),
            secret: store.webhook_secret.clone(),
        };
        let record = SentWebhook {
            id: again.id.clone(),
            triggered_at: now,
            manual: true,
            ..original
        };
        let rendered = record.render();
        self.outbox.push(again);
        self.payment_mut(&key)?.webhooks.push(record);
        Ok(json!({ "webhook": rendered }))
    }

    /// `GET /payments/{paymentId}/transactions`: every attempt, oldest first.
    ///
    /// # Errors
    /// `404 PAYMENT_NOT_FOUND`.
    pub fn transactions(&self, store_id: &str, id: &str) -> Result<Value, PortOneError> {
        let p = self.payment(store_id, id)?;
        let mut items = p.history.clone();
        items.push(p.render_transaction());
        Ok(json!({ "items": items }))
    }

    /// `GET /payments`: the caller's payments matching the filter, newest first unless
    /// `sortOrder` is `ASC`.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for a bad page.
    pub fn list_payments(
        &self,
        stores: &[String],
        body: GetPaymentsBody,
    ) -> Result<Value, PortOneError> {
        let f = &body.filter;
        let by_status_change = f.timestamp_type.as_deref() == Some("STATUS_CHANGED_AT");
        let mut hits: Vec<&Payment> = self
            .payments
            .values()
            .filter(|p| stores.contains(&p.store_id))
            .filter(|p| {
                f.status
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|s| s == p.status.as_str()))
            })
            .filter(|p| {
                f.methods.as_ref().is_none_or(|m| {
                    p.method
                        .as_ref()
                        .is_some_and(|pm| m.iter().any(|m| m == pm.type_name()))
                })
            })
            .filter(|p| f.is_scheduled.is_none_or(|s| s == p.schedule_id.is_some()))
            .filter(|p| {
                let at = if by_status_change {
                    p.status_changed_at
                } else {
                    p.requested_at
                };
                f.from.is_none_or(|from| at >= from) && f.until.is_none_or(|until| at < until)
            })
            .collect();
        hits.sort_by_key(|p| p.seq);
        if f.sort_order.as_deref() != Some("ASC") {
            hits.reverse();
        }
        super::page(hits.into_iter().map(Payment::render).collect(), body.page)
    }

    /// The status of a payment, if it exists (the schedule runner reads its outcome).
    pub(crate) fn payment_status(&self, store_id: &str, id: &str) -> Option<PaymentStatus> {
        self.payment(store_id, id).ok().map(|p| p.status)
    }
}

/// The `{pgTxId, paidAt}` summary of an instant or billing-key payment (for an issued
/// virtual account, `paidAt` is the issue time: the schema requires it).
fn summary(p: &Payment, now: DateTime<Utc>) -> Value {
    json!({
        "pgTxId": p.pg_tx_id.clone().unwrap_or_default(),
        "paidAt": ts(p.paid_at.unwrap_or(now)),
    })
}

/// A random 14-digit account number.
fn random_account_number() -> String {
    format!("{:014}", rand::random::<u64>() % 100_000_000_000_000)
}

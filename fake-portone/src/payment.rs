//! One payment (keyed by the merchant's `paymentId`) and its JSON shapes: the `Payment`
//! union tagged by `status`, its `PaymentTransaction` form, cancellations.
//!
//! Statuses move `READY → PAID | FAILED | VIRTUAL_ACCOUNT_ISSUED`,
//! `VIRTUAL_ACCOUNT_ISSUED → PAID | CANCELLED` (deposit, close),
//! `PAID → PARTIAL_CANCELLED → CANCELLED` (cancels); a `FAILED` or `READY` payment may be
//! attempted again (a new `transactionId`; the earlier attempt stays in `transactions`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::amount::{Amounts, CancelParts};
use crate::cards::{Card, Decline};
use crate::ids::ts;

/// A payment's status, as `Payment.status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Created (by the payment window or a pre-registration), not paid.
    Ready,
    /// A virtual account was issued; waiting for the customer's deposit.
    VirtualAccountIssued,
    /// Paid in full.
    Paid,
    /// The PG refused it.
    Failed,
    /// Paid, then partly cancelled.
    PartialCancelled,
    /// Cancelled in full (or a virtual account closed before its deposit).
    Cancelled,
}

impl PaymentStatus {
    /// The wire name (`PAID`, `VIRTUAL_ACCOUNT_ISSUED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "READY",
            Self::VirtualAccountIssued => "VIRTUAL_ACCOUNT_ISSUED",
            Self::Paid => "PAID",
            Self::Failed => "FAILED",
            Self::PartialCancelled => "PARTIAL_CANCELLED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// The webhook type announcing a move into this status.
    pub(crate) fn event_type(self) -> &'static str {
        match self {
            Self::Ready => "Transaction.Ready",
            Self::VirtualAccountIssued => "Transaction.VirtualAccountIssued",
            Self::Paid => "Transaction.Paid",
            Self::Failed => "Transaction.Failed",
            Self::PartialCancelled => "Transaction.PartialCancelled",
            Self::Cancelled => "Transaction.Cancelled",
        }
    }
}

/// How a payment was (or is being) paid.
#[derive(Debug, Clone)]
pub(crate) enum Method {
    Card { card: Card, installment_month: u32 },
    VirtualAccount(VirtualAccount),
    EasyPay { provider: String },
}

impl Method {
    /// The `PaymentMethodType` name (for the list filter).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Card { .. } => "CARD",
            Self::VirtualAccount(_) => "VIRTUAL_ACCOUNT",
            Self::EasyPay { .. } => "EASY_PAY",
        }
    }

    fn render(&self) -> Value {
        match self {
            Self::Card {
                card,
                installment_month,
            } => json!({
                "type": "PaymentMethodCard",
                "card": card.render(),
                "approvalNumber": "30000000",
                "installment": { "month": installment_month, "isInterestFree": false },
                "pointUsed": false,
            }),
            Self::VirtualAccount(va) => {
                let mut v = json!({
                    "type": "PaymentMethodVirtualAccount",
                    "bank": va.bank,
                    "accountNumber": va.account_number,
                    "accountType": va.account_type,
                    "remitteeName": va.remittee_name,
                    "expiredAt": ts(va.expired_at),
                    "issuedAt": ts(va.issued_at),
                });
                if va.refunded {
                    v["refundStatus"] = json!("COMPLETED");
                }
                v
            }
            Self::EasyPay { provider } => json!({
                "type": "PaymentMethodEasyPay",
                "provider": provider,
            }),
        }
    }
}

/// A virtual account issued for a payment.
#[derive(Debug, Clone)]
pub(crate) struct VirtualAccount {
    pub bank: String,
    pub account_number: String,
    pub account_type: &'static str,
    pub remittee_name: String,
    pub issued_at: DateTime<Utc>,
    pub expired_at: DateTime<Utc>,
    /// A cancel of the deposited account refunded money to a `refundAccount`.
    pub refunded: bool,
}

/// One successful cancel.
#[derive(Debug, Clone)]
pub(crate) struct Cancellation {
    pub id: String,
    pub pg_cancellation_id: String,
    pub parts: CancelParts,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
}

impl Cancellation {
    /// The `SucceededPaymentCancellation` JSON.
    pub fn render(&self) -> Value {
        json!({
            "status": "SUCCEEDED",
            "id": self.id,
            "pgCancellationId": self.pg_cancellation_id,
            "totalAmount": self.parts.total,
            "taxFreeAmount": self.parts.tax_free,
            "vatAmount": self.parts.vat,
            "reason": self.reason,
            "cancelledAt": ts(self.requested_at),
            "requestedAt": ts(self.requested_at),
            "trigger": "API",
        })
    }
}

/// A webhook message sent about this payment (its `webhooks[]`, and what
/// `resend-webhook` resends).
#[derive(Debug, Clone)]
pub(crate) struct SentWebhook {
    pub id: String,
    pub event_type: String,
    pub url: String,
    pub payment_status: PaymentStatus,
    pub triggered_at: DateTime<Utc>,
    pub manual: bool,
    pub body: Value,
}

impl SentWebhook {
    /// The `PaymentWebhook` JSON.
    pub fn render(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "url": self.url,
            "paymentStatus": self.payment_status.as_str(),
            "isAsync": true,
            "maxExecutionCount": 6,
            "triggeredAt": ts(self.triggered_at),
        });
        if self.manual {
            v["trigger"] = json!("MANUAL");
        }
        v
    }
}

/// A payment: the current attempt and what came before it.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    /// Creation order, for listing.
    pub seq: u64,
    pub store_id: String,
    pub merchant_id: String,
    pub id: String,
    pub transaction_id: String,
    pub status: PaymentStatus,
    pub method: Option<Method>,
    pub channel: Value,
    pub platform: &'static str,
    pub order_name: String,
    pub amounts: Amounts,
    pub currency: String,
    pub customer: Value,
    pub custom_data: Option<String>,
    pub notice_urls: Vec<String>,
    pub billing_key: Option<String>,
    pub schedule_id: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub failure: Option<Value>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancellations: Vec<Cancellation>,
    pub pg_tx_id: Option<String>,
    pub webhooks: Vec<SentWebhook>,
    /// Earlier attempts, frozen as `PaymentTransaction` JSON when superseded.
    pub history: Vec<Value>,
    /// [`Self::render`] serialised, kept until the payment changes (lookups are the
    /// hottest route; every mutable access clears it, see `World::payment_mut`).
    pub rendered: Option<bytes::Bytes>,
}

impl Payment {
    /// Moves to `status` at `now`.
    pub fn set_status(&mut self, status: PaymentStatus, now: DateTime<Utc>) {
        self.status = status;
        self.status_changed_at = now;
        self.updated_at = now;
    }

    /// The payment as `GET /payments/{paymentId}` returns it.
    pub fn render(&self) -> Value {
        let mut v = json!({
            "status": self.status.as_str(),
            "id": self.id,
            "transactionId": self.transaction_id,
            "merchantId": self.merchant_id,
            "storeId": self.store_id,
            "channel": self.channel,
            "version": "V2",
            "requestedAt": ts(self.requested_at),
            "updatedAt": ts(self.updated_at),
            "statusChangedAt": ts(self.status_changed_at),
            "orderName": self.order_name,
            "amount": self.amounts.render(),
            "currency": self.currency,
            "customer": self.customer,
            "origin": { "platformType": self.platform, "ipAddress": "127.0.0.1" },
            "isCulturalExpense": false,
        });
        if let Some(m) = &self.method {
            v["method"] = m.render();
        }
        let optional = [
            ("customData", self.custom_data.clone()),
            ("billingKey", self.billing_key.clone()),
            ("scheduleId", self.schedule_id.clone()),
            ("pgTxId", self.pg_tx_id.clone()),
        ];
        for (k, val) in optional {
            if let Some(val) = val {
                v[k] = json!(val);
            }
        }
        if !self.webhooks.is_empty() {
            v["webhooks"] = self.webhooks.iter().map(SentWebhook::render).collect();
        }
        use PaymentStatus as S;
        if matches!(self.status, S::Paid | S::PartialCancelled | S::Cancelled) {
            if let Some(at) = self.paid_at {
                v["paidAt"] = json!(ts(at));
            }
            v["receiptUrl"] = json!(format!(
                "https://fake-portone.invalid/receipts/{}",
                self.transaction_id
            ));
        }
        if self.status == S::Paid {
            v["disputes"] = json!([]);
        }
        if matches!(self.status, S::Paid | S::PartialCancelled | S::Cancelled) {
            v["cancellations"] = self
                .cancellations
                .iter()
                .map(Cancellation::render)
                .collect();
        }
        if matches!(self.status, S::PartialCancelled | S::Cancelled) {
            let at = self.cancelled_at.unwrap_or(self.status_changed_at);
            v["cancelledAt"] = json!(ts(at));
        }
        if self.status == S::Failed {
            v["failedAt"] = json!(ts(self.failed_at.unwrap_or(self.status_changed_at)));
            v["failure"] = self.failure.clone().unwrap_or_else(|| json!({}));
        }
        v
    }

    /// [`Self::render`] as JSON bytes, from the cache when the payment has not changed.
    pub fn render_bytes(&mut self) -> bytes::Bytes {
        if let Some(b) = &self.rendered {
            return b.clone();
        }
        let b = bytes::Bytes::from(serde_json::to_vec(&self.render()).unwrap_or_default());
        self.rendered = Some(b.clone());
        b
    }

    /// The current attempt as a `PaymentTransaction` (`id` is the transaction's).
    pub fn render_transaction(&self) -> Value {
        let mut v = self.render();
        v["id"] = json!(self.transaction_id);
        v["paymentId"] = json!(self.id);
        if let Some(o) = v.as_object_mut() {
            o.remove("transactionId");
            o.remove("origin");
            o.remove("disputes");
        }
        v
    }

    /// Starts a new attempt (a payment that failed, or was only `READY`, is tried again):
    /// the current one moves to the history.
    pub fn new_attempt(&mut self, transaction_id: String, now: DateTime<Utc>) {
        if self.status == PaymentStatus::Failed {
            self.history.push(self.render_transaction());
        }
        self.transaction_id = transaction_id;
        self.failure = None;
        self.failed_at = None;
        self.pg_tx_id = None;
        self.requested_at = now;
        self.set_status(PaymentStatus::Ready, now);
    }

    /// Marks the attempt failed with the PG's refusal.
    pub fn fail(&mut self, decline: &Decline, now: DateTime<Utc>) {
        self.failure = Some(decline.failure());
        self.failed_at = Some(now);
        self.set_status(PaymentStatus::Failed, now);
    }

    /// Marks it paid in full.
    pub fn pay(&mut self, now: DateTime<Utc>) {
        self.amounts.mark_paid();
        self.paid_at = Some(now);
        self.set_status(PaymentStatus::Paid, now);
    }
}

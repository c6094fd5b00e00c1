//! The fake's records (payments, cancels, billing keys, cash receipts) and their JSON shapes,
//! field for field as the spec's `ITossCardPayment`, `ITossVirtualAccountPayment`,
//! `ITossBilling` and `ITossCashReceipt`.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::clock::{toss_date, toss_time};

/// The Toss merchant id the fake reports.
pub(crate) const MID: &str = "tosspayments";
/// The API version string the fake reports in payment objects.
pub(crate) const VERSION: &str = "2022-11-16";

/// A payment's status, as the real API's state machine has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Created, not yet authenticated (unused by the fake's flows; kept for completeness).
    Ready,
    /// Authenticated by the widget, waiting for the merchant's confirmation.
    InProgress,
    /// A virtual account was issued and waits for the customer's deposit.
    WaitingForDeposit,
    /// Approved (or deposited).
    Done,
    /// Fully cancelled.
    Canceled,
    /// Partly cancelled; `balanceAmount` is what is left.
    PartialCanceled,
    /// Confirmation failed (e.g. the card was declined at confirmation).
    Aborted,
    /// Not confirmed (30 minutes) or not deposited (due date) in time.
    Expired,
}

impl PaymentStatus {
    /// The wire name, e.g. `WAITING_FOR_DEPOSIT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "READY",
            Self::InProgress => "IN_PROGRESS",
            Self::WaitingForDeposit => "WAITING_FOR_DEPOSIT",
            Self::Done => "DONE",
            Self::Canceled => "CANCELED",
            Self::PartialCanceled => "PARTIAL_CANCELED",
            Self::Aborted => "ABORTED",
            Self::Expired => "EXPIRED",
        }
    }
}

/// Card details of a card payment.
#[derive(Debug, Clone)]
pub(crate) struct CardInfo {
    pub number: String,
    pub installment_months: u32,
    pub approve_no: String,
}

/// Virtual-account details of a virtual-account payment.
#[derive(Debug, Clone)]
pub(crate) struct AccountInfo {
    pub account_number: String,
    pub bank: String,
    pub customer_name: String,
    pub due_at: DateTime<Utc>,
    pub secret: String,
    pub refund_account: Option<Value>,
}

/// What was paid with.
#[derive(Debug, Clone)]
pub(crate) enum Method {
    Card(CardInfo),
    VirtualAccount(AccountInfo),
}

/// One cancellation of a payment.
#[derive(Debug, Clone)]
pub(crate) struct Cancel {
    pub transaction_key: String,
    pub amount: i64,
    pub reason: String,
    pub tax_free: i64,
    pub tax: i64,
    pub refundable_after: i64,
    pub at: DateTime<Utc>,
}

/// The summary of a cash receipt that a payment carries.
#[derive(Debug, Clone)]
pub(crate) struct ReceiptSummary {
    pub receipt_key: String,
    pub kind: String,
    pub amount: i64,
    pub tax_free: i64,
    pub issue_number: String,
    pub url: String,
}

/// A payment held by the fake.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub payment_key: String,
    pub order_id: String,
    pub order_name: String,
    pub method: Method,
    /// `true` for payments charged on a billing key (`type: BILLING`).
    pub billing: bool,
    pub status: PaymentStatus,
    pub total: i64,
    pub balance: i64,
    pub tax_free_balance: i64,
    pub requested_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub transaction_key: String,
    pub last_transaction_key: String,
    pub cancels: Vec<Cancel>,
    pub cash_receipt: Option<ReceiptSummary>,
    /// When an `IN_PROGRESS` payment stops being confirmable.
    pub confirm_deadline: DateTime<Utc>,
    /// The serialised JSON of the current state, so reads are a cheap clone.
    pub rendered: Bytes,
    /// samchon's shape: the other methods' keys (`card`, `easyPay`, ...) are left out
    /// instead of `null`, so a type check that picks the variant by them picks right.
    pub omit_other_methods: bool,
}

/// Splits a taxable amount into (supplied, vat) the way Korean receipts do: vat = round(x/11).
pub(crate) fn split_vat(taxable: i64) -> (i64, i64) {
    let vat = (taxable + 5) / 11;
    (taxable - vat, vat)
}

impl Payment {
    /// Re-serialises the payment after a change; call after every mutation.
    pub(crate) fn refresh(&mut self) {
        // Serialising a `Value` cannot fail (all keys are strings).
        self.rendered = Bytes::from(serde_json::to_vec(&self.to_json()).unwrap_or_default());
    }

    /// The payment as the API returns it.
    pub(crate) fn to_json(&self) -> Value {
        let (supplied, vat) = split_vat(self.balance - self.tax_free_balance);
        let cancels = if self.cancels.is_empty() {
            Value::Null
        } else {
            Value::Array(self.cancels.iter().map(Cancel::to_json).collect())
        };
        let mut v = json!({
            "mId": MID,
            "version": VERSION,
            "paymentKey": self.payment_key,
            "transactionKey": self.transaction_key,
            "lastTransactionKey": self.last_transaction_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "status": self.status.as_str(),
            "type": if self.billing { "BILLING" } else { "NORMAL" },
            "currency": "KRW",
            "country": "KR",
            "totalAmount": self.total,
            "balanceAmount": self.balance,
            "suppliedAmount": supplied,
            "vat": vat,
            "taxFreeAmount": self.tax_free_balance,
            "taxExemptionAmount": 0,
            "useEscrow": false,
            "cultureExpense": false,
            "isPartialCancelable": true,
            "requestedAt": toss_time(self.requested_at),
            "approvedAt": self.approved_at.map(toss_time),
            "cancels": cancels,
            "cashReceipt": self.cash_receipt.as_ref().map(ReceiptSummary::to_json),
            "discount": null,
            "easyPay": null,
            "card": null,
            "virtualAccount": null,
            "transfer": null,
            "mobilePhone": null,
            "giftCertificate": null,
            "secret": null,
            "failure": null,
        });
        match &self.method {
            Method::Card(card) => {
                v["method"] = json!("카드");
                let acquire = if self.status == PaymentStatus::Canceled {
                    "CANCELED"
                } else {
                    "READY"
                };
                v["card"] = json!({
                    "company": "신한",
                    "issuerCode": "4V",
                    "acquirerCode": "41",
                    "number": card.number,
                    "installmentPlanMonths": card.installment_months,
                    "isInterestFree": false,
                    "interestPayer": null,
                    "approveNo": card.approve_no,
                    "useCardPoint": false,
                    "cardType": "신용",
                    "ownerType": "개인",
                    "acquireStatus": acquire,
                    "receiptUrl": format!(
                        "https://dashboard.tosspayments.com/receipt/redirection?transactionId={}&ref=PX",
                        self.transaction_key
                    ),
                    "amount": self.total,
                });
            }
            Method::VirtualAccount(acct) => {
                v["method"] = json!("가상계좌");
                v["secret"] = json!(acct.secret);
                let deposited = self.approved_at.is_some();
                let refunded = !self.cancels.is_empty() && deposited;
                v["virtualAccount"] = json!({
                    "accountNumber": acct.account_number,
                    "accountType": "일반",
                    "bank": acct.bank,
                    "customerName": acct.customer_name,
                    "dueDate": toss_date(acct.due_at),
                    "dueAt": toss_time(acct.due_at),
                    "expired": self.status == PaymentStatus::Expired,
                    "settlementStatus": if deposited { "COMPLETED" } else { "INCOMPLETED" },
                    "refundStatus": if refunded { "COMPLETED" } else { "NONE" },
                    "refundReceiveAccount": acct.refund_account,
                });
            }
        }
        if self.omit_other_methods
            && let Some(map) = v.as_object_mut()
        {
            for k in [
                "easyPay",
                "card",
                "virtualAccount",
                "transfer",
                "mobilePhone",
                "giftCertificate",
            ] {
                if map.get(k).is_some_and(Value::is_null) {
                    map.remove(k);
                }
            }
        }
        v
    }
}

impl Cancel {
    fn to_json(&self) -> Value {
        json!({
            "transactionKey": self.transaction_key,
            "cancelReason": self.reason,
            "taxExemptionAmount": 0,
            "canceledAt": toss_time(self.at),
            "transferDiscountAmount": 0,
            "easyPayDiscountAmount": 0,
            "receiptKey": null,
            "cancelAmount": self.amount,
            "taxFreeAmount": self.tax_free,
            "taxAmount": self.tax,
            "refundableAmount": self.refundable_after,
            "cancelStatus": "DONE",
            "cancelRequestId": null,
        })
    }
}

impl ReceiptSummary {
    fn to_json(&self) -> Value {
        json!({
            "receiptKey": self.receipt_key,
            "type": self.kind,
            "amount": self.amount,
            "taxFreeAmount": self.tax_free,
            "issueNumber": self.issue_number,
            "receiptUrl": self.url,
        })
    }
}

/// A registered billing key.
#[derive(Debug, Clone)]
pub(crate) struct Billing {
    pub billing_key: String,
    pub customer_key: String,
    pub card_number: String,
    pub authenticated_at: DateTime<Utc>,
}

impl Billing {
    /// The billing key as the API returns it (`ITossBilling`).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "mId": MID,
            "customerKey": self.customer_key,
            "authenticatedAt": toss_time(self.authenticated_at),
            "method": "카드",
            "billingKey": self.billing_key,
            "cardCompany": "신한",
            "cardNumber": self.card_number,
            "card": {
                "issuerCode": "4V",
                "acquirerCode": "41",
                "number": self.card_number,
                "cardType": "신용",
                "ownerType": "개인",
            },
        })
    }
}

/// A cash receipt.
#[derive(Debug, Clone)]
pub(crate) struct CashReceipt {
    pub receipt_key: String,
    pub kind: String,
    pub payment_key: String,
    pub order_id: String,
    pub order_name: String,
    pub approval_number: String,
    pub amount: i64,
    pub tax_free: i64,
    pub canceled_amount: i64,
    pub approved_at: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
}

impl CashReceipt {
    /// The receipt as the API returns it (`ITossCashReceipt`).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "receiptKey": self.receipt_key,
            "type": self.kind,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "approvalNumber": self.approval_number,
            "approvedAt": toss_time(self.approved_at),
            "canceledAt": self.canceled_at.map(toss_time),
            "receiptUrl": self.url(),
            "amount": self.amount,
            "taxFreeAmount": self.tax_free,
            "canceledAmount": self.canceled_amount,
            "remainingAmount": self.amount - self.canceled_amount,
        })
    }

    /// The receipt's (fake) public URL.
    pub(crate) fn url(&self) -> String {
        format!(
            "https://dashboard.tosspayments.com/sales-slip?transactionId={}",
            self.receipt_key
        )
    }
}

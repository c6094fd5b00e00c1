//! The records the fake keeps (payments, saved cards, cash receipts, certifications,
//! tokens) and their JSON shapes, field for field as the spec's objects. The data holder
//! ([`crate::state::State`]) depends on this module only, and every resource module on
//! both, so no module depends on itself through another.

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::cards::Card;
use crate::envelope::ApiError;
use crate::fields::Body;

/// A payment's lifecycle state, as the real API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Virtual account issued, not yet deposited.
    Ready,
    /// Money received (partially cancelled payments stay `paid`).
    Paid,
    /// The card company declined.
    Failed,
    /// Fully cancelled (or a virtual account whose issue was withdrawn).
    Cancelled,
}

impl Status {
    /// The wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::Paid => "paid",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// The fields that differ between payment methods; serialised as `pay_method` plus the
/// method's own fields, flattened into the payment.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "pay_method", rename_all = "lowercase")]
pub(crate) enum Method {
    /// `pay_method: "card"`.
    Card {
        card_code: String,
        card_name: String,
        card_number: String,
        card_quota: i64,
        apply_num: String,
    },
    /// `pay_method: "vbank"`.
    VBank {
        vbank_code: String,
        vbank_name: String,
        vbank_num: String,
        vbank_holder: String,
        vbank_date: i64,
        vbank_issued_at: i64,
    },
}

/// One entry of `cancel_history`.
#[derive(Debug, Clone)]
pub(crate) struct CancelEntry {
    pub(crate) pg_tid: String,
    pub(crate) amount: i64,
    pub(crate) cancelled_at: i64,
    pub(crate) reason: String,
    pub(crate) receipt_url: String,
}

impl Serialize for CancelEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            pg_id: &'static str,
            pg_tid: &'a str,
            amount: i64,
            cancelled_at: i64,
            reason: &'a str,
            receipt_url: &'a str,
        }
        Wire {
            pg_id: PG_ID,
            pg_tid: &self.pg_tid,
            amount: self.amount,
            cancelled_at: self.cancelled_at,
            reason: &self.reason,
            receipt_url: &self.receipt_url,
        }
        .serialize(s)
    }
}

/// Buyer fields copied from the request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buyer {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) tel: Option<String>,
    pub(crate) addr: Option<String>,
    pub(crate) postcode: Option<String>,
}

impl Buyer {
    /// Reads `buyer_*` fields.
    pub(crate) fn from_body(body: &Body) -> Result<Self, ApiError> {
        Ok(Self {
            name: body.str_opt("buyer_name")?,
            email: body.email_opt("buyer_email")?,
            tel: body.str_opt("buyer_tel")?,
            addr: body.str_opt("buyer_addr")?,
            postcode: body.str_opt("buyer_postcode")?,
        })
    }
}

/// The PG the fake pretends to route through.
pub(crate) const PG_PROVIDER: &str = "nice";
/// The PG merchant id reported in payments.
pub(crate) const PG_ID: &str = "nictest04m";

/// A payment.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub(crate) seq: u64,
    pub(crate) imp_uid: String,
    pub(crate) merchant_uid: String,
    pub(crate) name: Option<String>,
    pub(crate) amount: i64,
    pub(crate) cancel_amount: i64,
    pub(crate) tax_free: i64,
    pub(crate) currency: String,
    pub(crate) method: Method,
    pub(crate) status: Status,
    pub(crate) started_at: i64,
    pub(crate) paid_at: i64,
    pub(crate) failed_at: i64,
    pub(crate) cancelled_at: i64,
    pub(crate) fail_reason: Option<String>,
    pub(crate) cancel_reason: Option<String>,
    pub(crate) cancel_history: Vec<CancelEntry>,
    pub(crate) buyer: Buyer,
    pub(crate) customer_uid: Option<String>,
    pub(crate) customer_uid_usage: Option<String>,
    pub(crate) custom_data: Option<String>,
    pub(crate) notice_url: Option<String>,
    pub(crate) pg_tid: String,
    pub(crate) cash_receipt_issue: bool,
}

/// The receipt page URL reported for a payment or cancel (never served: `.invalid`).
pub(crate) fn receipt_url(imp_uid: &str) -> String {
    format!("https://fake-iamport.invalid/receipts/{imp_uid}")
}

impl Payment {
    /// What is left to cancel.
    pub(crate) fn balance(&self) -> i64 {
        self.amount - self.cancel_amount
    }

    /// The payment as a JSON value (for the Rust API and the mutating routes; lookups
    /// serialise [`Payment`] straight into the answer).
    pub(crate) fn to_json(&self) -> Value {
        to_value(self)
    }
}

/// Serialises a record that always serialises (string keys, no maps of other keys).
fn to_value(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// `https://fake-iamport.invalid/{kind}/{id}`, written without building a `String`.
struct InvalidUrl<'a>(&'static str, &'a str);

impl Serialize for InvalidUrl<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!(
            "https://fake-iamport.invalid/{}/{}",
            self.0, self.1
        ))
    }
}

/// The payment's wire shape, field for field as the spec's `IIamportCardPayment` /
/// `IIamportVBankPayment` (the method's fields come from [`Method`]'s own shape).
#[derive(Serialize)]
struct PaymentJson<'a> {
    imp_uid: &'a str,
    merchant_uid: &'a str,
    name: Option<&'a str>,
    amount: i64,
    cancel_amount: i64,
    currency: &'a str,
    receipt_url: InvalidUrl<'a>,
    cash_receipt_issue: bool,
    channel: &'static str,
    pg_provider: &'static str,
    emb_pg_provider: Option<&'static str>,
    pg_id: &'static str,
    pg_tid: &'a str,
    escrow: bool,
    buyer_name: Option<&'a str>,
    buyer_email: Option<&'a str>,
    buyer_tel: Option<&'a str>,
    buyer_addr: Option<&'a str>,
    buyer_postcode: Option<&'a str>,
    customer_uid: Option<&'a str>,
    customer_uid_usage: Option<&'a str>,
    custom_data: Option<&'a str>,
    user_agent: &'static str,
    status: &'static str,
    started_at: i64,
    paid_at: i64,
    failed_at: i64,
    cancelled_at: i64,
    fail_reason: Option<&'a str>,
    cancel_reason: Option<&'a str>,
    cancel_history: &'a [CancelEntry],
    #[serde(flatten)]
    method: &'a Method,
}

impl Serialize for Payment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PaymentJson {
            imp_uid: &self.imp_uid,
            merchant_uid: &self.merchant_uid,
            name: self.name.as_deref(),
            amount: self.amount,
            cancel_amount: self.cancel_amount,
            currency: &self.currency,
            receipt_url: InvalidUrl("receipts", &self.imp_uid),
            cash_receipt_issue: self.cash_receipt_issue,
            channel: "api",
            pg_provider: PG_PROVIDER,
            emb_pg_provider: None,
            pg_id: PG_ID,
            pg_tid: &self.pg_tid,
            escrow: false,
            buyer_name: self.buyer.name.as_deref(),
            buyer_email: self.buyer.email.as_deref(),
            buyer_tel: self.buyer.tel.as_deref(),
            buyer_addr: self.buyer.addr.as_deref(),
            buyer_postcode: self.buyer.postcode.as_deref(),
            customer_uid: self.customer_uid.as_deref(),
            customer_uid_usage: self.customer_uid_usage.as_deref(),
            custom_data: self.custom_data.as_deref(),
            user_agent: "sorry_not_supported",
            status: self.status.as_str(),
            started_at: self.started_at,
            paid_at: self.paid_at,
            failed_at: self.failed_at,
            cancelled_at: self.cancelled_at,
            fail_reason: self.fail_reason.as_deref(),
            cancel_reason: self.cancel_reason.as_deref(),
            cancel_history: &self.cancel_history,
            method: &self.method,
        }
        .serialize(s)
    }
}

/// A saved card.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub(crate) customer_uid: String,
    pub(crate) card: Card,
    pub(crate) name: Option<String>,
    pub(crate) tel: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) addr: Option<String>,
    pub(crate) postcode: Option<String>,
    pub(crate) inserted: i64,
    pub(crate) updated: i64,
}

impl Customer {
    /// The `IIamportSubscription` object as a JSON value.
    pub(crate) fn to_json(&self) -> Value {
        to_value(self)
    }
}

impl Serialize for Customer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            customer_uid: &'a str,
            pg_provider: &'static str,
            pg_id: &'static str,
            card_name: &'static str,
            card_code: &'static str,
            card_number: String,
            card_type: &'static str,
            customer_name: Option<&'a str>,
            customer_tel: Option<&'a str>,
            customer_email: Option<&'a str>,
            customer_addr: Option<&'a str>,
            customer_postcode: Option<&'a str>,
            inserted: i64,
            updated: i64,
        }
        let (card_code, card_name) = self.card.company();
        Wire {
            customer_uid: &self.customer_uid,
            pg_provider: PG_PROVIDER,
            pg_id: PG_ID,
            card_name,
            card_code,
            card_number: self.card.masked(),
            card_type: "credit",
            customer_name: self.name.as_deref(),
            customer_tel: self.tel.as_deref(),
            customer_email: self.email.as_deref(),
            customer_addr: self.addr.as_deref(),
            customer_postcode: self.postcode.as_deref(),
            inserted: self.inserted,
            updated: self.updated,
        }
        .serialize(s)
    }
}

/// An issued (or withdrawn) cash receipt.
#[derive(Debug, Clone)]
pub(crate) struct Receipt {
    pub(crate) imp_uid: String,
    pub(crate) receipt_uid: String,
    pub(crate) apply_num: String,
    pub(crate) kind: String,
    pub(crate) amount: i64,
    pub(crate) vat: i64,
    pub(crate) applied_at: i64,
    pub(crate) cancelled_at: i64,
}

impl Receipt {
    /// The `IIamportReceipt` object as a JSON value.
    pub(crate) fn to_json(&self) -> Value {
        to_value(self)
    }
}

impl Serialize for Receipt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            imp_uid: &'a str,
            receipt_uid: &'a str,
            apply_num: &'a str,
            #[serde(rename = "type")]
            kind: &'a str,
            amount: i64,
            vat: i64,
            receipt_url: InvalidUrl<'a>,
            applied_at: i64,
            cancelled_at: i64,
        }
        Wire {
            imp_uid: &self.imp_uid,
            receipt_uid: &self.receipt_uid,
            apply_num: &self.apply_num,
            kind: &self.kind,
            amount: self.amount,
            vat: self.vat,
            receipt_url: InvalidUrl("cash-receipts", &self.receipt_uid),
            applied_at: self.applied_at,
            cancelled_at: self.cancelled_at,
        }
        .serialize(s)
    }
}

/// A certification request and, once confirmed, its result.
#[derive(Debug, Clone)]
pub(crate) struct Certification {
    pub(crate) imp_uid: String,
    pub(crate) merchant_uid: Option<String>,
    pub(crate) name: String,
    pub(crate) phone: String,
    pub(crate) birthday: String,
    pub(crate) birth: i64,
    pub(crate) gender_digit: u8,
    pub(crate) carrier: String,
    pub(crate) pg: String,
    pub(crate) otp: String,
    pub(crate) otp_expires_at: i64,
    pub(crate) failed_attempts: u32,
    pub(crate) certified_at: i64,
    pub(crate) unique_key: String,
    pub(crate) unique_in_site: String,
    pub(crate) pg_tid: String,
}

impl Certification {
    /// The `IIamportCertification` object as a JSON value (the OTP is never part of it).
    pub(crate) fn to_json(&self) -> Value {
        to_value(self)
    }
}

impl Serialize for Certification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            imp_uid: &'a str,
            merchant_uid: Option<&'a str>,
            name: &'a str,
            gender: &'static str,
            birth: i64,
            birthday: &'a str,
            foreigner: bool,
            phone: &'a str,
            carrier: &'a str,
            certified: bool,
            certified_at: i64,
            unique_key: &'a str,
            unique_in_site: &'a str,
            pg_tid: &'a str,
            pg_provider: &'a str,
            origin: &'static str,
        }
        Wire {
            imp_uid: &self.imp_uid,
            merchant_uid: self.merchant_uid.as_deref(),
            name: &self.name,
            gender: if self.gender_digit % 2 == 1 {
                "male"
            } else {
                "female"
            },
            birth: self.birth,
            birthday: &self.birthday,
            foreigner: self.gender_digit >= 5,
            phone: &self.phone,
            carrier: &self.carrier,
            certified: self.certified_at != 0,
            certified_at: self.certified_at,
            unique_key: &self.unique_key,
            unique_in_site: &self.unique_in_site,
            pg_tid: &self.pg_tid,
            pg_provider: &self.pg,
            origin: "api",
        }
        .serialize(s)
    }
}

/// An issued token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// The key it was issued to.
    pub(crate) imp_key: String,
    /// Unix seconds after which it is refused.
    pub(crate) expired_at: i64,
}

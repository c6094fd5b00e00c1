//! The records the fake keeps (payments, saved cards, cash receipts, certifications,
//! tokens) and their JSON shapes, field for field as the spec's objects. The data holder
//! ([`crate::state::State`]) depends on this module only, and every resource module on
//! both, so no module depends on itself through another.

use serde_json::{Value, json};

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

/// The fields that differ between payment methods.
#[derive(Debug, Clone)]
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

    /// The payment as the API returns it.
    pub(crate) fn to_json(&self) -> Value {
        let history: Vec<Value> = self
            .cancel_history
            .iter()
            .map(|c| {
                json!({
                    "pg_id": PG_ID,
                    "pg_tid": c.pg_tid,
                    "amount": c.amount,
                    "cancelled_at": c.cancelled_at,
                    "reason": c.reason,
                    "receipt_url": c.receipt_url,
                })
            })
            .collect();
        let mut v = json!({
            "imp_uid": self.imp_uid,
            "merchant_uid": self.merchant_uid,
            "name": self.name,
            "amount": self.amount,
            "cancel_amount": self.cancel_amount,
            "currency": self.currency,
            "receipt_url": receipt_url(&self.imp_uid),
            "cash_receipt_issue": self.cash_receipt_issue,
            "channel": "api",
            "pg_provider": PG_PROVIDER,
            "emb_pg_provider": Value::Null,
            "pg_id": PG_ID,
            "pg_tid": self.pg_tid,
            "escrow": false,
            "buyer_name": self.buyer.name,
            "buyer_email": self.buyer.email,
            "buyer_tel": self.buyer.tel,
            "buyer_addr": self.buyer.addr,
            "buyer_postcode": self.buyer.postcode,
            "customer_uid": self.customer_uid,
            "customer_uid_usage": self.customer_uid_usage,
            "custom_data": self.custom_data,
            "user_agent": "sorry_not_supported",
            "status": self.status.as_str(),
            "started_at": self.started_at,
            "paid_at": self.paid_at,
            "failed_at": self.failed_at,
            "cancelled_at": self.cancelled_at,
            "fail_reason": self.fail_reason,
            "cancel_reason": self.cancel_reason,
            "cancel_history": history,
        });
        if let Value::Object(map) = &mut v {
            match &self.method {
                Method::Card {
                    card_code,
                    card_name,
                    card_number,
                    card_quota,
                    apply_num,
                } => {
                    map.insert("pay_method".into(), json!("card"));
                    map.insert("card_code".into(), json!(card_code));
                    map.insert("card_name".into(), json!(card_name));
                    map.insert("card_number".into(), json!(card_number));
                    map.insert("card_quota".into(), json!(card_quota));
                    map.insert("apply_num".into(), json!(apply_num));
                }
                Method::VBank {
                    vbank_code,
                    vbank_name,
                    vbank_num,
                    vbank_holder,
                    vbank_date,
                    vbank_issued_at,
                } => {
                    map.insert("pay_method".into(), json!("vbank"));
                    map.insert("vbank_code".into(), json!(vbank_code));
                    map.insert("vbank_name".into(), json!(vbank_name));
                    map.insert("vbank_num".into(), json!(vbank_num));
                    map.insert("vbank_holder".into(), json!(vbank_holder));
                    map.insert("vbank_date".into(), json!(vbank_date));
                    map.insert("vbank_issued_at".into(), json!(vbank_issued_at));
                }
            }
        }
        v
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
    /// The `IIamportSubscription` object.
    pub(crate) fn to_json(&self) -> Value {
        let (code, name) = self.card.company();
        json!({
            "customer_uid": self.customer_uid,
            "pg_provider": PG_PROVIDER,
            "pg_id": PG_ID,
            "card_name": name,
            "card_code": code,
            "card_number": self.card.masked(),
            "card_type": "credit",
            "customer_name": self.name,
            "customer_tel": self.tel,
            "customer_email": self.email,
            "customer_addr": self.addr,
            "customer_postcode": self.postcode,
            "inserted": self.inserted,
            "updated": self.updated,
        })
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
    /// The `IIamportReceipt` object.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "imp_uid": self.imp_uid,
            "receipt_uid": self.receipt_uid,
            "apply_num": self.apply_num,
            "type": self.kind,
            "amount": self.amount,
            "vat": self.vat,
            "receipt_url": format!("https://fake-iamport.invalid/cash-receipts/{}", self.receipt_uid),
            "applied_at": self.applied_at,
            "cancelled_at": self.cancelled_at,
        })
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
    /// The `IIamportCertification` object (the OTP is never part of it).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "imp_uid": self.imp_uid,
            "merchant_uid": self.merchant_uid,
            "name": self.name,
            "gender": if self.gender_digit % 2 == 1 { "male" } else { "female" },
            "birth": self.birth,
            "birthday": self.birthday,
            "foreigner": self.gender_digit >= 5,
            "phone": self.phone,
            "carrier": self.carrier,
            "certified": self.certified_at != 0,
            "certified_at": self.certified_at,
            "unique_key": self.unique_key,
            "unique_in_site": self.unique_in_site,
            "pg_tid": self.pg_tid,
            "pg_provider": self.pg,
            "origin": "api",
        })
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

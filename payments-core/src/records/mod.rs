//! The records of the wire protocol (`shared/spec/payments-wire.md` §2), with serde names
//! exactly as the spec writes them. The server stores and returns them; the SDK sends
//! and reads them.
//!
//! - this module: histories, reservations, webhooks, errors (the base protocol);
//! - [`ErrorCode`]: every error `code` the server answers with;
//! - [`charges`]: charges, transactions, events and identity verification (`docs/`);
//! - [`coupons`]: coupons and gifts (`docs/`);
//! - [`deliveries`]: the listing of deliveries the server gave up on (`docs/`).

pub mod charges;
pub mod coupons;
pub mod deliveries;
mod error_code;

pub use error_code::{ErrorCode, UnknownErrorCode};

use crate::secret::Secret;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which PG a record belongs to. Serialized as the wire's `vendor_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VendorCode {
    /// PortOne v1 (`"iamport"`).
    #[serde(rename = "iamport")]
    Iamport,
    /// Toss Payments v1 (`"toss.payments"`).
    #[serde(rename = "toss.payments")]
    TossPayments,
    /// PortOne V2 (`"portone"`, `api.portone.io`).
    #[serde(rename = "portone")]
    PortOne,
}

impl VendorCode {
    /// The wire name: `"iamport"`, `"toss.payments"` or `"portone"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Iamport => "iamport",
            Self::TossPayments => "toss.payments",
            Self::PortOne => "portone",
        }
    }
}

impl std::fmt::Display for VendorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for VendorCode {
    type Err = UnknownVendor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "iamport" => Ok(Self::Iamport),
            "toss.payments" => Ok(Self::TossPayments),
            "portone" => Ok(Self::PortOne),
            other => Err(UnknownVendor(other.to_owned())),
        }
    }
}

/// A vendor code that is none of `iamport`, `toss.payments` and `portone`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown vendor code {0:?}: expected \"iamport\", \"toss.payments\" or \"portone\"")]
pub struct UnknownVendor(pub String);

/// `{code, store_id, uid}`: a payment or billing key at a PG. `uid` is the PG's own
/// identifier (`imp_uid`, `paymentKey`, `customer_uid`, `billingKey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vendor {
    /// Which PG.
    pub code: VendorCode,
    /// Which of the server's configured stores (merchant accounts) at that PG.
    pub store_id: String,
    /// The PG's identifier.
    pub uid: String,
}

/// `{schema, table, id}`: the caller's own record a payment belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    /// The caller's schema (database or service) name.
    pub schema: String,
    /// The caller's table name.
    pub table: String,
    /// The caller's record id; for Toss this is also the PG's `orderId`.
    pub id: String,
}

/// Source + `{password}`: reads a record by the caller's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accessor {
    /// The caller's schema.
    pub schema: String,
    /// The caller's table.
    pub table: String,
    /// The caller's record id.
    pub id: String,
    /// The record's own password.
    pub password: Secret<String>,
}

impl Accessor {
    /// The source part of the accessor.
    pub fn source(&self) -> Source {
        Source {
            schema: self.schema.clone(),
            table: self.table.clone(),
            id: self.id.clone(),
        }
    }
}

/// `{password}`: reads a record by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Password {
    /// The record's own password.
    pub password: Secret<String>,
}

/// `{reason, price, created_at}`: one cancel of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelHistory {
    /// Why it was cancelled.
    pub reason: String,
    /// How much was cancelled.
    pub price: i64,
    /// When the PG cancelled it.
    #[serde(with = "crate::timestamp")]
    pub created_at: Timestamp,
}

/// A payment recorded by the server, verified with its PG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentHistory {
    /// The server's id.
    pub id: Uuid,
    /// Which PG (the same as `vendor.code`).
    pub vendor_code: VendorCode,
    /// The payment at the PG.
    pub vendor: Vendor,
    /// The caller's record it belongs to.
    pub source: Source,
    /// The PG's own payment object, verbatim.
    pub data: serde_json::Value,
    /// ISO-4217 currency code.
    pub currency: String,
    /// The paid amount.
    pub price: i64,
    /// The refunded (cancelled) amount, `null` when nothing was cancelled.
    pub refund: Option<i64>,
    /// Where the server delivers this payment's webhooks.
    pub webhook_url: Option<String>,
    /// When the history was recorded.
    #[serde(with = "crate::timestamp")]
    pub created_at: Timestamp,
    /// When the PG says it was paid (`null` while unpaid, e.g. awaiting a deposit).
    #[serde(with = "crate::timestamp::option")]
    pub paid_at: Option<Timestamp>,
    /// When it was cancelled in full.
    #[serde(with = "crate::timestamp::option")]
    pub cancelled_at: Option<Timestamp>,
    /// Every cancel, oldest first.
    pub cancels: Vec<CancelHistory>,
}

impl PaymentHistory {
    /// The history without its source, as a [`WebhookHistory`] carries it.
    pub fn snapshot(&self) -> PaymentHistorySnapshot {
        PaymentHistorySnapshot {
            id: self.id,
            vendor_code: self.vendor_code,
            vendor: self.vendor.clone(),
            data: self.data.clone(),
            currency: self.currency.clone(),
            price: self.price,
            refund: self.refund,
            webhook_url: self.webhook_url.clone(),
            created_at: self.created_at,
            paid_at: self.paid_at,
            cancelled_at: self.cancelled_at,
            cancels: self.cancels.clone(),
        }
    }
}

/// A [`PaymentHistory`] without `source`: the `previous` and `current` of a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // the fields are those of PaymentHistory
pub struct PaymentHistorySnapshot {
    pub id: Uuid,
    pub vendor_code: VendorCode,
    pub vendor: Vendor,
    pub data: serde_json::Value,
    pub currency: String,
    pub price: i64,
    pub refund: Option<i64>,
    pub webhook_url: Option<String>,
    #[serde(with = "crate::timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "crate::timestamp::option")]
    pub paid_at: Option<Timestamp>,
    #[serde(with = "crate::timestamp::option")]
    pub cancelled_at: Option<Timestamp>,
    pub cancels: Vec<CancelHistory>,
}

/// `PaymentHistory.Create`: asks the server to verify and record a PG payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentHistoryCreate {
    /// The payment at the PG.
    pub vendor: Vendor,
    /// The caller's record (for Toss, `source.id` is the `orderId`).
    pub source: Source,
    /// The amount the caller expects; a PG amount that differs is refused with `422`.
    pub price: i64,
    /// The record's own password.
    pub password: Secret<String>,
    /// Where to deliver this payment's webhooks.
    pub webhook_url: Option<String>,
}

/// A refund account for cancelling a virtual-account payment: used for the PG call,
/// never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundAccount {
    /// The bank (the PG's bank code or name).
    pub bank: String,
    /// The account number.
    pub account: Secret<String>,
    /// The account holder's name.
    pub holder: String,
    /// The holder's mobile phone number.
    pub mobile: Option<String>,
}

/// `Cancel.Create`: cancels all or part of a recorded payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelCreate {
    /// The caller's record the payment belongs to.
    pub source: Source,
    /// The record's own password.
    pub password: Secret<String>,
    /// How much to cancel.
    pub price: i64,
    /// Why.
    pub reason: String,
    /// The refund account, for virtual-account payments.
    pub account: Option<RefundAccount>,
}

/// A billing key (saved card) recorded by the server, verified with its PG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentReservation {
    /// The server's id.
    pub id: Uuid,
    /// Which PG.
    pub vendor_code: VendorCode,
    /// The billing key at the PG.
    pub vendor: Vendor,
    /// The caller's record it belongs to.
    pub source: Source,
    /// The caller's title for it ("my card").
    pub title: String,
    /// The PG's billing key object, verbatim.
    pub data: serde_json::Value,
    /// When it was recorded.
    #[serde(with = "crate::timestamp")]
    pub created_at: Timestamp,
}

/// `Reservation.Create`: asks the server to verify and record a billing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationCreate {
    /// The billing key at the PG (`customer_uid` or `billingKey`).
    pub vendor: Vendor,
    /// The caller's record (for Toss, `source.id` is the `customerKey`).
    pub source: Source,
    /// The caller's title for it.
    pub title: String,
    /// The record's own password.
    pub password: Secret<String>,
}

/// What the server POSTs to a history's `webhook_url` when the payment changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookHistory {
    /// The webhook's id: the same on every delivery attempt, for de-duplication.
    pub id: Uuid,
    /// The caller's record the payment belongs to.
    pub source: Source,
    /// The history before the change.
    pub previous: PaymentHistorySnapshot,
    /// The history after the change.
    pub current: PaymentHistorySnapshot,
}

/// The error body every route answers with: `{status, code, message}`, plain JSON even
/// on sealed routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    pub status: u16,
    /// A stable machine-readable code (e.g. `WRONG_PASSWORD`): an [`ErrorCode`]'s wire
    /// string. Kept as text so a code a newer server adds still reads as an error body.
    pub code: String,
    /// A human-readable message naming what was wrong.
    pub message: String,
}

impl ErrorBody {
    /// The body of an error answer.
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }

    /// The code as an [`ErrorCode`], `None` for a code this version does not know.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.code.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_serializes_with_the_wire_names() {
        let at = crate::timestamp::parse("2026-11-21T03:04:05.678Z").unwrap();
        let history = PaymentHistory {
            id: Uuid::nil(),
            vendor_code: VendorCode::TossPayments,
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: "main".into(),
                uid: "pk_1".into(),
            },
            source: Source {
                schema: "shop".into(),
                table: "orders".into(),
                id: "o-1".into(),
            },
            data: json!({"paymentKey": "pk_1"}),
            currency: "KRW".into(),
            price: 10_000,
            refund: None,
            webhook_url: None,
            created_at: at,
            paid_at: Some(at),
            cancelled_at: None,
            cancels: vec![],
        };
        let value = serde_json::to_value(&history).unwrap();
        assert_eq!(
            value,
            json!({
                "id": "00000000-0000-0000-0000-000000000000",
                "vendor_code": "toss.payments",
                "vendor": {"code": "toss.payments", "store_id": "main", "uid": "pk_1"},
                "source": {"schema": "shop", "table": "orders", "id": "o-1"},
                "data": {"paymentKey": "pk_1"},
                "currency": "KRW",
                "price": 10000,
                "refund": null,
                "webhook_url": null,
                "created_at": "2026-11-21T03:04:05.678Z",
                "paid_at": "2026-11-21T03:04:05.678Z",
                "cancelled_at": null,
                "cancels": []
            })
        );
        let back: PaymentHistory = serde_json::from_value(value).unwrap();
        assert_eq!(back, history);
        let snapshot = serde_json::to_value(history.snapshot()).unwrap();
        assert!(snapshot.get("source").is_none());
    }

    #[test]
    fn accessor_and_cancel_read_the_wire_shapes() {
        let accessor: Accessor = serde_json::from_value(
            json!({"schema": "s", "table": "t", "id": "1", "password": "pw"}),
        )
        .unwrap();
        assert_eq!(accessor.password.expose(), "pw");
        assert_eq!(accessor.source().id, "1");
        let cancel: CancelCreate = serde_json::from_value(json!({
            "source": {"schema": "s", "table": "t", "id": "1"},
            "password": "pw", "price": 100, "reason": "r",
            "account": {"bank": "088", "account": "110-1", "holder": "Kim", "mobile": null}
        }))
        .unwrap();
        assert_eq!(cancel.account.unwrap().account.expose(), "110-1");
        assert!(!format!("{:?}", accessor).contains("pw\""));
    }

    #[test]
    fn vendor_code_parses_only_known_names() {
        assert_eq!("iamport".parse::<VendorCode>(), Ok(VendorCode::Iamport));
        assert_eq!("portone".parse::<VendorCode>(), Ok(VendorCode::PortOne));
        assert_eq!(
            serde_json::to_value(VendorCode::PortOne).unwrap(),
            json!("portone")
        );
        assert!("stripe".parse::<VendorCode>().is_err());
        assert!(serde_json::from_value::<VendorCode>(json!("stripe")).is_err());
    }
}

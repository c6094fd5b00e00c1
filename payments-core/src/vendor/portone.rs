//! PortOne V2 (`api.portone.io`): its `Payment`, `BillingKeyInfo` and
//! `IdentityVerification` objects, and their mapping to the normalized views. V2 times
//! are RFC 3339 strings; amounts are whole numbers in `amount{total, paid, cancelled, …}`.
//!
//! A V2 payment is named by the merchant's own `paymentId` (the object's `id`): it is both
//! the history's `vendor.uid` and the order id the server checks against `source.id`.
//!
//! | V2 `status`          | [`PaymentStatus`]                 | a history …                           |
//! |----------------------|-----------------------------------|---------------------------------------|
//! | `READY`              | [`PaymentStatus::Ready`]          | is refused (`PAYMENT_NOT_PAID`)       |
//! | `PAY_PENDING`        | [`PaymentStatus::Ready`]          | is refused (`PAYMENT_NOT_PAID`)       |
//! | `VIRTUAL_ACCOUNT_ISSUED` | [`PaymentStatus::WaitingForDeposit`] | is recorded unpaid, awaits its deposit |
//! | `PAID`               | [`PaymentStatus::Paid`]           | is recorded paid                      |
//! | `PARTIAL_CANCELLED`  | [`PaymentStatus::PartiallyCancelled`] | follows the PG's cancellations    |
//! | `CANCELLED`          | [`PaymentStatus::Cancelled`]      | follows (dated `cancelledAt`)         |
//! | `FAILED`             | [`PaymentStatus::Failed`]         | is refused (`PAYMENT_NOT_PAID`)       |
//!
//! `PAY_PENDING` (the PG has not finished approving) is [`PaymentStatus::Ready`] rather
//! than [`PaymentStatus::AwaitingConfirmation`]: the merchant has nothing to confirm, so
//! the server must not try; the raw status stays in the history's `data`. Only
//! `SUCCEEDED` cancellations count as cancels (a `REQUESTED` one has moved no money yet).

use super::{
    MappingError, PaymentStatus, VendorBillingKey, VendorPayment, amount, cancelled, currency,
    money, string,
};
use crate::money::Money;
use crate::records::{CancelHistory, VendorCode};
use crate::timestamp::{self, Timestamp};
use serde_json::Value;

fn time(value: Option<&Value>, field: &'static str) -> Result<Option<Timestamp>, MappingError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => timestamp::parse(text).map(Some).map_err(|e| {
            MappingError::new(field, format!("{text:?} is not an RFC 3339 time: {e}"))
        }),
        Some(other) => Err(MappingError::new(field, format!("{other} is not a time"))),
    }
}

fn optional_text(object: &Value, field: &str) -> Option<String> {
    object
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Maps a V2 `Payment.status` word (see the module's table).
///
/// # Errors
/// A status the V2 API does not define.
pub fn payment_status(word: &str) -> Result<PaymentStatus, MappingError> {
    Ok(match word {
        "READY" | "PAY_PENDING" => PaymentStatus::Ready,
        "VIRTUAL_ACCOUNT_ISSUED" => PaymentStatus::WaitingForDeposit,
        "PAID" => PaymentStatus::Paid,
        "PARTIAL_CANCELLED" => PaymentStatus::PartiallyCancelled,
        "CANCELLED" => PaymentStatus::Cancelled,
        "FAILED" => PaymentStatus::Failed,
        other => {
            return Err(MappingError::new(
                "status",
                format!("unknown PortOne V2 status {other:?}"),
            ));
        }
    })
}

/// Builds the normalized view of a V2 `Payment` object (`GET /payments/{paymentId}`).
///
/// `raw` keeps the object as PortOne sent it except `webhooks[]`, PortOne's log of the
/// webhooks it sent: it grows when a webhook is merely resent, and the server must not
/// read that as a change of the payment.
///
/// # Errors
/// A missing or mistyped field, named in the error.
pub fn payment_view(mut raw: Value) -> Result<VendorPayment, MappingError> {
    if let Some(object) = raw.as_object_mut() {
        object.remove("webhooks");
    }
    let status = payment_status(&string(&raw, "status")?)?;
    let amounts = raw
        .get("amount")
        .filter(|a| a.is_object())
        .ok_or_else(|| MappingError::new("amount", "missing or not an object"))?;
    let currency = currency(&raw, "currency")?;
    let total = money(amounts.get("total"), currency, "amount.total")?;
    let cancelled_amount = match amounts.get("cancelled") {
        None | Some(Value::Null) => Money::zero(currency),
        value => cancelled(
            total,
            [money(value, currency, "amount.cancelled")?],
            "amount.cancelled",
        )?,
    };
    let mut cancels = Vec::new();
    if let Some(list) = raw.get("cancellations").and_then(Value::as_array) {
        for cancel in list {
            if cancel.get("status").and_then(Value::as_str) != Some("SUCCEEDED") {
                continue;
            }
            let at = time(cancel.get("cancelledAt"), "cancellations[].cancelledAt")?
                .or(time(
                    cancel.get("requestedAt"),
                    "cancellations[].requestedAt",
                )?)
                .ok_or_else(|| MappingError::new("cancellations[].cancelledAt", "missing"))?;
            cancels.push(CancelHistory {
                reason: optional_text(cancel, "reason").unwrap_or_default(),
                price: amount(cancel.get("totalAmount"), "cancellations[].totalAmount")?,
                created_at: at,
            });
        }
    }
    cancels.sort_by_key(|c| c.created_at);
    let id = string(&raw, "id")?;
    let failure = raw.get("failure").map(|f| {
        let reason = optional_text(f, "reason");
        match (optional_text(f, "pgCode"), optional_text(f, "pgMessage")) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (_, Some(message)) => message,
            _ => reason.unwrap_or_else(|| "PortOne reported the payment failed".into()),
        }
    });
    Ok(VendorPayment {
        vendor: VendorCode::PortOne,
        uid: id.clone(),
        order_id: id,
        status,
        amount: total,
        cancelled_amount,
        paid_at: time(raw.get("paidAt"), "paidAt")?,
        cancelled_at: if status == PaymentStatus::Cancelled {
            time(raw.get("cancelledAt"), "cancelledAt")?
        } else {
            None
        },
        cancels,
        deposit_secret: None,
        failure,
        raw,
    })
}

/// Builds the view of a V2 `BillingKeyInfo` object (`GET /billing-keys/{billingKey}`).
/// The card number is the first card method's (masked by PortOne); `deleted` is
/// `status == "DELETED"`.
///
/// # Errors
/// A missing or mistyped field, named in the error.
pub fn billing_view(raw: Value) -> Result<VendorBillingKey, MappingError> {
    let card_number = raw
        .get("methods")
        .and_then(Value::as_array)
        .and_then(|methods| {
            methods
                .iter()
                .find_map(|m| m.get("card").and_then(|c| optional_text(c, "number")))
        });
    Ok(VendorBillingKey {
        vendor: VendorCode::PortOne,
        uid: string(&raw, "billingKey")?,
        customer_key: None,
        card_number,
        deleted: raw.get("status").and_then(Value::as_str) == Some("DELETED"),
        raw,
    })
}

/// A person as a `VERIFIED` V2 identity verification describes them. `ci` is the
/// person's connecting information: hash it with a key and drop it, never store it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPerson {
    /// The verified name.
    pub name: String,
    /// `yyyy-MM-dd`.
    pub birth_date: String,
    /// The verified phone number.
    pub phone: String,
    /// The CI (identifies the person at every service).
    pub ci: String,
    /// When the person completed the verification.
    pub verified_at: Timestamp,
}

/// Where a V2 identity verification stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityView {
    /// `VERIFIED`, with the person.
    Verified(VerifiedPerson),
    /// `READY` or `FAILED` (or a status added later): the person is not verified.
    NotVerified(String),
}

/// Reads a V2 `IdentityVerification` object
/// (`GET /identity-verifications/{identityVerificationId}`).
///
/// # Errors
/// A `VERIFIED` object without the name, birth date, phone number, CI or time the
/// server answers with, named in the error.
pub fn identity_view(raw: &Value) -> Result<IdentityView, MappingError> {
    let status = string(raw, "status")?;
    if status != "VERIFIED" {
        return Ok(IdentityView::NotVerified(status));
    }
    let customer = raw
        .get("verifiedCustomer")
        .filter(|c| c.is_object())
        .ok_or_else(|| MappingError::new("verifiedCustomer", "missing"))?;
    let field = |name: &'static str, path: &'static str| {
        optional_text(customer, name).ok_or_else(|| MappingError::new(path, "missing"))
    };
    Ok(IdentityView::Verified(VerifiedPerson {
        name: field("name", "verifiedCustomer.name")?,
        birth_date: field("birthDate", "verifiedCustomer.birthDate")?,
        phone: field("phoneNumber", "verifiedCustomer.phoneNumber")?,
        ci: field("ci", "verifiedCustomer.ci")?,
        verified_at: time(raw.get("verifiedAt"), "verifiedAt")?
            .ok_or_else(|| MappingError::new("verifiedAt", "missing"))?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A payment as `PaidPayment` & co. in the spec describe it (as fake-portone sends it).
    fn payment(status: &str, total: i64, cancelled: i64, cancellations: Value) -> Value {
        let mut raw = json!({
            "status": status, "id": "order-1", "transactionId": "tx-1", "merchantId": "m-1",
            "storeId": "store-1", "channel": {"type": "LIVE"}, "version": "V2",
            "requestedAt": "2026-12-01T00:00:00Z", "updatedAt": "2026-12-01T00:00:10Z",
            "statusChangedAt": "2026-12-01T00:00:10Z", "orderName": "Coffee",
            "amount": {"total": total, "taxFree": 0, "vat": total / 11, "supply": total - total / 11,
                       "discount": 0, "paid": if status == "READY" { 0 } else { total },
                       "cancelled": cancelled, "cancelledTaxFree": 0},
            "currency": "KRW", "customer": {}, "origin": {"platformType": "API"},
            "webhooks": [{"id": "wh-1", "paymentStatus": status, "isAsync": true}],
        });
        if matches!(status, "PAID" | "PARTIAL_CANCELLED" | "CANCELLED") {
            raw["paidAt"] = json!("2026-12-01T00:00:10Z");
            raw["cancellations"] = cancellations;
        }
        if matches!(status, "PARTIAL_CANCELLED" | "CANCELLED") {
            raw["cancelledAt"] = json!("2026-12-01T00:05:00Z");
        }
        if status == "FAILED" {
            raw["failedAt"] = json!("2026-12-01T00:00:10Z");
            raw["failure"] =
                json!({"reason": "declined", "pgCode": "REJECT_CARD_PAYMENT", "pgMessage": "no"});
        }
        raw
    }

    fn cancellation(status: &str, total: i64, at: &str) -> Value {
        json!({"status": status, "id": format!("c-{at}"), "totalAmount": total, "taxFreeAmount": 0,
               "vatAmount": 0, "reason": "asked", "requestedAt": at, "cancelledAt": at})
    }

    #[test]
    fn every_documented_status_maps_as_the_table_says() {
        let table = [
            ("READY", PaymentStatus::Ready),
            ("PAY_PENDING", PaymentStatus::Ready),
            ("VIRTUAL_ACCOUNT_ISSUED", PaymentStatus::WaitingForDeposit),
            ("PAID", PaymentStatus::Paid),
            ("PARTIAL_CANCELLED", PaymentStatus::PartiallyCancelled),
            ("CANCELLED", PaymentStatus::Cancelled),
            ("FAILED", PaymentStatus::Failed),
        ];
        for (word, status) in table {
            assert_eq!(payment_status(word).unwrap(), status, "{word}");
        }
        assert_eq!(payment_status("paid").unwrap_err().field, "status");
    }

    #[test]
    fn a_paid_payment_is_named_by_its_payment_id_and_drops_the_webhook_log() {
        let view = payment_view(payment("PAID", 12_000, 0, json!([]))).unwrap();
        assert_eq!(view.vendor, VendorCode::PortOne);
        assert_eq!(
            (view.uid.as_str(), view.order_id.as_str()),
            ("order-1", "order-1")
        );
        assert_eq!(view.status, PaymentStatus::Paid);
        assert_eq!(
            (view.amount.amount(), view.cancelled_amount.amount()),
            (12_000, 0)
        );
        assert_eq!(view.amount.currency().code(), "KRW");
        assert_eq!(
            view.paid_at,
            Some(timestamp::parse("2026-12-01T00:00:10Z").unwrap())
        );
        assert_eq!(view.cancelled_at, None);
        assert!(view.raw.get("webhooks").is_none());
        assert_eq!(view.raw["transactionId"], "tx-1");
    }

    #[test]
    fn only_succeeded_cancellations_count_oldest_first() {
        let list = json!([
            cancellation("SUCCEEDED", 3_000, "2026-12-01T00:04:00Z"),
            cancellation("REQUESTED", 1_000, "2026-12-01T00:04:30Z"),
            cancellation("SUCCEEDED", 2_000, "2026-12-01T00:03:00Z"),
        ]);
        let view = payment_view(payment("PARTIAL_CANCELLED", 10_000, 5_000, list)).unwrap();
        assert_eq!(view.status, PaymentStatus::PartiallyCancelled);
        assert_eq!(view.balance().amount(), 5_000);
        let prices: Vec<i64> = view.cancels.iter().map(|c| c.price).collect();
        assert_eq!(prices, [2_000, 3_000]);
        assert_eq!(view.cancelled_at, None, "only a full cancel is dated");
        let full = payment_view(payment("CANCELLED", 10_000, 10_000, json!([]))).unwrap();
        assert_eq!(
            full.cancelled_at,
            Some(timestamp::parse("2026-12-01T00:05:00Z").unwrap())
        );
    }

    #[test]
    fn a_virtual_account_waits_unpaid_and_a_failure_keeps_the_pg_reason() {
        let view = payment_view(payment("VIRTUAL_ACCOUNT_ISSUED", 30_000, 0, json!([]))).unwrap();
        assert_eq!(view.status, PaymentStatus::WaitingForDeposit);
        assert_eq!(view.paid_at, None);
        let failed = payment_view(payment("FAILED", 30_000, 0, json!([]))).unwrap();
        assert_eq!(failed.status, PaymentStatus::Failed);
        assert_eq!(failed.failure.as_deref(), Some("REJECT_CARD_PAYMENT: no"));
    }

    #[test]
    fn malformed_payments_name_the_field() {
        let mut raw = payment("PAID", 1_000, 0, json!([]));
        raw["amount"]["total"] = json!(10.5);
        assert_eq!(payment_view(raw).unwrap_err().field, "amount.total");
        let mut raw = payment("PAID", 1_000, 0, json!([]));
        raw["paidAt"] = json!("yesterday");
        assert_eq!(payment_view(raw).unwrap_err().field, "paidAt");
        let mut raw = payment("PAID", 1_000, 0, json!([]));
        raw.as_object_mut().unwrap().remove("amount");
        assert_eq!(payment_view(raw).unwrap_err().field, "amount");
    }

    #[test]
    fn billing_keys_read_their_card_and_deletion() {
        let raw = json!({"status": "ISSUED", "billingKey": "billing-key-1",
            "methods": [{"type": "BillingKeyPaymentMethodCard", "card": {"number": "4330-12**-****-1234"}}]});
        let view = billing_view(raw.clone()).unwrap();
        assert_eq!(view.uid, "billing-key-1");
        assert_eq!(view.card_number.as_deref(), Some("4330-12**-****-1234"));
        assert!(!view.deleted);
        assert!(
            billing_view(json!({"status": "DELETED", "billingKey": "b"}))
                .unwrap()
                .deleted
        );
        assert_eq!(billing_view(json!({})).unwrap_err().field, "billingKey");
    }

    #[test]
    fn only_a_verified_identity_yields_a_person() {
        let verified = json!({"status": "VERIFIED", "id": "iv-1", "verifiedAt": "2026-12-01T00:00:00Z",
            "verifiedCustomer": {"name": "홍길동", "birthDate": "1990-01-01",
                                 "phoneNumber": "01012345678", "ci": "ci-of-hong"}});
        let IdentityView::Verified(person) = identity_view(&verified).unwrap() else {
            panic!("verified");
        };
        assert_eq!(person.name, "홍길동");
        assert_eq!(person.birth_date, "1990-01-01");
        assert_eq!(person.ci, "ci-of-hong");
        for status in ["READY", "FAILED"] {
            assert_eq!(
                identity_view(&json!({"status": status})).unwrap(),
                IdentityView::NotVerified(status.into())
            );
        }
        let mut no_ci = verified.clone();
        no_ci["verifiedCustomer"]
            .as_object_mut()
            .unwrap()
            .remove("ci");
        assert_eq!(
            identity_view(&no_ci).unwrap_err().field,
            "verifiedCustomer.ci"
        );
    }
}

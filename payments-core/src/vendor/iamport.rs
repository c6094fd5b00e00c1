//! PortOne v1 (iamport): its payment and billing objects, and their mapping to the
//! normalized views. PortOne times are Unix seconds, `0` when unset.

use super::{
    MappingError, PaymentStatus, VendorBillingKey, VendorPayment, amount, cancelled, currency,
    money, string,
};
use crate::records::{CancelHistory, VendorCode};
use crate::timestamp::Timestamp;
use chrono::TimeZone;
use serde::{Deserialize, Serialize};

/// A PortOne payment object, typed for callers who want to read a history's `data`.
/// Only the fields common to every payment method are named; the rest stay in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamportPayment {
    /// PortOne's payment identifier.
    pub imp_uid: String,
    /// The merchant's order id.
    pub merchant_uid: String,
    /// `ready`, `paid`, `cancelled` or `failed`.
    pub status: String,
    /// `card`, `vbank`, `trans`, …
    pub pay_method: String,
    /// ISO-4217 currency.
    pub currency: String,
    /// The payment's amount.
    pub amount: i64,
    /// The sum of cancels.
    pub cancel_amount: i64,
    /// Unix seconds, 0 when unpaid.
    pub paid_at: i64,
    /// Unix seconds, 0 when not cancelled.
    pub cancelled_at: i64,
    /// The other fields, as PortOne sent them.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn time(
    value: Option<&serde_json::Value>,
    field: &'static str,
) -> Result<Option<Timestamp>, MappingError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => {
            let seconds = amount(Some(value), field)?;
            if seconds == 0 {
                return Ok(None);
            }
            chrono::Utc
                .timestamp_opt(seconds, 0)
                .single()
                .map(Some)
                .ok_or_else(|| MappingError::new(field, format!("{seconds} is out of range")))
        }
    }
}

/// Builds the normalized view of a PortOne payment object (the `response` of the
/// envelope, not the envelope).
///
/// # Errors
/// A missing or mistyped field, named in the error.
pub fn payment_view(raw: serde_json::Value) -> Result<VendorPayment, MappingError> {
    let word = string(&raw, "status")?;
    let pay_method = string(&raw, "pay_method")?;
    let currency = currency(&raw, "currency")?;
    let total = money(raw.get("amount"), currency, "amount")?;
    let cancel_amount = money(raw.get("cancel_amount"), currency, "cancel_amount")?;
    let cancelled_amount = cancelled(total, [cancel_amount], "cancel_amount")?;
    let status = match word.as_str() {
        "ready" if pay_method == "vbank" => PaymentStatus::WaitingForDeposit,
        "ready" => PaymentStatus::Ready,
        "paid" if !cancelled_amount.is_zero() => PaymentStatus::PartiallyCancelled,
        "paid" => PaymentStatus::Paid,
        "cancelled" => PaymentStatus::Cancelled,
        "failed" => PaymentStatus::Failed,
        other => {
            return Err(MappingError::new(
                "status",
                format!("unknown PortOne status {other:?}"),
            ));
        }
    };
    let mut cancels = Vec::new();
    if let Some(list) = raw.get("cancel_history").and_then(|c| c.as_array()) {
        for cancel in list {
            cancels.push(CancelHistory {
                reason: cancel
                    .get("reason")
                    .and_then(|r| r.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                price: amount(cancel.get("amount"), "cancel_history[].amount")?,
                created_at: time(cancel.get("cancelled_at"), "cancel_history[].cancelled_at")?
                    .ok_or_else(|| MappingError::new("cancel_history[].cancelled_at", "missing"))?,
            });
        }
    }
    cancels.sort_by_key(|c| c.created_at);
    Ok(VendorPayment {
        vendor: VendorCode::Iamport,
        uid: string(&raw, "imp_uid")?,
        order_id: string(&raw, "merchant_uid")?,
        status,
        amount: total,
        cancelled_amount,
        paid_at: time(raw.get("paid_at"), "paid_at")?,
        cancelled_at: if status == PaymentStatus::Cancelled {
            time(raw.get("cancelled_at"), "cancelled_at")?
        } else {
            None
        },
        cancels,
        deposit_secret: None,
        failure: raw
            .get("fail_reason")
            .and_then(|f| f.as_str())
            .map(str::to_owned),
        raw,
    })
}

/// Builds the view of a PortOne billing object (`IIamportSubscription`).
///
/// # Errors
/// A missing or mistyped field, named in the error.
pub fn billing_view(raw: serde_json::Value) -> Result<VendorBillingKey, MappingError> {
    Ok(VendorBillingKey {
        vendor: VendorCode::Iamport,
        uid: string(&raw, "customer_uid")?,
        customer_key: None,
        card_number: raw
            .get("card_number")
            .and_then(|c| c.as_str())
            .map(str::to_owned),
        deleted: false,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use serde_json::json;

    /// A payment as `IIamportCardPayment` / `IIamportVBankPayment` in the spec describe it.
    fn payment(
        method: &str,
        status: &str,
        cancel_amount: i64,
        history: serde_json::Value,
    ) -> serde_json::Value {
        json!({
            "imp_uid": "imp_1", "merchant_uid": "order-1", "pay_method": method,
            "name": "Coffee", "amount": 10000, "cancel_amount": cancel_amount, "currency": "KRW",
            "receipt_url": "https://example.invalid/r", "cash_receipt_issue": false,
            "channel": "api", "pg_provider": "nice", "emb_pg_provider": null, "pg_id": "pg",
            "pg_tid": "tid", "escrow": false, "buyer_name": null, "buyer_email": null,
            "buyer_tel": null, "buyer_addr": null, "buyer_postcode": null, "customer_uid": null,
            "customer_uid_usage": null, "custom_data": null, "user_agent": null,
            "status": status, "started_at": 1_795_000_000, "paid_at": if status == "ready" { 0 } else { 1_795_000_010 },
            "failed_at": 0, "cancelled_at": if status == "cancelled" { 1_795_000_100 } else { 0 },
            "fail_reason": null, "cancel_reason": null, "cancel_history": history,
            "card_code": "361", "card_name": "BC", "card_number": "4330-1200-0000-1234",
            "card_quota": 0, "apply_num": "123"
        })
    }

    #[test]
    fn a_paid_card_payment_is_paid() {
        let view = payment_view(payment("card", "paid", 0, json!([]))).unwrap();
        assert_eq!(view.status, PaymentStatus::Paid);
        assert_eq!(view.uid, "imp_1");
        assert_eq!(view.order_id, "order-1");
        assert_eq!(view.paid_at.unwrap().timestamp(), 1_795_000_010);
        assert_eq!(view.cancelled_at, None);
    }

    #[test]
    fn a_partial_cancel_keeps_paid_but_reads_as_partially_cancelled() {
        let history = json!([{"pg_id": "pg", "pg_tid": "t", "amount": 3000,
            "cancelled_at": 1_795_000_050, "reason": "one", "receipt_url": "https://example.invalid"}]);
        let view = payment_view(payment("card", "paid", 3000, history)).unwrap();
        assert_eq!(view.status, PaymentStatus::PartiallyCancelled);
        assert_eq!(view.balance(), Money::new(7000, Currency::Krw).unwrap());
        assert_eq!(view.cancels.len(), 1);
        assert_eq!(view.cancels[0].price, 3000);
    }

    #[test]
    fn a_ready_virtual_account_waits_for_its_deposit_and_zero_times_are_none() {
        let view = payment_view(payment("vbank", "ready", 0, json!([]))).unwrap();
        assert_eq!(view.status, PaymentStatus::WaitingForDeposit);
        assert_eq!(view.paid_at, None);
        let card = payment_view(payment("card", "ready", 0, json!([]))).unwrap();
        assert_eq!(card.status, PaymentStatus::Ready);
    }

    #[test]
    fn a_cancelled_payment_is_dated() {
        let view = payment_view(payment("card", "cancelled", 10000, json!([]))).unwrap();
        assert_eq!(view.status, PaymentStatus::Cancelled);
        assert_eq!(view.cancelled_at.unwrap().timestamp(), 1_795_000_100);
    }

    #[test]
    fn malformed_objects_name_the_field() {
        let mut raw = payment("card", "paid", 0, json!([]));
        raw["amount"] = json!(10.5);
        assert_eq!(payment_view(raw).unwrap_err().field, "amount");
        let raw = payment("card", "refunded", 0, json!([]));
        assert_eq!(payment_view(raw).unwrap_err().field, "status");
    }

    #[test]
    fn amounts_money_cannot_carry_are_mapping_errors() {
        let raw = payment("card", "paid", 20000, json!([]));
        assert_eq!(payment_view(raw).unwrap_err().field, "cancel_amount");
        let mut raw = payment("card", "paid", 0, json!([]));
        raw["amount"] = json!(-5);
        assert_eq!(payment_view(raw).unwrap_err().field, "amount");
        let mut raw = payment("card", "paid", 0, json!([]));
        raw["currency"] = json!("won");
        assert_eq!(payment_view(raw).unwrap_err().field, "currency");
    }

    #[test]
    fn the_typed_payment_and_billing_objects_read() {
        let typed: IamportPayment =
            serde_json::from_value(payment("card", "paid", 0, json!([]))).unwrap();
        assert_eq!(typed.merchant_uid, "order-1");
        let billing =
            billing_view(json!({"customer_uid": "cu_1", "card_number": "4330-****"})).unwrap();
        assert_eq!(billing.uid, "cu_1");
        assert_eq!(billing.customer_key, None);
    }
}

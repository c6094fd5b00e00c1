//! Toss Payments v1: its payment and billing objects, and their mapping to the
//! normalized views.

use super::{
    MappingError, PaymentStatus, VendorBillingKey, VendorPayment, amount, cancelled, currency,
    money, string,
};
use crate::records::{CancelHistory, VendorCode};
use crate::timestamp::{self, Timestamp};
use serde::{Deserialize, Serialize};

/// A Toss payment object, typed for callers who want to read a history's `data`.
/// Only the fields common to every payment method are named; the rest stay in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TossPayment {
    /// Toss's payment identifier.
    pub payment_key: String,
    /// The merchant's order id.
    pub order_id: String,
    /// `READY`, `IN_PROGRESS`, `WAITING_FOR_DEPOSIT`, `DONE`, `CANCELED`, `PARTIAL_CANCELED`,
    /// `ABORTED` or `EXPIRED`.
    pub status: String,
    /// `카드`, `가상계좌`, `계좌이체`, … as Toss names it.
    pub method: Option<String>,
    /// ISO-4217 currency.
    pub currency: String,
    /// The payment's total.
    pub total_amount: i64,
    /// What is left after cancels.
    pub balance_amount: i64,
    /// When it was approved (ISO 8601).
    pub approved_at: Option<String>,
    /// Every cancel.
    #[serde(default)]
    pub cancels: Option<Vec<serde_json::Value>>,
    /// The other fields, as Toss sent them.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Maps Toss's status word to the shared vocabulary.
///
/// # Errors
/// An unknown status word.
pub fn status(word: &str) -> Result<PaymentStatus, MappingError> {
    Ok(match word {
        "READY" => PaymentStatus::Ready,
        "IN_PROGRESS" => PaymentStatus::AwaitingConfirmation,
        "WAITING_FOR_DEPOSIT" => PaymentStatus::WaitingForDeposit,
        "DONE" => PaymentStatus::Paid,
        "PARTIAL_CANCELED" => PaymentStatus::PartiallyCancelled,
        "CANCELED" => PaymentStatus::Cancelled,
        "ABORTED" => PaymentStatus::Failed,
        "EXPIRED" => PaymentStatus::Expired,
        other => {
            return Err(MappingError::new(
                "status",
                format!("unknown Toss status {other:?}"),
            ));
        }
    })
}

fn time(
    value: Option<&serde_json::Value>,
    field: &'static str,
) -> Result<Option<Timestamp>, MappingError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => timestamp::parse(text).map(Some).map_err(|e| {
            MappingError::new(field, format!("{text:?} is not an ISO 8601 time: {e}"))
        }),
        Some(other) => Err(MappingError::new(field, format!("{other} is not a time"))),
    }
}

/// Builds the normalized view of a Toss payment object.
///
/// # Errors
/// A missing or mistyped field, named in the error.
pub fn payment_view(raw: serde_json::Value) -> Result<VendorPayment, MappingError> {
    let status = status(&string(&raw, "status")?)?;
    let currency = currency(&raw, "currency")?;
    let total = money(raw.get("totalAmount"), currency, "totalAmount")?;
    let mut cancels = Vec::new();
    let mut cancel_amounts = Vec::new();
    if let Some(list) = raw.get("cancels").and_then(|c| c.as_array()) {
        for cancel in list {
            let field = "cancels[].cancelAmount";
            cancel_amounts.push(money(cancel.get("cancelAmount"), currency, field)?);
            cancels.push(CancelHistory {
                reason: cancel
                    .get("cancelReason")
                    .and_then(|r| r.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                price: amount(cancel.get("cancelAmount"), "cancels[].cancelAmount")?,
                created_at: time(cancel.get("canceledAt"), "cancels[].canceledAt")?
                    .ok_or_else(|| MappingError::new("cancels[].canceledAt", "missing"))?,
            });
        }
    }
    let cancelled_amount = cancelled(total, cancel_amounts, "cancels[].cancelAmount")?;
    let cancelled_at = match status {
        PaymentStatus::Cancelled => cancels.last().map(|c| c.created_at),
        _ => None,
    };
    let failure = raw
        .get("failure")
        .and_then(|f| f.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_owned);
    Ok(VendorPayment {
        vendor: VendorCode::TossPayments,
        uid: string(&raw, "paymentKey")?,
        order_id: string(&raw, "orderId")?,
        status,
        amount: total,
        cancelled_amount,
        paid_at: time(raw.get("approvedAt"), "approvedAt")?,
        cancelled_at,
        cancels,
        deposit_secret: raw
            .get("secret")
            .and_then(|s| s.as_str())
            .map(str::to_owned),
        failure,
        raw,
    })
}

/// Builds the view of a Toss billing object (`ITossBilling`).
///
/// # Errors
/// A missing or mistyped field, named in the error.
pub fn billing_view(raw: serde_json::Value) -> Result<VendorBillingKey, MappingError> {
    Ok(VendorBillingKey {
        vendor: VendorCode::TossPayments,
        uid: string(&raw, "billingKey")?,
        customer_key: Some(string(&raw, "customerKey")?),
        card_number: raw
            .get("cardNumber")
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

    fn krw(amount: i64) -> Money {
        Money::new(amount, Currency::Krw).unwrap()
    }

    /// A card payment as `ITossCardPayment` in the spec describes it.
    fn card_payment(status: &str, cancels: serde_json::Value, balance: i64) -> serde_json::Value {
        json!({
            "mId": "tosspayments", "version": "2022-11-16", "paymentKey": "pk_1",
            "orderId": "order-1", "transactionKey": "tx_1", "orderName": "Coffee",
            "currency": "KRW", "method": "카드", "type": "NORMAL", "status": status,
            "totalAmount": 10000, "balanceAmount": balance, "suppliedAmount": 9091,
            "taxFreeAmount": 0, "vat": 909, "useEscrow": false, "cultureExpense": false,
            "requestedAt": "2026-11-21T12:00:00+09:00", "approvedAt": "2026-11-21T12:00:05+09:00",
            "card": {"company": "현대", "number": "433012******1234", "installmentPlanMonths": 0,
                     "isInterestFree": false, "approveNo": "00000000", "useCardPoint": false,
                     "cardType": "신용", "ownerType": "개인", "acquireStatus": "READY",
                     "receiptUrl": "https://example.invalid/r"},
            "discount": null, "easyPay": null, "cancels": cancels, "cashReceipt": null
        })
    }

    #[test]
    fn a_done_card_payment_is_paid() {
        let view = payment_view(card_payment("DONE", json!(null), 10000)).unwrap();
        assert_eq!(view.status, PaymentStatus::Paid);
        assert_eq!(view.uid, "pk_1");
        assert_eq!(view.order_id, "order-1");
        assert_eq!(view.amount, krw(10000));
        assert_eq!(view.balance(), krw(10000));
        assert_eq!(
            view.paid_at.map(|t| timestamp::format(&t)).as_deref(),
            Some("2026-11-21T03:00:05.000Z")
        );
        assert!(view.cancels.is_empty());
        assert_eq!(view.raw["card"]["company"], "현대");
    }

    #[test]
    fn cancels_are_summed_and_a_full_cancel_is_dated() {
        let cancels = json!([
            {"cancelAmount": 3000, "cancelReason": "one", "taxFreeAmount": 0, "taxAmount": 0,
             "refundableAmount": 7000, "canceledAt": "2026-11-21T12:10:00+09:00"},
            {"cancelAmount": 7000, "cancelReason": "rest", "taxFreeAmount": 0, "taxAmount": 0,
             "refundableAmount": 0, "canceledAt": "2026-11-21T12:20:00+09:00"}
        ]);
        let view = payment_view(card_payment("CANCELED", cancels, 0)).unwrap();
        assert_eq!(view.status, PaymentStatus::Cancelled);
        assert_eq!(view.cancelled_amount, krw(10000));
        assert_eq!(view.balance(), krw(0));
        assert_eq!(view.cancels[0].reason, "one");
        assert_eq!(view.cancelled_at, Some(view.cancels[1].created_at));
    }

    #[test]
    fn every_status_word_maps_and_unknown_ones_are_errors() {
        for (word, expected) in [
            ("READY", PaymentStatus::Ready),
            ("IN_PROGRESS", PaymentStatus::AwaitingConfirmation),
            ("WAITING_FOR_DEPOSIT", PaymentStatus::WaitingForDeposit),
            ("PARTIAL_CANCELED", PaymentStatus::PartiallyCancelled),
            ("ABORTED", PaymentStatus::Failed),
            ("EXPIRED", PaymentStatus::Expired),
        ] {
            assert_eq!(status(word), Ok(expected));
        }
        assert_eq!(status("PAID").unwrap_err().field, "status");
    }

    #[test]
    fn a_virtual_account_keeps_its_deposit_secret() {
        let mut raw = card_payment("WAITING_FOR_DEPOSIT", json!([]), 10000);
        raw["method"] = json!("가상계좌");
        raw["approvedAt"] = json!(null);
        raw["secret"] = json!("ps_secret");
        let view = payment_view(raw).unwrap();
        assert_eq!(view.status, PaymentStatus::WaitingForDeposit);
        assert_eq!(view.deposit_secret.as_deref(), Some("ps_secret"));
        assert_eq!(view.paid_at, None);
    }

    #[test]
    fn malformed_objects_name_the_field() {
        let mut raw = card_payment("DONE", json!(null), 10000);
        raw["totalAmount"] = json!("10000");
        assert_eq!(payment_view(raw).unwrap_err().field, "totalAmount");
        let mut raw = card_payment("DONE", json!(null), 10000);
        raw["approvedAt"] = json!("yesterday");
        assert_eq!(payment_view(raw).unwrap_err().field, "approvedAt");
        assert_eq!(payment_view(json!({})).unwrap_err().field, "status");
    }

    #[test]
    fn amounts_money_cannot_carry_are_mapping_errors() {
        let mut raw = card_payment("DONE", json!(null), 10000);
        raw["totalAmount"] = json!(-1);
        assert_eq!(payment_view(raw).unwrap_err().field, "totalAmount");
        let mut raw = card_payment("DONE", json!(null), 10000);
        raw["currency"] = json!("XYZ");
        assert_eq!(payment_view(raw).unwrap_err().field, "currency");
        let over = json!([{"cancelAmount": 20000, "cancelReason": "x",
            "canceledAt": "2026-11-21T12:10:00+09:00"}]);
        let error = payment_view(card_payment("CANCELED", over, 0)).unwrap_err();
        assert_eq!(error.field, "cancels[].cancelAmount");
    }

    #[test]
    fn the_typed_payment_reads_the_object() {
        let typed: TossPayment =
            serde_json::from_value(card_payment("DONE", json!(null), 10000)).unwrap();
        assert_eq!(typed.payment_key, "pk_1");
        assert_eq!(typed.total_amount, 10000);
        assert!(typed.extra.contains_key("card"));
    }

    #[test]
    fn billing_objects_map() {
        let view = billing_view(json!({
            "mId": "m", "billingKey": "bk_1", "method": "카드", "cardCompany": "현대",
            "cardNumber": "4330120000001234", "authenticatedAt": "2026-11-21T12:00:00+09:00",
            "customerKey": "cust-1"
        }))
        .unwrap();
        assert_eq!(view.uid, "bk_1");
        assert_eq!(view.customer_key.as_deref(), Some("cust-1"));
    }
}

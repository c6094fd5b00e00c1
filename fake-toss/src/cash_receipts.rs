//! Cash receipts: issuing and cancelling.

use chrono::{DateTime, Utc};
use serde_json::Value;

use serde::Deserialize;

use crate::error::TossError;
use crate::fields as rq;
use crate::model::{CashReceipt, Method, PaymentStatus, ReceiptSummary};
use crate::store::{Store, random_alnum, random_digits};

impl Store {
    /// `POST /v1/cash-receipts`.
    pub(crate) fn issue_cash_receipt(
        &mut self,
        r: CashReceiptReq,
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
        // samchon's fake accepts a masked number (`8803111******`).
        let allowed = |b: u8| b.is_ascii_digit() || (self.samchon && b == b'*');
        if !(10..=19).contains(&digits.len()) || !digits.bytes().all(allowed) {
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
        r: &CashReceiptCancelReq,
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

/// `POST /v1/cash-receipts` (`ITossCashReceipt.ICreate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CashReceiptReq {
    #[serde(rename = "type")]
    pub kind: String,
    pub payment_key: Option<String>,
    pub order_id: String,
    pub order_name: String,
    pub registration_number: Option<String>,
    pub customer_identity_number: Option<String>,
    pub amount: f64,
    pub tax_free_amount: Option<f64>,
}

/// `POST /v1/cash-receipts/{receiptKey}/cancel` (`ITossCashReceipt.ICancel`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CashReceiptCancelReq {
    pub amount: Option<f64>,
}

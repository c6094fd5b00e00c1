//! Payments: lookups, key-in card payments, confirmation (the widget flow), cancels.

use bytes::Bytes;
use chrono::{DateTime, Utc};

use serde::Deserialize;

use crate::error::TossError;
use crate::fields as rq;
use crate::model::{Cancel, CardInfo, Method, PaymentStatus, split_vat};
use crate::store::{Store, already_processed, check_not_expired, random_digits, random_hex};

impl Store {
    /// The payment's current JSON.
    pub(crate) fn get(&mut self, key: &str, now: DateTime<Utc>) -> Result<Bytes, TossError> {
        Ok(self.payment_mut(key, now)?.rendered.clone())
    }

    /// The payment of an order.
    pub(crate) fn get_by_order(
        &mut self,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        let key = self
            .orders
            .get(order_id)
            .cloned()
            .ok_or_else(|| TossError::payment_not_found(&format!("orderId {order_id:?}")))?;
        self.get(&key, now)
    }

    /// `POST /v1/payments/key-in`.
    pub(crate) fn key_in(&mut self, r: KeyIn, now: DateTime<Utc>) -> Result<Bytes, TossError> {
        if let Some(m) = r.method.as_deref().filter(|m| *m != "card") {
            return Err(TossError::invalid(format!(
                "method: must be \"card\", got {m:?}"
            )));
        }
        rq::card_number(&r.card_number)?;
        let (year, month) = rq::card_expiry(&r.card_expiration_year, &r.card_expiration_month)?;
        let total = rq::amount("amount", r.amount)?;
        let tax_free = Self::tax_free(r.tax_free_amount, total)?;
        let months = rq::installment(r.card_installment_plan)?;
        self.check_new_order(&r.order_id)?;
        let order_name = r.order_name.unwrap_or_else(|| "fake order".to_owned());
        rq::text("orderName", &order_name, 100)?;
        // samchon's fake never checks expiry (its test cards expired in 2024-03).
        if !self.samchon {
            check_not_expired(year, month, now)?;
        }
        let widget = r.approved == Some(false);
        if !widget && let Some(err) = self.decline_for(&r.card_number) {
            return Err(err);
        }
        let card = CardInfo {
            number: r.card_number,
            installment_months: months,
            approve_no: random_digits(8),
        };
        let mut p = Self::new_payment(
            r.order_id,
            order_name,
            Method::Card(card),
            total,
            tax_free,
            now,
        );
        if widget {
            p.status = PaymentStatus::InProgress;
        } else {
            p.status = PaymentStatus::Done;
            p.approved_at = Some(now);
        }
        Ok(self.insert(p, now))
    }

    /// `POST /v1/payments/confirm` and `POST /v1/payments/{paymentKey}`.
    pub(crate) fn confirm(
        &mut self,
        key: &str,
        order_id: &str,
        amount: f64,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        let amount = rq::amount("amount", amount)?;
        // samchon's fake answers a repeated approval of a DONE payment with the payment.
        if self.samchon
            && self
                .payments
                .get(key)
                .is_some_and(|p| p.status == PaymentStatus::Done && p.order_id == order_id)
        {
            return self.get(key, now);
        }
        let decline = {
            let p = self.payment_mut(key, now)?;
            match p.status {
                PaymentStatus::InProgress | PaymentStatus::Ready => {}
                PaymentStatus::Expired => {
                    return Err(TossError::new(
                        404,
                        "NOT_FOUND_PAYMENT_SESSION",
                        format!(
                            "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다. (payment {key} expired)"
                        ),
                    ));
                }
                _ => return Err(already_processed(p)),
            }
            if p.order_id != order_id {
                return Err(TossError::new(
                    403,
                    "FORBIDDEN_REQUEST",
                    format!(
                        "허용되지 않은 요청입니다. (orderId {order_id:?} does not match the payment's orderId)"
                    ),
                ));
            }
            if p.total != amount {
                return Err(TossError::invalid(format!(
                    "amount: {amount} does not match the payment's totalAmount {}",
                    p.total
                )));
            }
            match &p.method {
                Method::Card(c) => c.number.clone(),
                Method::VirtualAccount(_) => String::new(),
            }
        };
        let declined = if decline.is_empty() {
            None
        } else {
            self.decline_for(&decline)
        };
        let p = self.payment_mut(key, now)?;
        if let Some(err) = declined {
            p.status = PaymentStatus::Aborted;
            self.emit_status(key, now);
            return Err(err);
        }
        match p.method {
            Method::Card(_) => {
                p.status = PaymentStatus::Done;
                p.approved_at = Some(now);
            }
            Method::VirtualAccount(_) => p.status = PaymentStatus::WaitingForDeposit,
        }
        self.emit_status(key, now);
        self.get(key, now)
    }

    /// `POST /v1/payments/{paymentKey}/cancel`.
    pub(crate) fn cancel(
        &mut self,
        key: &str,
        r: CancelReq,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        if let Some(body_key) = r.payment_key.as_deref().filter(|k| *k != key) {
            return Err(TossError::invalid(format!(
                "paymentKey: body names {body_key:?} but the path names {key:?}"
            )));
        }
        rq::text("cancelReason", &r.cancel_reason, 200)?;
        let requested = r
            .cancel_amount
            .map(|a| rq::amount("cancelAmount", a))
            .transpose()?;
        let refundable = r
            .refundable_amount
            .map(|a| rq::whole("refundableAmount", a))
            .transpose()?;
        let tax_free = rq::whole("taxFreeAmount", r.tax_free_amount.unwrap_or(0.0))?;
        let p = self.payment_mut(key, now)?;
        match p.status {
            PaymentStatus::Done | PaymentStatus::PartialCanceled => {}
            PaymentStatus::WaitingForDeposit => {
                if requested.is_some_and(|a| a != p.balance) {
                    return Err(TossError::new(
                        403,
                        "NOT_CANCELABLE_AMOUNT",
                        "취소 할 수 없는 금액 입니다. (a virtual account awaiting deposit can only be cancelled in full)",
                    ));
                }
            }
            PaymentStatus::Canceled => {
                return Err(TossError::new(
                    400,
                    "ALREADY_CANCELED_PAYMENT",
                    format!("이미 취소된 결제 입니다. (payment {key})"),
                ));
            }
            other => {
                return Err(TossError::new(
                    403,
                    "NOT_CANCELABLE_PAYMENT",
                    format!(
                        "취소 할 수 없는 결제 입니다. (payment {key} is {})",
                        other.as_str()
                    ),
                ));
            }
        }
        let amount = requested.unwrap_or(p.balance);
        if amount > p.balance {
            return Err(TossError::new(
                403,
                "NOT_CANCELABLE_AMOUNT",
                format!(
                    "취소 할 수 없는 금액 입니다. (cancelAmount {amount} exceeds balanceAmount {})",
                    p.balance
                ),
            ));
        }
        if let Some(expected) = refundable.filter(|r| *r != p.balance) {
            return Err(TossError::new(
                403,
                "NOT_MATCHES_REFUNDABLE_AMOUNT",
                format!(
                    "잔액 결과가 일치하지 않습니다. (refundableAmount {expected} but balanceAmount is {})",
                    p.balance
                ),
            ));
        }
        if tax_free > amount || tax_free > p.tax_free_balance {
            return Err(TossError::invalid(format!(
                "taxFreeAmount: {tax_free} exceeds the cancel amount or the remaining tax-free amount {}",
                p.tax_free_balance
            )));
        }
        let deposited = p.approved_at.is_some();
        if let Method::VirtualAccount(acct) = &mut p.method
            && deposited
        {
            let Some(account) = r.refund_receive_account else {
                return Err(TossError::new(
                    400,
                    "INVALID_REFUND_ACCOUNT_INFO",
                    "refundReceiveAccount: required to refund a deposited virtual account",
                ));
            };
            check_refund_account(&account)?;
            acct.refund_account = serde_json::to_value(&account).ok();
        }
        let tx = random_hex(32);
        let (_, tax) = split_vat(amount - tax_free);
        p.balance -= amount;
        p.tax_free_balance -= tax_free;
        p.last_transaction_key = tx.clone();
        p.cancels.push(Cancel {
            transaction_key: tx,
            amount,
            reason: r.cancel_reason,
            tax_free,
            tax,
            refundable_after: p.balance,
            at: now,
        });
        p.status = if p.balance == 0 {
            PaymentStatus::Canceled
        } else {
            PaymentStatus::PartialCanceled
        };
        self.emit_status(key, now);
        self.get(key, now)
    }
}

fn check_refund_account(a: &RefundAccount) -> Result<(), TossError> {
    let bad = |m: String| TossError::new(400, "INVALID_REFUND_ACCOUNT_INFO", m);
    if a.bank.trim().is_empty() {
        return Err(bad("refundReceiveAccount.bank: must not be empty".into()));
    }
    if a.account_number.is_empty()
        || a.account_number.len() > 20
        || !a.account_number.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad(format!(
            "refundReceiveAccount.accountNumber: must be 1-20 digits, got {:?}",
            a.account_number
        )));
    }
    if a.holder_name.trim().is_empty() {
        return Err(bad(
            "refundReceiveAccount.holderName: must not be empty".into()
        ));
    }
    Ok(())
}

/// `POST /v1/payments/key-in` (`ITossCardPayment.ICreate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyIn {
    pub method: Option<String>,
    pub card_number: String,
    pub card_expiration_year: String,
    pub card_expiration_month: String,
    pub card_installment_plan: Option<f64>,
    pub amount: f64,
    pub tax_free_amount: Option<f64>,
    pub order_id: String,
    pub order_name: Option<String>,
    #[serde(rename = "__approved")]
    pub approved: Option<bool>,
}

/// `POST /v1/payments/confirm` and `POST /v1/payments/{paymentKey}` (`ITossPayment.IApproval`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Approval {
    pub payment_key: Option<String>,
    pub order_id: String,
    pub amount: f64,
}

/// A refund account (`refundReceiveAccount`).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundAccount {
    pub bank: String,
    pub account_number: String,
    pub holder_name: String,
}

/// `POST /v1/payments/{paymentKey}/cancel` (`ITossPaymentCancel.ICreate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelReq {
    pub payment_key: Option<String>,
    pub cancel_reason: String,
    pub cancel_amount: Option<f64>,
    pub refund_receive_account: Option<RefundAccount>,
    pub tax_free_amount: Option<f64>,
    pub refundable_amount: Option<f64>,
}

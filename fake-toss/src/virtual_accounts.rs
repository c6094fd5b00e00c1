//! Virtual accounts: issuing one, and the customer's deposit (fake-only).

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use serde::Deserialize;

use crate::clock::kst;
use crate::error::TossError;
use crate::fields as rq;
use crate::model::{AccountInfo, Method, PaymentStatus};
use crate::store::{
    DEFAULT_VALID_HOURS, Store, already_processed, random_alnum, random_digits, random_hex,
};

impl Store {
    /// `POST /v1/virtual-accounts`.
    pub(crate) fn issue_virtual_account(
        &mut self,
        r: VirtualAccountReq,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        if let Some(m) = r.method.as_deref().filter(|m| *m != "virtual-account") {
            return Err(TossError::invalid(format!(
                "method: must be \"virtual-account\", got {m:?}"
            )));
        }
        let total = rq::amount("amount", r.amount)?;
        let tax_free = Self::tax_free(r.tax_free_amount, total)?;
        rq::text("orderName", &r.order_name, 100)?;
        rq::text("bank", &r.bank, 20)?;
        rq::text("customerName", &r.customer_name, 100)?;
        self.check_new_order(&r.order_id)?;
        let due_at = match (&r.due_date, r.valid_hours) {
            (Some(_), Some(_)) => {
                return Err(TossError::invalid(
                    "dueDate, validHours: give at most one of them",
                ));
            }
            (Some(d), None) => parse_due_date(d)?,
            (None, hours) => {
                let h = rq::amount("validHours", hours.unwrap_or(168.0))?;
                if h > 720 {
                    return Err(TossError::invalid(format!(
                        "validHours: must be at most 720, got {h}"
                    )));
                }
                now + chrono::Duration::hours(if hours.is_some() {
                    h
                } else {
                    DEFAULT_VALID_HOURS
                })
            }
        };
        if due_at <= now {
            return Err(TossError::invalid("dueDate: must be in the future"));
        }
        let acct = AccountInfo {
            account_number: random_digits(14),
            bank: r.bank,
            customer_name: r.customer_name,
            due_at,
            secret: random_alnum(24),
            refund_account: None,
        };
        let mut p = Self::new_payment(
            r.order_id,
            r.order_name,
            Method::VirtualAccount(acct),
            total,
            tax_free,
            now,
        );
        p.status = if r.approved == Some(false) {
            PaymentStatus::InProgress
        } else {
            PaymentStatus::WaitingForDeposit
        };
        Ok(self.insert(p, now))
    }

    /// Fake-only: the customer deposits into a virtual account.
    pub(crate) fn deposit(&mut self, key: &str, now: DateTime<Utc>) -> Result<Bytes, TossError> {
        let p = self.payment_mut(key, now)?;
        if !matches!(p.method, Method::VirtualAccount(_)) {
            return Err(TossError::invalid(format!(
                "paymentKey: payment {key} is not a virtual-account payment"
            )));
        }
        match p.status {
            PaymentStatus::WaitingForDeposit => {}
            PaymentStatus::Expired => {
                return Err(TossError::new(
                    400,
                    "EXPIRED_VIRTUAL_ACCOUNT",
                    format!("virtual account of payment {key} expired; no deposit accepted"),
                ));
            }
            PaymentStatus::InProgress | PaymentStatus::Ready => {
                return Err(TossError::invalid(format!(
                    "payment {key} is not confirmed yet; confirm it before depositing"
                )));
            }
            _ => return Err(already_processed(p)),
        }
        p.status = PaymentStatus::Done;
        p.approved_at = Some(now);
        let tx = random_hex(32);
        p.last_transaction_key = tx;
        self.emit_status(key, now);
        self.emit_deposit(key, now);
        self.get(key, now)
    }
}

/// A due date as RFC 3339 or a `YYYY-MM-DD` date (the end of that day in Korea).
fn parse_due_date(v: &str) -> Result<DateTime<Utc>, TossError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    let bad = || {
        TossError::invalid(format!(
            "dueDate: must be RFC 3339 or YYYY-MM-DD, got {v:?}"
        ))
    };
    let date = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad())?;
    let end = date.and_hms_opt(23, 59, 59).ok_or_else(bad)?;
    kst()
        .from_local_datetime(&end)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(bad)
}

/// `POST /v1/virtual-accounts` (`ITossVirtualAccountPayment.ICreate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VirtualAccountReq {
    pub method: Option<String>,
    pub order_id: String,
    pub order_name: String,
    pub bank: String,
    pub customer_name: String,
    pub amount: f64,
    pub tax_free_amount: Option<f64>,
    pub valid_hours: Option<f64>,
    pub due_date: Option<String>,
    #[serde(rename = "__approved")]
    pub approved: Option<bool>,
}

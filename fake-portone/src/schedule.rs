//! A payment schedule: a billing-key payment to run at `timeToPay`.
//! `SCHEDULED → STARTED → SUCCEEDED | FAILED`, or `SCHEDULED → REVOKED`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::ids::ts;
use crate::requests::BillingKeyPayBody;

/// A schedule's status, as `PaymentSchedule.status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScheduleStatus {
    Scheduled,
    Succeeded,
    Failed,
    Revoked,
}

impl ScheduleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Revoked => "REVOKED",
        }
    }
}

/// One schedule.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub seq: u64,
    pub id: String,
    pub store_id: String,
    pub merchant_id: String,
    pub payment_id: String,
    pub payment: BillingKeyPayBody,
    pub time_to_pay: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub status: ScheduleStatus,
    /// When it ran (`startedAt` = `completedAt`: the fake pays at once) or was revoked.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Schedule {
    /// The `PaymentSchedule` JSON.
    pub fn render(&self) -> Value {
        let p = &self.payment;
        let customer = p.customer.clone().unwrap_or_default().render();
        let mut v = json!({
            "status": self.status.as_str(),
            "id": self.id,
            "merchantId": self.merchant_id,
            "storeId": self.store_id,
            "paymentId": self.payment_id,
            "billingKey": p.billing_key,
            "orderName": p.order_name,
            "isCulturalExpense": false,
            "isEscrow": false,
            "customer": customer,
            "customData": p.custom_data.clone().unwrap_or_default(),
            "totalAmount": p.amount.total,
            "currency": p.currency,
            "createdAt": ts(self.created_at),
            "timeToPay": ts(self.time_to_pay),
        });
        if let Some(tf) = p.amount.tax_free {
            v["taxFreeAmount"] = json!(tf);
        }
        if let Some(vat) = p.amount.vat {
            v["vatAmount"] = json!(vat);
        }
        if let Some(m) = p.installment_month {
            v["installmentMonth"] = json!(m);
        }
        if !p.notice_urls.is_empty() {
            v["noticeUrls"] = json!(p.notice_urls);
        }
        if let Some(at) = self.finished_at {
            match self.status {
                ScheduleStatus::Revoked => v["revokedAt"] = json!(ts(at)),
                ScheduleStatus::Succeeded | ScheduleStatus::Failed => {
                    v["startedAt"] = json!(ts(at));
                    v["completedAt"] = json!(ts(at));
                }
                ScheduleStatus::Scheduled => {}
            }
        }
        v
    }
}

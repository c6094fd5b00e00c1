//! Request bodies of the API and of the fake-only routes, as the OpenAPI document names
//! their fields. Unknown fields are ignored (new fields may appear in the real API).

use serde::Deserialize;
use serde_json::{Value, json};

/// `CustomerInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerInput {
    pub id: Option<String>,
    pub name: Option<CustomerName>,
    pub birth_year: Option<String>,
    pub birth_month: Option<String>,
    pub birth_day: Option<String>,
    pub gender: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub zipcode: Option<String>,
}

/// `CustomerNameInput`: a full name, or first and last.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerName {
    pub full: Option<String>,
    pub separated: Option<SeparatedName>,
}

/// `CustomerSeparatedName`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SeparatedName {
    pub first: String,
    pub last: String,
}

impl CustomerInput {
    /// The `Customer` JSON of a payment or billing key.
    pub fn render(&self) -> Value {
        let mut v = json!({});
        let name = self.name.as_ref().and_then(|n| {
            n.full.clone().or_else(|| {
                n.separated
                    .as_ref()
                    .map(|s| format!("{}{}", s.last, s.first))
            })
        });
        let fields = [
            ("id", self.id.clone()),
            ("name", name),
            ("birthYear", self.birth_year.clone()),
            ("birthMonth", self.birth_month.clone()),
            ("birthDay", self.birth_day.clone()),
            ("gender", self.gender.clone()),
            ("email", self.email.clone()),
            ("phoneNumber", self.phone_number.clone()),
            ("zipcode", self.zipcode.clone()),
        ];
        for (k, val) in fields {
            if let Some(val) = val {
                v[k] = json!(val);
            }
        }
        v
    }
}

/// `PaymentAmountInput`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AmountInput {
    pub total: i64,
    pub tax_free: Option<i64>,
    pub vat: Option<i64>,
}

/// `CardCredential`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CardCredential {
    pub number: String,
    pub expiry_year: String,
    pub expiry_month: String,
}

/// `LoginViaApiSecretBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginBody {
    pub api_secret: String,
}

/// `RefreshTokenBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshBody {
    pub refresh_token: String,
}

/// `PreRegisterPaymentBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreRegisterBody {
    pub store_id: Option<String>,
    pub total_amount: Option<i64>,
    pub tax_free_amount: Option<i64>,
    pub currency: Option<String>,
}

/// `InstantPaymentInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstantBody {
    pub store_id: Option<String>,
    pub channel_key: Option<String>,
    pub method: InstantMethod,
    pub order_name: String,
    pub customer: Option<CustomerInput>,
    pub custom_data: Option<String>,
    pub amount: AmountInput,
    pub currency: String,
    #[serde(default)]
    pub notice_urls: Vec<String>,
    #[serde(default)]
    pub skip_webhook: bool,
}

/// `InstantPaymentMethodInput`: exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstantMethod {
    pub card: Option<InstantCard>,
    pub virtual_account: Option<InstantVirtualAccount>,
}

/// `InstantPaymentMethodInputCard`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstantCard {
    pub credential: CardCredential,
    pub installment_month: Option<u32>,
}

/// `InstantPaymentMethodInputVirtualAccount`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstantVirtualAccount {
    pub bank: String,
    pub expiry: VaExpiry,
    pub option: VaOption,
    pub remittee_name: Option<String>,
}

/// `InstantPaymentMethodInputVirtualAccountExpiry`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VaExpiry {
    pub valid_hours: Option<i64>,
    pub due_date: Option<chrono::DateTime<chrono::Utc>>,
}

/// `InstantPaymentMethodInputVirtualAccountOption`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VaOption {
    #[serde(rename = "type")]
    pub kind: String,
    pub fixed: Option<VaFixed>,
}

/// `InstantPaymentMethodInputVirtualAccountOptionFixed`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VaFixed {
    pub account_number: Option<String>,
}

/// `BillingKeyPaymentInput` (and, without `skipWebhook`, `BillingKeyPaymentScheduleInput`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BillingKeyPayBody {
    pub store_id: Option<String>,
    pub billing_key: String,
    pub channel_key: Option<String>,
    pub order_name: String,
    pub customer: Option<CustomerInput>,
    pub custom_data: Option<String>,
    pub amount: AmountInput,
    pub currency: String,
    pub installment_month: Option<u32>,
    #[serde(default)]
    pub notice_urls: Vec<String>,
    #[serde(default)]
    pub skip_webhook: bool,
}

/// `CancelPaymentBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelBody {
    pub store_id: Option<String>,
    pub amount: Option<i64>,
    pub tax_free_amount: Option<i64>,
    pub vat_amount: Option<i64>,
    pub reason: String,
    pub current_cancellable_amount: Option<i64>,
    pub refund_account: Option<RefundAccount>,
    #[serde(default)]
    pub skip_webhook: bool,
}

/// `CancelPaymentBodyRefundAccount`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundAccount {
    pub bank: String,
    pub number: String,
    pub holder_name: String,
}

/// `ResendWebhookBody`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResendWebhookBody {
    pub store_id: Option<String>,
    pub webhook_id: Option<String>,
}

/// `IssueBillingKeyBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssueBillingKeyBody {
    pub store_id: Option<String>,
    pub method: IssueBillingKeyMethod,
    pub channel_key: Option<String>,
    pub customer: Option<CustomerInput>,
    pub custom_data: Option<String>,
    #[serde(default)]
    pub notice_urls: Vec<String>,
    #[serde(default)]
    pub skip_webhook: bool,
}

/// `InstantBillingKeyPaymentMethodInput`.
#[derive(Debug, Deserialize)]
pub(crate) struct IssueBillingKeyMethod {
    pub card: Option<IssueBillingKeyCard>,
}

/// `InstantBillingKeyPaymentMethodInputCard`.
#[derive(Debug, Deserialize)]
pub(crate) struct IssueBillingKeyCard {
    pub credential: CardCredential,
}

/// `CreatePaymentScheduleBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateScheduleBody {
    pub payment: BillingKeyPayBody,
    pub time_to_pay: chrono::DateTime<chrono::Utc>,
}

/// `RevokePaymentSchedulesBody`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevokeSchedulesBody {
    pub store_id: Option<String>,
    pub billing_key: Option<String>,
    pub schedule_ids: Option<Vec<String>>,
}

/// `PageInput`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct PageInput {
    pub number: Option<i64>,
    pub size: Option<i64>,
}

/// `GetPaymentsBody`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GetPaymentsBody {
    #[serde(default)]
    pub page: PageInput,
    #[serde(default)]
    pub filter: PaymentFilter,
}

/// The parts of `PaymentFilterInput` the fake applies.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentFilter {
    pub store_id: Option<String>,
    pub timestamp_type: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub status: Option<Vec<String>>,
    pub methods: Option<Vec<String>>,
    pub is_scheduled: Option<bool>,
    pub sort_order: Option<String>,
}

/// `GetPaymentSchedulesBody`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GetSchedulesBody {
    #[serde(default)]
    pub page: PageInput,
    #[serde(default)]
    pub filter: ScheduleFilter,
}

/// `PaymentScheduleFilterInput`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScheduleFilter {
    pub store_id: Option<String>,
    pub billing_key: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub status: Option<Vec<String>>,
}

/// `GetBillingKeyInfosBody`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GetBillingKeysBody {
    #[serde(default)]
    pub page: PageInput,
    #[serde(default)]
    pub filter: BillingKeyFilter,
}

/// The parts of `BillingKeyFilterInput` the fake applies.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BillingKeyFilter {
    pub store_id: Option<String>,
    pub status: Option<Vec<String>>,
    pub customer_id: Option<String>,
}

/// `SendIdentityVerificationBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendIdentityBody {
    pub store_id: Option<String>,
    pub channel_key: String,
    pub customer: SendIdentityCustomer,
    pub custom_data: Option<String>,
    pub operator: String,
    pub method: String,
}

/// `SendIdentityVerificationBodyCustomer`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendIdentityCustomer {
    pub id: Option<String>,
    pub name: String,
    pub phone_number: String,
    pub identity_number: Option<String>,
    pub ip_address: String,
}

/// `ConfirmIdentityVerificationBody`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfirmIdentityBody {
    pub store_id: Option<String>,
    pub otp: Option<String>,
}

/// The query most single-resource routes take: `?storeId=`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoreQuery {
    pub store_id: Option<String>,
}

/// `DELETE /billing-keys/{billingKey}`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteBillingKeyQuery {
    pub store_id: Option<String>,
    #[serde(default)]
    pub skip_webhook: bool,
}

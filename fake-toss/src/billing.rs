//! Billing keys: registration (card or widget auth key), lookup, charges, removal.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use serde::Deserialize;

use crate::clock::toss_time;
use crate::error::TossError;
use crate::fields as rq;
use crate::model::{Billing, CardInfo, Method, PaymentStatus};
use crate::store::{AuthKey, Outgoing, Store, check_not_expired, random_alnum, random_digits};

impl Store {
    fn register_billing(
        &mut self,
        customer_key: String,
        card_number: String,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        if let Some(err) = self.decline_for(&card_number) {
            return Err(err);
        }
        let b = Billing {
            billing_key: random_alnum(40),
            customer_key,
            card_number,
            authenticated_at: now,
        };
        let json = b.to_json();
        self.billings.insert(b.billing_key.clone(), b);
        Ok(json)
    }

    /// `POST /v1/billing/authorizations/card`.
    pub(crate) fn billing_card(
        &mut self,
        r: BillingCardReq,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        rq::card_number(&r.card_number)?;
        let (year, month) = rq::card_expiry(&r.card_expiration_year, &r.card_expiration_month)?;
        rq::customer_key(&r.customer_key)?;
        // samchon's fake never checks expiry (its test cards expired in 2024-03).
        if !self.samchon {
            check_not_expired(year, month, now)?;
        }
        self.register_billing(r.customer_key, r.card_number, now)
    }

    /// Fake-only: what the payment widget does in a browser — authenticate a card for a
    /// customer and hand back a one-time `authKey`.
    pub(crate) fn create_auth_key(&mut self, r: AuthKeyReq) -> Result<Value, TossError> {
        rq::customer_key(&r.customer_key)?;
        rq::card_number(&r.card_number)?;
        let auth_key = format!("fakeauth_{}", random_alnum(24));
        self.auth_keys.insert(
            auth_key.clone(),
            AuthKey {
                customer_key: r.customer_key.clone(),
                card_number: r.card_number,
            },
        );
        Ok(json!({ "authKey": auth_key, "customerKey": r.customer_key }))
    }

    /// `POST /v1/billing/authorizations/issue`.
    pub(crate) fn issue_billing(
        &mut self,
        r: IssueReq,
        now: DateTime<Utc>,
    ) -> Result<Value, TossError> {
        rq::customer_key(&r.customer_key)?;
        let Some(auth) = self.auth_keys.get(&r.auth_key).cloned() else {
            return Err(TossError::new(
                400,
                "INVALID_AUTH_KEY",
                format!("authKey: {:?} is unknown or already used", r.auth_key),
            ));
        };
        if auth.customer_key != r.customer_key {
            return Err(not_matches_customer_key());
        }
        self.auth_keys.remove(&r.auth_key);
        self.register_billing(r.customer_key, auth.card_number, now)
    }

    fn billing(&self, billing_key: &str, customer_key: &str) -> Result<&Billing, TossError> {
        let b = self.billings.get(billing_key).ok_or_else(|| {
            TossError::new(
                404,
                "NOT_FOUND_BILLING_KEY",
                format!("billingKey: no billing key {billing_key:?}"),
            )
        })?;
        if b.customer_key != customer_key {
            return Err(not_matches_customer_key());
        }
        Ok(b)
    }

    /// `DELETE /v1/billing/{billingKey}`: removes a billing key (the customer deleted the
    /// saved card); later charges and reads answer `404 NOT_FOUND_BILLING_KEY`, and a
    /// `BILLING_DELETED` webhook `{eventType, createdAt, data: {mId, billingKey,
    /// customerKey, deletedAt}}` is sent.
    ///
    /// # Errors
    /// `404 NOT_FOUND_BILLING_KEY` for an unknown (or already removed) key.
    pub(crate) fn delete_billing(
        &mut self,
        billing_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TossError> {
        let b = self.billings.remove(billing_key).ok_or_else(|| {
            TossError::new(
                404,
                "NOT_FOUND_BILLING_KEY",
                format!("billingKey: no billing key {billing_key:?}"),
            )
        })?;
        self.outbox.push(Outgoing {
            event_type: "BILLING_DELETED",
            body: json!({
                "eventType": "BILLING_DELETED",
                "createdAt": toss_time(now),
                "data": {
                    "mId": crate::model::MID,
                    "billingKey": b.billing_key,
                    "customerKey": b.customer_key,
                    "deletedAt": toss_time(now),
                },
            }),
        });
        Ok(())
    }

    /// `POST /v1/billing/authorizations/{billingKey}`: read a billing key back.
    pub(crate) fn read_billing(
        &self,
        billing_key: &str,
        r: &CustomerKeyReq,
    ) -> Result<Value, TossError> {
        self.billing(billing_key, &r.customer_key)
            .map(Billing::to_json)
    }

    /// `POST /v1/billing/{billingKey}`: charge a billing key.
    pub(crate) fn charge(
        &mut self,
        billing_key: &str,
        r: ChargeReq,
        now: DateTime<Utc>,
    ) -> Result<Bytes, TossError> {
        if let Some(m) = r.method.as_deref().filter(|m| *m != "billing") {
            return Err(TossError::invalid(format!(
                "method: must be \"billing\", got {m:?}"
            )));
        }
        if let Some(k) = r.billing_key.as_deref().filter(|k| *k != billing_key) {
            return Err(TossError::invalid(format!(
                "billingKey: body names {k:?} but the path names {billing_key:?}"
            )));
        }
        let total = rq::amount("amount", r.amount)?;
        let tax_free = Self::tax_free(r.tax_free_amount, total)?;
        let months = rq::installment(r.card_installment_plan)?;
        // samchon's fake charges a billing key whatever customerKey comes with it.
        let card_number = match self.billings.get(billing_key) {
            Some(b) if self.samchon => b.card_number.clone(),
            _ => self
                .billing(billing_key, &r.customer_key)?
                .card_number
                .clone(),
        };
        self.check_new_order(&r.order_id)?;
        let order_name = r
            .order_name
            .unwrap_or_else(|| "fake billing order".to_owned());
        rq::text("orderName", &order_name, 100)?;
        if let Some(err) = self.decline_for(&card_number) {
            return Err(err);
        }
        let card = CardInfo {
            number: card_number,
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
        p.billing = true;
        p.status = PaymentStatus::Done;
        p.approved_at = Some(now);
        Ok(self.insert(p, now))
    }
}

fn not_matches_customer_key() -> TossError {
    TossError::new(
        403,
        "NOT_MATCHES_CUSTOMER_KEY",
        "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다. (customerKey does not match the billing key's)",
    )
}

/// `POST /v1/billing/authorizations/card` (`ITossBilling.ICreate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BillingCardReq {
    pub card_number: String,
    pub card_expiration_year: String,
    pub card_expiration_month: String,
    pub customer_key: String,
}

/// `{customerKey}` bodies (`ITossBilling.ICustomerKey`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerKeyReq {
    pub customer_key: String,
}

/// `POST /v1/billing/authorizations/issue`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssueReq {
    pub auth_key: String,
    pub customer_key: String,
}

/// `POST /internal/billing/auth-keys` (fake-only).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthKeyReq {
    pub customer_key: String,
    pub card_number: String,
}

/// `POST /v1/billing/{billingKey}` (`ITossBilling.IPaymentStore`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChargeReq {
    pub method: Option<String>,
    pub billing_key: Option<String>,
    pub customer_key: String,
    pub amount: f64,
    pub tax_free_amount: Option<f64>,
    pub order_id: String,
    pub order_name: Option<String>,
    pub card_installment_plan: Option<f64>,
}

//! A billing key: a card saved for later payments, `ISSUED` until deleted.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::cards::Card;
use crate::ids::ts;

/// One billing key.
#[derive(Debug, Clone)]
pub(crate) struct BillingKey {
    pub seq: u64,
    pub key: String,
    pub store_id: String,
    pub merchant_id: String,
    pub card: Card,
    pub channel: Value,
    pub customer: Value,
    pub customer_id: Option<String>,
    pub custom_data: Option<String>,
    pub notice_urls: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl BillingKey {
    /// The `BillingKeyInfo` JSON (`IssuedBillingKeyInfo` or `DeletedBillingKeyInfo`).
    pub fn render(&self) -> Value {
        let method = json!({ "type": "BillingKeyPaymentMethodCard", "card": self.card.render() });
        let mut v = json!({
            "status": if self.deleted_at.is_some() { "DELETED" } else { "ISSUED" },
            "billingKey": self.key,
            "merchantId": self.merchant_id,
            "storeId": self.store_id,
            "methods": [method.clone()],
            "channels": [self.channel],
            "customer": self.customer,
            "requestedAt": ts(self.issued_at),
            "issuedAt": ts(self.issued_at),
            "pgBillingKeyIssueResponses": [{
                "type": "ISSUED",
                "channel": self.channel,
                "pgTxId": format!("pg-{}", self.key),
                "method": method,
            }],
        });
        if let Some(d) = &self.custom_data {
            v["customData"] = json!(d);
        }
        if let Some(at) = self.deleted_at {
            v["deletedAt"] = json!(ts(at));
        }
        v
    }

    /// The `BillingKeyInfoSummary` of `POST /billing-keys`.
    pub fn summary(&self) -> Value {
        json!({
            "billingKey": self.key,
            "channels": [self.channel],
            "issuedAt": ts(self.issued_at),
        })
    }
}

//! PortOne's webhooks: the event types, the bodies of both versions (`2024-04-25` and the
//! older `2024-01-01`) and Standard Webhooks signing.
//!
//! Signing follows <https://www.standardwebhooks.com>: `webhook-signature` is `v1,` and the
//! base64 HMAC-SHA256, keyed with the base64-decoded part of the `whsec_…` secret, of
//! `"{webhook-id}.{webhook-timestamp}.{body}"`. The id stays the same across retries of one
//! message; the timestamp is that of each attempt (wall-clock seconds, since the receiver
//! compares it with its own clock).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::ids::ts;

/// The body version a store's webhooks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookVersion {
    /// `{type, timestamp, data: {storeId, paymentId, transactionId, cancellationId?} |
    /// {storeId, billingKey}}` for every `Transaction.*` and `BillingKey.*` event (default).
    #[default]
    V2024_04_25,
    /// The older `{payment_id, tx_id, status}`: payment events only (billing-key events are
    /// not sent in this version).
    V2024_01_01,
}

impl WebhookVersion {
    /// The version's name as PortOne's console shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_04_25 => "2024-04-25",
            Self::V2024_01_01 => "2024-01-01",
        }
    }

    /// Parses `2024-04-25` or `2024-01-01`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "2024-04-25" => Some(Self::V2024_04_25),
            "2024-01-01" => Some(Self::V2024_01_01),
            _ => None,
        }
    }
}

/// What a webhook is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A payment event (`Transaction.*`).
    Payment {
        payment_id: String,
        transaction_id: String,
        cancellation_id: Option<String>,
    },
    /// A billing-key event (`BillingKey.*`).
    BillingKey { billing_key: String },
}

/// The body of an event in `version`, or `None` when that version has no such event.
/// `event_type` is the 2024-04-25 name (`Transaction.Paid`, `BillingKey.Issued`, …).
pub(crate) fn body(
    version: WebhookVersion,
    event_type: &str,
    at: DateTime<Utc>,
    store_id: &str,
    subject: &Subject,
) -> Option<Value> {
    match version {
        WebhookVersion::V2024_04_25 => {
            let data = match subject {
                Subject::Payment {
                    payment_id,
                    transaction_id,
                    cancellation_id,
                } => {
                    let mut d = json!({
                        "storeId": store_id,
                        "paymentId": payment_id,
                        "transactionId": transaction_id,
                    });
                    if let Some(c) = cancellation_id {
                        d["cancellationId"] = json!(c);
                    }
                    d
                }
                Subject::BillingKey { billing_key } => {
                    json!({ "storeId": store_id, "billingKey": billing_key })
                }
            };
            Some(json!({ "type": event_type, "timestamp": ts(at), "data": data }))
        }
        WebhookVersion::V2024_01_01 => match subject {
            Subject::Payment {
                payment_id,
                transaction_id,
                ..
            } => {
                let status = event_type.strip_prefix("Transaction.")?;
                Some(json!({ "payment_id": payment_id, "tx_id": transaction_id, "status": status }))
            }
            Subject::BillingKey { .. } => None,
        },
    }
}

/// The HMAC key of a `whsec_…` secret: the base64-decoded part after the prefix.
///
/// # Errors
/// A message naming what is wrong when the secret lacks the prefix or is not base64.
pub(crate) fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret
        .strip_prefix("whsec_")
        .ok_or_else(|| format!("a webhook secret starts with whsec_, got {secret:?}"))?;
    B64.decode(b64)
        .map_err(|e| format!("the webhook secret after whsec_ is not base64: {e}"))
}

/// The `webhook-signature` header value: `v1,` + base64 HMAC-SHA256 over
/// `"{id}.{timestamp}.{body}"`.
pub(crate) fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The three Standard Webhooks headers for one attempt of message `id`.
pub(crate) fn headers(key: &[u8], id: &str, body: &[u8]) -> [(&'static str, String); 3] {
    let now = Utc::now().timestamp();
    [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", now.to_string()),
        ("webhook-signature", sign(key, id, now, body)),
    ]
}

/// A fresh random `whsec_…` secret (24 random bytes).
pub(crate) fn random_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("whsec_{}", B64.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_example() {
        // The example from the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(secret_key("MfKQ").is_err());
    }

    #[test]
    fn old_version_has_no_billing_key_events() {
        let at = Utc::now();
        let bk = Subject::BillingKey {
            billing_key: "bk".into(),
        };
        assert!(
            body(
                WebhookVersion::V2024_01_01,
                "BillingKey.Issued",
                at,
                "s",
                &bk
            )
            .is_none()
        );
        let p = Subject::Payment {
            payment_id: "p".into(),
            transaction_id: "t".into(),
            cancellation_id: None,
        };
        let b = body(WebhookVersion::V2024_01_01, "Transaction.Paid", at, "s", &p).unwrap();
        assert_eq!(
            b,
            json!({"payment_id": "p", "tx_id": "t", "status": "Paid"})
        );
    }
}

//! PortOne V2 webhook signatures (Standard Webhooks): which configured store, if any,
//! signed a webhook. Checked before the body is even parsed.
//!
//! The `standardwebhooks` crate does the check: HMAC-SHA256 over
//! `"{webhook-id}.{webhook-timestamp}.{body}"` keyed with the base64 part of the store's
//! `whsec_` secret, compared in constant time against every `v1,` signature of the
//! space-separated `webhook-signature` header, with `webhook-timestamp` at most five
//! minutes from the system clock (PortOne stamps each attempt with its wall-clock time,
//! so the server's injected [`payments_core::clock::Clock`] plays no part here).

use crate::config::PortOneStore;
use http::HeaderMap;

/// One store's webhook key.
pub struct WebhookKey(standardwebhooks::Webhook);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(***)")
    }
}

impl WebhookKey {
    /// Reads a `whsec_…` secret.
    ///
    /// # Errors
    /// A secret without the `whsec_` prefix, whose rest is not base64, or that is empty;
    /// the message says which.
    pub fn new(secret: &str) -> Result<Self, String> {
        let Some(encoded) = secret.strip_prefix("whsec_") else {
            return Err("must start with whsec_ (the secret as PortOne shows it)".into());
        };
        if encoded.is_empty() {
            return Err("has nothing after whsec_".into());
        }
        standardwebhooks::Webhook::new(encoded)
            .map(Self)
            .map_err(|_| "the part after whsec_ is not base64".into())
    }

    /// Whether this key signed `body` as the headers say, within the tolerance.
    ///
    /// # Errors
    /// Why not: a missing header, a stale or future timestamp, no matching signature.
    pub fn verify(&self, body: &[u8], headers: &HeaderMap) -> Result<(), String> {
        self.0.verify(body, headers).map_err(|e| e.to_string())
    }
}

/// Why no store's key verified a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook-signature: {0}")]
pub struct BadSignature(pub String);

/// The configured stores whose webhook secret signed `body`, in configuration order
/// (more than one only when stores share a secret).
///
/// # Errors
/// [`BadSignature`] when none did (or no PortOne V2 store is configured), with the
/// reason the first store's check gave.
pub fn signing_stores<'a>(
    stores: &'a [PortOneStore],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<&'a PortOneStore>, BadSignature> {
    let mut first_problem = None;
    let mut signed = Vec::new();
    for store in stores {
        let outcome = WebhookKey::new(store.webhook_secret.expose())
            .and_then(|key| key.verify(body, headers));
        match outcome {
            Ok(()) => signed.push(store),
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    if signed.is_empty() {
        return Err(BadSignature(first_problem.unwrap_or_else(|| {
            "no PortOne V2 store is configured to verify it".into()
        })));
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use payments_core::secret::Secret;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    fn store(id: &str, secret: &str) -> PortOneStore {
        PortOneStore {
            store_id: id.into(),
            base_url: "http://127.0.0.1:9".into(),
            api_secret: Secret::new("s".into()),
            portone_store_id: format!("store-{id}"),
            webhook_secret: Secret::new(secret.into()),
        }
    }

    fn headers(id: &str, timestamp: i64, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        headers
    }

    fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .sign(id, timestamp, body)
            .unwrap()
    }

    #[test]
    fn the_signing_store_is_found_among_every_v1_signature() {
        let body = br#"{"type":"Transaction.Paid"}"#;
        let now = chrono::Utc::now().timestamp();
        let good = sign(SECRET, "msg-1", now, body);
        let stores = [store("a", "whsec_b3RoZXI="), store("b", SECRET)];
        let header = format!("v1,AAAA {good} v2,zzz");
        let signed = signing_stores(&stores, &headers("msg-1", now, &header), body).unwrap();
        assert_eq!(signed.len(), 1);
        assert_eq!(signed[0].store_id, "b");
    }

    #[test]
    fn a_changed_body_id_or_stale_timestamp_is_refused() {
        let body = br#"{"type":"Transaction.Paid"}"#;
        let now = chrono::Utc::now().timestamp();
        let stores = [store("a", SECRET)];
        let good = sign(SECRET, "msg-1", now, body);
        assert!(signing_stores(&stores, &headers("msg-1", now, &good), b"{}").is_err());
        assert!(signing_stores(&stores, &headers("msg-2", now, &good), body).is_err());
        let old = now - 301;
        let stale = sign(SECRET, "msg-1", old, body);
        let error = signing_stores(&stores, &headers("msg-1", old, &stale), body).unwrap_err();
        assert!(error.0.contains("old"), "{error}");
        assert!(signing_stores(&stores, &HeaderMap::new(), body).is_err());
        assert!(signing_stores(&[], &headers("msg-1", now, &good), body).is_err());
    }

    #[test]
    fn secrets_must_be_whsec_base64() {
        assert!(WebhookKey::new(SECRET).is_ok());
        assert!(WebhookKey::new("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(WebhookKey::new("whsec_").is_err());
        assert!(WebhookKey::new("whsec_not base64!").is_err());
        assert_eq!(
            format!("{:?}", WebhookKey::new(SECRET).unwrap()),
            "WebhookKey(***)"
        );
    }
}

//! Shared test helpers: an API client that validates every response against the copied
//! OpenAPI document (the schema of that path and status, errors included), and the
//! harness's webhook receiver (headers and raw bodies, so signatures can be checked).
#![allow(dead_code, unused_imports, missing_docs)]

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

pub use fake_harness::test_support::{Hook, Receiver};
use fake_harness::test_support::{OpenApi, jsonschema};
use fake_portone::FakePortOne;
use serde_json::{Map, Value, json};

/// The copied spec, each `oneOf` + `discriminator.mapping` made to pick its branch by the
/// tag (PortOne's variants differ mostly by it).
pub fn api() -> &'static OpenApi {
    static API: LazyLock<OpenApi> = LazyLock::new(|| {
        OpenApi::parse(include_str!("../../spec/portone-v2.openapi.json")).with_discriminators()
    });
    &API
}

pub fn spec() -> &'static Value {
    api().doc()
}

pub fn component(name: &str) -> Arc<jsonschema::Validator> {
    api().component(name)
}

/// Asserts `value` satisfies the named component schema.
pub fn assert_component(name: &str, value: &Value) {
    api().assert_component(name, value);
}

/// `(operation, status)` pairs validated in this test binary.
pub fn validated() -> BTreeSet<(String, u16)> {
    api().validated()
}

/// Validates one response against the spec's schema for the operation and status;
/// an injected `500` (which the spec does not declare) must still be `{type, message}`.
pub fn check_response(method: &str, path: &str, status: u16, body: &Value) {
    if status >= 400 {
        assert!(
            body["type"].is_string(),
            "{method} {path} -> {status}: error body is not {{type, message}}: {body}"
        );
    }
    let Some((template, _)) = api().operation(method, path) else {
        return; // /internal routes
    };
    let Some(schema) = api().response_schema(method, template, status) else {
        assert_eq!(
            status,
            500,
            "{method} {template} answered {status} {body}, spec declares {:?}",
            api().declared_statuses(method, template)
        );
        return;
    };
    match schema {
        Some(schema) => api().assert_response(method, template, status, schema, body, path),
        None => api().note_validated(method, template, status),
    }
}

/// A client for one fake and one `Authorization` value.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub auth: Option<String>,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(p: &FakePortOne) -> Self {
        Self {
            base: p.uri(),
            auth: Some(p.authorization()),
            http: reqwest::Client::new(),
        }
    }

    pub fn with_auth(&self, auth: Option<&str>) -> Self {
        Self {
            auth: auth.map(str::to_owned),
            ..self.clone()
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request reaches the fake");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        check_response(method, path, status, &json);
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(&body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send("DELETE", path, None, &[]).await
    }

    /// Asserts the answer's status and error `type`, returning the body.
    pub async fn expect_err(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
        kind: &str,
    ) -> Value {
        let (s, b) = self.send(method, path, body.as_ref(), &[]).await;
        assert_eq!(
            (s, b["type"].as_str().unwrap_or("")),
            (status, kind),
            "{method} {path}: {b}"
        );
        b
    }

    pub async fn payment(&self, id: &str) -> Value {
        let (s, p) = self.get(&format!("/payments/{id}")).await;
        assert_eq!(s, 200, "{p}");
        p
    }

    /// An instant card payment; returns the answer's status and body.
    pub async fn pay_card(&self, id: &str, total: i64, number: &str) -> (u16, Value) {
        self.post(&format!("/payments/{id}/instant"), card_body(total, number))
            .await
    }

    /// An approved instant card payment; returns the payment.
    pub async fn paid_card(&self, id: &str, total: i64) -> Value {
        let (s, b) = self.pay_card(id, total, "4330123412341234").await;
        assert_eq!(s, 200, "{b}");
        self.payment(id).await
    }

    /// An instant virtual account; returns the payment.
    pub async fn virtual_account(&self, id: &str, total: i64) -> Value {
        let (s, b) = self
            .post(
                &format!("/payments/{id}/instant"),
                json!({
                    "method": {"virtualAccount": {"bank": "SHINHAN", "expiry": {"validHours": 24}, "option": {"type": "NORMAL"}}},
                    "orderName": "books", "amount": {"total": total}, "currency": "KRW",
                }),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        self.payment(id).await
    }

    pub async fn cancel(&self, id: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/payments/{id}/cancel"), body).await
    }

    /// Issues a billing key for `number`; returns it.
    pub async fn billing_key(&self, number: &str) -> String {
        let (s, b) = self
            .post(
                "/billing-keys",
                json!({"method": {"card": {"credential": card_credential(number)}}, "customer": {"id": "customer-1"}}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["billingKeyInfo"]["billingKey"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub fn card_credential(number: &str) -> Value {
    json!({"number": number, "expiryYear": "39", "expiryMonth": "12"})
}

pub fn card_body(total: i64, number: &str) -> Value {
    json!({
        "method": {"card": {"credential": card_credential(number)}},
        "orderName": "coffee",
        "amount": {"total": total},
        "currency": "KRW",
        "customer": {"id": "customer-1", "name": {"full": "홍길동"}},
    })
}

/// Verifies a webhook's Standard Webhooks signature with the reference implementation.
pub fn verify(secret: &str, hook: &Hook) -> Result<(), standardwebhooks::WebhookError> {
    standardwebhooks::Webhook::new(secret)?.verify(&hook.body, &hook.headers)
}

/// Asserts a 2024-04-25 webhook body matches the spec's description.
pub fn assert_webhook_body(body: &Value) {
    let o: &Map<String, Value> = body.as_object().expect("object");
    assert!(o["type"].as_str().unwrap().contains('.'), "{body}");
    assert!(chrono::DateTime::parse_from_rfc3339(o["timestamp"].as_str().unwrap()).is_ok());
    assert!(o["data"]["storeId"].is_string(), "{body}");
}

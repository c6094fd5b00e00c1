//! Shared test helpers: an API client that validates every response against the copied
//! OpenAPI spec, and the harness's scriptable webhook receiver.
#![allow(dead_code, unused_imports, missing_docs)]

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

pub use fake_harness::test_support::{Hook, Receiver};
use fake_harness::test_support::{OpenApi, jsonschema};
use fake_toss::FakeToss;
use serde_json::{Value, json};

/// The copied spec.
pub fn api() -> &'static OpenApi {
    static API: LazyLock<OpenApi> =
        LazyLock::new(|| OpenApi::parse(include_str!("../../spec/toss-payments-v1.openapi.json")));
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

/// Operations whose responses were validated in this test binary.
pub fn validated() -> BTreeSet<String> {
    api().validated().into_iter().map(|(op, _)| op).collect()
}

/// Validates one response: 2xx against the spec's schema for the operation and status,
/// errors against Toss's `{code, message}`.
pub fn check_response(method: &str, path: &str, status: u16, body: &Value) {
    if status >= 400 {
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{method} {path} -> {status}: error body is not {{code, message}}: {body}"
        );
        return;
    }
    let Some((template, _)) = api().operation(method, path) else {
        return; // a route the spec does not list (confirm, orders, issue, /internal extras)
    };
    let schema = api()
        .response_schema(method, template, status)
        .unwrap_or_else(|| {
            panic!(
                "{method} {template} answered {status}, spec declares {:?}",
                api().declared_statuses(method, template)
            )
        });
    match schema {
        Some(schema) => api().assert_response(method, template, status, schema, body, path),
        None => api().note_validated(method, template, status),
    }
}

/// A client for one fake, authenticating with its secret key.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub auth: String,
    pub http: reqwest::Client,
    /// Whether answers are checked against the spec (off for samchon's shapes).
    pub validate: bool,
}

impl Api {
    pub fn new(toss: &FakeToss) -> Self {
        Self {
            base: toss.uri(),
            auth: toss.authorization(),
            http: reqwest::Client::new(),
            validate: true,
        }
    }

    /// A client that does not check answers against the spec.
    pub fn unchecked(toss: &FakeToss) -> Self {
        Self {
            validate: false,
            ..Self::new(toss)
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
        let mut req = self
            .http
            .request(m, format!("{}{path}", self.base))
            .header("authorization", &self.auth);
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
        if self.validate {
            check_response(method, path, status, &json);
        }
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(&body), &[]).await
    }

    pub async fn put(&self, path: &str) -> (u16, Value) {
        self.send("PUT", path, None, &[]).await
    }

    /// Asserts an error status and code, returning the body.
    pub async fn post_err(&self, path: &str, body: Value, status: u16, code: &str) -> Value {
        let (s, b) = self.post(path, body).await;
        assert_eq!(
            (s, b["code"].as_str().unwrap_or("")),
            (status, code),
            "{path}: {b}"
        );
        b
    }

    /// A key-in card payment, approved at once; returns the payment.
    pub async fn card_payment(&self, order_id: &str, amount: i64) -> Value {
        let (s, p) = self
            .post("/v1/payments/key-in", card_body(order_id, amount))
            .await;
        assert_eq!(s, 201, "{p}");
        p
    }

    /// A virtual account; returns the payment.
    pub async fn virtual_account(&self, order_id: &str, amount: i64) -> Value {
        let (s, p) = self
            .post(
                "/v1/virtual-accounts",
                json!({
                    "method": "virtual-account",
                    "orderId": order_id,
                    "orderName": "books",
                    "bank": "20",
                    "customerName": "Hong Gildong",
                    "amount": amount,
                }),
            )
            .await;
        assert_eq!(s, 201, "{p}");
        p
    }

    pub async fn cancel(&self, key: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/v1/payments/{key}/cancel"), body).await
    }
}

pub fn card_body(order_id: &str, amount: i64) -> Value {
    json!({
        "method": "card",
        "cardNumber": "4330123412341234",
        "cardExpirationYear": "39",
        "cardExpirationMonth": "12",
        "amount": amount,
        "orderId": order_id,
        "orderName": "coffee",
    })
}

pub fn key(p: &Value) -> String {
    p["paymentKey"].as_str().expect("paymentKey").to_owned()
}

/// Validates a PAYMENT_STATUS_CHANGED body against the spec's webhook schema.
pub fn assert_status_webhook(body: &Value) {
    assert_eq!(body["eventType"], "PAYMENT_STATUS_CHANGED");
    assert!(body["createdAt"].is_string());
    assert_component("ITossPaymentWebhook", body);
}

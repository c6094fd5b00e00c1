//! Shared test helpers: an API client that validates every response against the copied
//! OpenAPI spec, and a scriptable webhook receiver.
#![allow(dead_code, missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use fake_toss::FakeToss;
use http::StatusCode;
use serde_json::{Value, json};

const SPEC: &str = include_str!("../../spec/toss-payments-v1.openapi.json");

pub fn spec() -> &'static Value {
    static SPEC_JSON: OnceLock<Value> = OnceLock::new();
    SPEC_JSON.get_or_init(|| serde_json::from_str(SPEC).expect("spec parses"))
}

/// A validator for `schema`, resolving `#/components/...` against the spec.
pub fn validator(schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root.as_object_mut()
        .expect("schema is an object")
        .insert("components".into(), spec()["components"].clone());
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .expect("schema compiles")
}

pub fn component(name: &str) -> jsonschema::Validator {
    validator(&json!({ "$ref": format!("#/components/schemas/{name}") }))
}

/// Asserts `value` satisfies the named component schema.
pub fn assert_component(name: &str, value: &Value) {
    let v = component(name);
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name} violated: {errors:?}\n{value:#}");
}

/// The spec operation (method, template) a concrete path belongs to.
fn operation_of(method: &str, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let paths = spec()["paths"].as_object()?;
    let mut best: Option<(usize, String)> = None;
    for (template, ops) in paths {
        if ops.get(method.to_ascii_lowercase()).is_none() {
            continue;
        }
        let tsegs: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if tsegs.len() != segs.len() {
            continue;
        }
        let mut statics = 0;
        let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
            if t.starts_with('{') {
                true
            } else {
                statics += 1;
                t == s
            }
        });
        if ok && best.as_ref().is_none_or(|(n, _)| statics > *n) {
            best = Some((statics, template.clone()));
        }
    }
    best.map(|(_, t)| t)
}

type Key = (String, String, u16);

fn response_validators() -> &'static Mutex<HashMap<Key, Arc<jsonschema::Validator>>> {
    static V: OnceLock<Mutex<HashMap<Key, Arc<jsonschema::Validator>>>> = OnceLock::new();
    V.get_or_init(Default::default)
}

/// Operations whose responses were validated in this test binary.
pub fn validated() -> &'static Mutex<BTreeSet<String>> {
    static V: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    V.get_or_init(Default::default)
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
    let Some(template) = operation_of(method, path) else {
        return; // a route the spec does not list (confirm, orders, issue, /internal extras)
    };
    let op = &spec()["paths"][&template][method.to_ascii_lowercase()];
    let responses = op["responses"].as_object().expect("responses");
    let declared = responses.get(&status.to_string()).unwrap_or_else(|| {
        panic!(
            "{method} {template} answered {status}, spec declares {:?}",
            responses.keys()
        )
    });
    let Some(schema) = declared["content"]["application/json"].get("schema") else {
        validated()
            .lock()
            .unwrap()
            .insert(format!("{method} {template}"));
        return;
    };
    let key = (method.to_owned(), template.clone(), status);
    let v = {
        let mut cache = response_validators().lock().unwrap();
        cache
            .entry(key)
            .or_insert_with(|| Arc::new(validator(schema)))
            .clone()
    };
    let errors: Vec<String> = v
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} ({template}) -> {status} violates the spec: {errors:?}\n{body:#}"
    );
    validated()
        .lock()
        .unwrap()
        .insert(format!("{method} {template}"));
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

/// A webhook receiver that fails its first `fail_first` requests with 500.
#[derive(Clone, Default)]
pub struct Receiver {
    pub bodies: Arc<Mutex<Vec<Value>>>,
    pub hits: Arc<AtomicU32>,
    pub fail_first: Arc<AtomicU32>,
}

impl Receiver {
    /// Starts on 127.0.0.1:0 on the current runtime; returns it and its URL.
    pub async fn start(fail_first: u32) -> (Self, String) {
        let me = Self::default();
        me.fail_first.store(fail_first, Ordering::SeqCst);
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(me.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (me, url)
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// Polls (up to 5 s) until at least `n` bodies arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..2500 {
            let b = self.bodies();
            if b.len() >= n {
                return b;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        self.bodies()
    }
}

async fn receive(State(r): State<Receiver>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    r.hits.fetch_add(1, Ordering::SeqCst);
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.bodies.lock().unwrap().push(body);
    StatusCode::OK
}

/// Validates a PAYMENT_STATUS_CHANGED body against the spec's webhook schema.
pub fn assert_status_webhook(body: &Value) {
    assert_eq!(body["eventType"], "PAYMENT_STATUS_CHANGED");
    assert!(body["createdAt"].is_string());
    assert_component("ITossPaymentWebhook", body);
}

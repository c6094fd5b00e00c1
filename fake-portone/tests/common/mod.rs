//! Shared test helpers: an API client that validates every response against the copied
//! OpenAPI document (the schema of that path and status, errors included), and a webhook
//! receiver that keeps headers and raw bodies so signatures can be checked.
#![allow(dead_code, missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use fake_portone::FakePortOne;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

const SPEC: &str = include_str!("../../spec/portone-v2.openapi.json");

/// The spec, with each `oneOf` + `discriminator.mapping` rewritten so that a branch only
/// matches when the discriminator property has its mapped value (JSON Schema itself
/// ignores `discriminator`, and PortOne's variants differ mostly by that tag).
pub fn spec() -> &'static Value {
    static SPEC_JSON: OnceLock<Value> = OnceLock::new();
    SPEC_JSON.get_or_init(|| {
        let mut v: Value = serde_json::from_str(SPEC).expect("spec parses");
        apply_discriminators(&mut v);
        v
    })
}

fn apply_discriminators(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let mapping = o.get("discriminator").and_then(|d| {
                Some((
                    d.get("propertyName")?.as_str()?.to_owned(),
                    d.get("mapping")?.as_object()?.clone(),
                ))
            });
            if let (Some((prop, mapping)), true) = (mapping, o.contains_key("oneOf")) {
                let branches: Vec<Value> = mapping
                    .iter()
                    .map(|(tag, target)| {
                        json!({"allOf": [
                            {"$ref": target},
                            {"properties": {prop.clone(): {"const": tag}}, "required": [prop.clone()]},
                        ]})
                    })
                    .collect();
                o.insert("oneOf".into(), Value::Array(branches));
                o.remove("discriminator");
            }
            for (_, child) in o.iter_mut() {
                apply_discriminators(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(apply_discriminators),
        _ => {}
    }
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

/// The spec operation template a concrete path belongs to.
fn operation_of(method: &str, path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
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

/// `(operation, status)` pairs validated in this test binary.
pub fn validated() -> &'static Mutex<BTreeSet<(String, u16)>> {
    static V: OnceLock<Mutex<BTreeSet<(String, u16)>>> = OnceLock::new();
    V.get_or_init(Default::default)
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
    let Some(template) = operation_of(method, path) else {
        return; // /internal routes
    };
    let op = &spec()["paths"][&template][method.to_ascii_lowercase()];
    let responses = op["responses"].as_object().expect("responses");
    let Some(declared) = responses.get(&status.to_string()) else {
        assert_eq!(
            status,
            500,
            "{method} {template} answered {status} {body}, spec declares {:?}",
            responses.keys()
        );
        return;
    };
    let schema = &declared["content"]["application/json"]["schema"];
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
        .insert((format!("{method} {template}"), status));
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

/// A received webhook: headers and the exact body bytes.
#[derive(Debug, Clone)]
pub struct Hook {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Hook {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A webhook receiver that fails its first `fail_first` requests with 500.
#[derive(Clone, Default)]
pub struct Receiver {
    pub hooks: Arc<Mutex<Vec<Hook>>>,
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

    pub fn hooks(&self) -> Vec<Hook> {
        self.hooks.lock().unwrap().clone()
    }

    /// Polls (up to 5 s) until at least `n` webhooks arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Hook> {
        for _ in 0..2500 {
            let h = self.hooks();
            if h.len() >= n {
                return h;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        self.hooks()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.hits.fetch_add(1, Ordering::SeqCst);
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.hooks.lock().unwrap().push(Hook { headers, body });
    StatusCode::OK
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

//! Test helpers: an HTTP client for the fake that validates every response it sees
//! against the copied OpenAPI spec, and small builders for common requests.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use fake_harness::test_support::OpenApi;
use fake_iamport::FakeIamport;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The copied spec.
pub fn api() -> &'static OpenApi {
    static API: LazyLock<OpenApi> =
        LazyLock::new(|| OpenApi::parse(include_str!("../../spec/portone-v1.openapi.json")));
    &API
}

/// The spec as copied into the crate.
pub fn spec() -> &'static Value {
    api().doc()
}

/// Validates `instance` against `#/components/schemas/{name}` (formats included).
pub fn validate_against(name: &str, instance: &Value) {
    api().assert_component(name, instance);
}

/// The spec path template (and its operation) that `path` matches, if any.
pub fn spec_operation(method: &Method, path: &str) -> Option<(String, Value)> {
    api()
        .operation(method.as_str(), path)
        .map(|(t, op)| (t.to_owned(), op.clone()))
}

/// The envelope schema a successful answer to `method path` must match.
pub fn success_schema(method: &Method, path: &str) -> Option<String> {
    // Endpoints the spec file lacks (or documents without a schema).
    if path.starts_with("/payments/find/") {
        return Some("IIamportResponseIIamportPayment".into());
    }
    if (method == Method::DELETE && path.starts_with("/vbanks/"))
        || path.starts_with("/internal/deposit/")
    {
        return Some("IIamportResponseIIamportVBankPayment".into());
    }
    let (_, op) = spec_operation(method, path)?;
    let responses = op["responses"].as_object()?;
    responses.values().find_map(|r| {
        r["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|s| s.rsplit('/').next())
            .map(str::to_owned)
    })
}

/// Checks an answer: successes against the operation's schema, failures against the
/// error envelope (non-zero code, message, null response).
pub fn check_response(method: &Method, path: &str, status: StatusCode, body: &Value) {
    if body["code"] == json!(0) {
        assert_eq!(status, StatusCode::OK, "success must be 200: {body}");
        let schema = success_schema(method, path)
            .unwrap_or_else(|| panic!("no schema known for {method} {path}"));
        validate_against(&schema, body);
    } else {
        let code = body["code"].as_i64().expect("code is a number");
        assert_ne!(code, 0);
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "failure needs a message: {body}"
        );
        assert!(
            body["response"].is_null(),
            "failure has null response: {body}"
        );
        assert!(
            body.as_object().is_some_and(|o| o.len() == 3),
            "envelope has exactly code, message, response: {body}"
        );
    }
}

/// A client bound to one fake, with a token, validating every answer.
pub struct Api {
    pub fake: FakeIamport,
    pub http: reqwest::Client,
    pub token: String,
    /// `METHOD template` of every validated answer (spec operations only).
    pub seen: Mutex<BTreeSet<String>>,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        assert_eq!(self.body["code"], json!(0), "{}", self.body);
        &self.body["response"]
    }

    /// Asserts a failure with this HTTP status; returns the message.
    pub fn fails(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["code"], json!(-1), "{}", self.body);
        self.body["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// A fixed test time: 2026-11-21T03:00:00Z.
pub const T0: i64 = 1_795_230_000;

/// `secs` as a time, for the builder's `now`.
pub fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).expect("a valid Unix time")
}

impl Api {
    pub async fn start() -> Self {
        Self::with(FakeIamport::builder().now(at(T0)).freeze_clock(true)).await
    }

    pub async fn with(builder: fake_iamport::FakeIamportBuilder) -> Self {
        let fake = builder.start().await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let mut api = Self {
            fake,
            http,
            token: String::new(),
            seen: Mutex::new(BTreeSet::new()),
        };
        let (key, secret) = api.fake.credentials();
        let t = api
            .call(
                Method::POST,
                "/users/getToken",
                Some(json!({"imp_key": key, "imp_secret": secret})),
            )
            .await;
        api.token = t.ok()["access_token"].as_str().expect("token").to_owned();
        api
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.fake.uri()));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body: Value = resp.json().await.expect("JSON answer");
        let path_only = path.split('?').next().unwrap_or(path);
        if !path_only.starts_with("/internal/webhook") {
            check_response(&method, path_only, status, &body);
        }
        if let Some((template, _)) = spec_operation(&method, path_only) {
            self.seen
                .lock()
                .expect("seen")
                .insert(format!("{method} {template}"));
        }
        Answer {
            status,
            body,
            headers,
        }
    }

    /// A request with the current token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let auth = self.token.clone();
        if auth.is_empty() {
            self.raw(method, path, body, &[]).await
        } else {
            self.raw(method, path, body, &[("Authorization", &auth)])
                .await
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Charges a fresh card once.
    pub async fn onetime(&self, merchant_uid: &str, amount: i64, card: &str) -> Answer {
        self.post(
            "/subscribe/payments/onetime",
            json!({
                "merchant_uid": merchant_uid, "amount": amount, "name": "order",
                "card_number": card, "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12",
            }),
        )
        .await
    }

    /// Saves a card under `customer_uid`.
    pub async fn register(&self, customer_uid: &str, card: &str) -> Answer {
        self.post(
            &format!("/subscribe/customers/{customer_uid}"),
            json!({"card_number": card, "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12",
                   "customer_name": "홍길동", "customer_email": "hong@example.com"}),
        )
        .await
    }

    /// Charges the saved card of `customer_uid`.
    pub async fn again(&self, customer_uid: &str, merchant_uid: &str, amount: i64) -> Answer {
        self.post(
            "/subscribe/payments/again",
            json!({"customer_uid": customer_uid, "merchant_uid": merchant_uid,
                   "amount": amount, "name": "subscription"}),
        )
        .await
    }

    /// Issues a virtual account due a day after the fake's now.
    pub async fn vbank(&self, merchant_uid: &str, amount: i64) -> Answer {
        self.post(
            "/vbanks",
            json!({"merchant_uid": merchant_uid, "amount": amount, "vbank_code": "004",
                   "vbank_due": self.fake.now().timestamp() + 86_400, "vbank_holder": "페이먼츠",
                   "name": "order", "buyer_name": "홍길동", "buyer_email": "hong@example.com"}),
        )
        .await
    }

    pub async fn cancel(&self, body: Value) -> Answer {
        self.post("/payments/cancel", body).await
    }
}

/// A card the fake approves.
pub const GOOD_CARD: &str = "4111-1111-2222-3333";

/// Polls `f` until it returns `Some` or a few seconds pass.
pub async fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 6 s");
}

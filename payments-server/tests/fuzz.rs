//! Fuzzing every route with what an attacker or a broken client sends: JSON built from
//! the wire's own field names and values (so it reaches deep into each body type's
//! decoding and validation), arbitrary JSON and arbitrary bytes, sealed with the server's
//! sealed-v2 key so they get past the envelope, and raw bytes that are not sealed at all.
//! Every answer must be a worded JSON error (or a success): never a panic, never a `500`.
//!
//! `PAYMENTS_FUZZ_CASES` sets how many inputs run (256 in the suite); the run prints
//! how many ran and how each status answered.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use fake_toss::FakeToss;
use payments_core::envelope::{Binding, Envelope, SealedV2Key};
use payments_server::PaymentServer;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tower::ServiceExt;

const SECRET: &str = "fuzz-sealed-v2-secret-0123456789";

/// Every route that takes a body, with the method it answers to. `{id}` is filled with
/// a record id, or with anything.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/payments/histories"),
    ("PATCH", "/payments/histories/get"),
    ("PUT", "/payments/histories/cancel"),
    ("PATCH", "/payments/histories/{id}"),
    ("POST", "/payments/reservations"),
    ("PATCH", "/payments/reservations/get"),
    ("PATCH", "/payments/reservations/{id}"),
    ("POST", "/payments/charges"),
    ("PATCH", "/payments/transactions/{id}"),
    ("POST", "/payments/certifications"),
    ("POST", "/payments/coupons"),
    ("POST", "/payments/coupons/gift"),
    ("POST", "/payments/coupons/register"),
    ("POST", "/payments/coupons/redeem"),
    ("PATCH", "/payments/coupons/get"),
    ("PATCH", "/payments/deliveries/failed"),
    ("POST", "/payments/webhooks/{id}/redeliver"),
    ("POST", "/payments/events/{id}/redeliver"),
    ("POST", "/payments/webhooks/toss"),
    ("POST", "/payments/webhooks/iamport"),
    ("POST", "/payments/webhooks/portone"),
];

/// The field names of the wire's request and record types.
const FIELDS: &[&str] = &[
    "account",
    "bank",
    "before",
    "birth_date",
    "code",
    "count",
    "currency",
    "discount",
    "expires_at",
    "giver",
    "holder",
    "id",
    "kind",
    "limit",
    "lines",
    "message",
    "method",
    "name",
    "order",
    "owner",
    "password",
    "phone",
    "price",
    "product",
    "quantity",
    "reason",
    "recipient",
    "schema",
    "source",
    "store_id",
    "table",
    "title",
    "type",
    "uid",
    "url",
    "value",
    "vendor",
    "webhook_url",
    "amount",
    "percent",
    "paymentKey",
    "imp_uid",
    "merchant_uid",
    "eventType",
    "data",
    "status",
    "secret",
    "orderId",
    "billing_key",
    "customer_key",
    "card",
];

/// Values the wire gives meaning to.
const WORDS: &[&str] = &[
    "toss.payments",
    "iamport",
    "portone",
    "main",
    "card",
    "billing_key",
    "virtual_account",
    "percent",
    "amount",
    "KRW",
    "DONE",
    "paid",
    "PAYMENT_STATUS_CHANGED",
    "DEPOSIT_CALLBACK",
    "2026-12-31T00:00:00Z",
    "2026-12-31T00:00:00.000+09:00",
    "shop",
    "orders",
    "00000000-0000-4000-8000-000000000000",
    "https://shop.example/hook",
    "http://127.0.0.1:1/",
    "",
    " ",
    "\u{0}",
    "\u{202e}",
    "가나다",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN)
        ]
        .prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ]
}

/// JSON whose object keys are mostly the wire's field names.
fn wire_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    leaf().prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            4 => prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|map: BTreeMap<String, Value>| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Valid bodies for the routes that create and read records (route index, body): the
/// fuzzer replaces or removes one of their fields, to get past the shape checks.
fn templates() -> Vec<(usize, Value)> {
    let vendor = serde_json::json!({"code": "toss.payments", "store_id": "main", "uid": "pay-1"});
    let source = serde_json::json!({"schema": "shop", "table": "orders", "id": "order-1"});
    vec![
        (
            0,
            serde_json::json!({"vendor": vendor, "source": source, "price": 5000,
            "password": "record password", "webhook_url": null}),
        ),
        (
            1,
            serde_json::json!({"schema": "shop", "table": "orders", "id": "order-1",
            "password": "record password"}),
        ),
        (
            2,
            serde_json::json!({"source": source, "password": "record password",
            "price": 1000, "reason": "changed mind", "account": null}),
        ),
        (3, serde_json::json!({"password": "record password"})),
        (
            4,
            serde_json::json!({"vendor": vendor, "source": source, "title": "card",
            "password": "record password"}),
        ),
    ]
}

/// Every path to a value inside `value`, the root included.
fn paths(value: &Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    if let Value::Object(map) = value {
        for (key, inner) in map {
            let mut next = at.clone();
            next.push(key.clone());
            paths(inner, next, out);
        }
    }
}

fn mutate(mut body: Value, pick: usize, replacement: Option<Value>) -> Value {
    let mut all = Vec::new();
    paths(&body, Vec::new(), &mut all);
    let path = &all[pick % all.len()];
    let Some((last, parents)) = path.split_last() else {
        return replacement.unwrap_or(body);
    };
    let mut at = &mut body;
    for key in parents {
        at = &mut at[key.as_str()];
    }
    if let Value::Object(map) = at {
        match replacement {
            Some(value) => map.insert(last.clone(), value),
            None => map.remove(last),
        };
    }
    body
}

#[derive(Debug, Clone)]
enum Payload {
    /// A valid body of the route with one field replaced or removed, sealed.
    Mutated(Value, usize, Option<Value>),
    /// A JSON text, sealed.
    SealedJson(Value),
    /// Any bytes, sealed.
    SealedBytes(Vec<u8>),
    /// Any bytes sent as a sealed-v2 body without sealing.
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Input {
    route: usize,
    id: String,
    body: Payload,
}

fn input() -> impl Strategy<Value = Input> {
    let id = prop_oneof![
        Just("00000000-0000-4000-8000-000000000000".to_owned()),
        "[0-9a-f-]{0,40}",
        "[a-zA-Z0-9%._~-]{0,300}",
    ];
    let body = prop_oneof![
        4 => wire_json().prop_map(Payload::SealedJson),
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Payload::SealedBytes),
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Payload::Raw),
    ];
    let plain =
        (0..ROUTES.len(), id.clone(), body).prop_map(|(route, id, body)| Input { route, id, body });
    let mutated = (
        prop::sample::select(templates()),
        id,
        any::<usize>(),
        prop::option::weighted(0.8, wire_json()),
    )
        .prop_map(|((route, template), id, pick, replacement)| Input {
            route,
            id,
            body: Payload::Mutated(template, pick, replacement),
        });
    prop_oneof![2 => plain, 1 => mutated]
}

fn request(input: &Input, idempotency_key: &str) -> Request<Body> {
    let (method, template) = ROUTES[input.route];
    let path = template.replace("{id}", &input.id);
    let webhook = template.starts_with("/payments/webhooks/") && !template.contains("{id}");
    let timestamp_ms = chrono::Utc::now().timestamp_millis();
    let plaintext = match &input.body {
        Payload::SealedJson(value) => serde_json::to_vec(value).unwrap(),
        Payload::Mutated(template, pick, replacement) => {
            serde_json::to_vec(&mutate(template.clone(), *pick, replacement.clone())).unwrap()
        }
        Payload::SealedBytes(bytes) | Payload::Raw(bytes) => bytes.clone(),
    };
    let (content_type, body) = match &input.body {
        // PG webhooks are plain JSON (PortOne V2's are signed by headers it lacks here).
        _ if webhook => ("application/json", plaintext),
        Payload::Raw(bytes) => ("application/vnd.payments.sealed-v2", bytes.clone()),
        _ => {
            let sealed = Envelope::SealedV2(SealedV2Key::derive(SECRET)).seal(
                &plaintext,
                &Binding {
                    method,
                    path: &path,
                    timestamp_ms,
                    idempotency_key: Some(idempotency_key),
                },
            );
            ("application/vnd.payments.sealed-v2", sealed.into_bytes())
        }
    };
    let loopback: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .header("x-payments-timestamp", timestamp_ms.to_string())
        .header("idempotency-key", idempotency_key)
        .extension(ConnectInfo(loopback))
        .body(Body::from(body))
        .unwrap()
}

/// The server and the router the fuzz inputs go to, on `runtime`.
fn server(runtime: &tokio::runtime::Runtime) -> (FakeToss, axum::Router) {
    runtime.block_on(async {
        let toss = FakeToss::start().await;
        let app = PaymentServer::builder()
            .sealed_v2_secret(SECRET)
            .toss_store("main", toss.uri(), toss.secret_key())
            .build()
            .unwrap();
        (toss, payments_server::http::router(app))
    })
}

async fn call(router: &axum::Router, input: &Input, key: &str) -> (StatusCode, bytes::Bytes) {
    let answer = router.clone().oneshot(request(input, key)).await.unwrap();
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, body)
}

#[test]
fn the_templates_get_past_the_shape_checks() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_toss, router) = server(&runtime);
    for (n, (route, template)) in templates().into_iter().enumerate() {
        let input = Input {
            route,
            id: "00000000-0000-4000-8000-000000000000".into(),
            body: Payload::SealedJson(template),
        };
        let (status, body) = runtime.block_on(call(&router, &input, &format!("template-{n}")));
        assert_ne!(
            status,
            StatusCode::BAD_REQUEST,
            "{:?}: {body:?}",
            ROUTES[route]
        );
    }
}

#[test]
fn every_route_answers_any_body_with_a_worded_error_never_a_500() {
    let cases: u32 = std::env::var("PAYMENTS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_toss, router) = server(&runtime);
    let statuses = Mutex::new(BTreeMap::<u16, u32>::new());
    let sequence = std::sync::atomic::AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&input(), |input| {
            let key = format!(
                "fuzz-{}",
                sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let (status, body) = runtime.block_on(call(&router, &input, &key));
            *statuses.lock().unwrap().entry(status.as_u16()).or_default() += 1;
            prop_assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", body);
            if status.is_client_error() || status.is_server_error() {
                let error: Value = serde_json::from_slice(&body)
                    .map_err(|e| TestCaseError::fail(format!("{status}: not JSON: {e}")))?;
                prop_assert!(error["code"].is_string(), "{status}: {error}");
                prop_assert!(error["message"].is_string(), "{status}: {error}");
            }
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner().unwrap();
    let ran: u32 = statuses.values().sum();
    eprintln!(
        "fuzz: {ran} inputs over {} routes, answers by status {statuses:?}",
        ROUTES.len()
    );
    assert!(ran >= cases, "{ran} of {cases} inputs ran");
}

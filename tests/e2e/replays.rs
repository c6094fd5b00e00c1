//! Captured sealed-v2 requests replayed at the server (issue #17, item 3): a request is
//! accepted once, its `Idempotency-Key` is bound into its tag, and a cancel — which no
//! uniqueness rule stops from refunding twice — must carry a key.

use crate::common::*;
use payments::core::envelope::{Binding, SealedV2Key};
use payments::core::records::VendorCode;
use serde_json::{Value, json};

const CANCEL: &str = "/payments/histories/cancel";

/// A sealed-v2 request as an attacker on the wire captures it: exact bytes and headers.
struct Captured {
    body: String,
    timestamp_ms: i64,
    idempotency_key: Option<&'static str>,
}

fn capture(json: &Value, idempotency_key: Option<&'static str>) -> Captured {
    let timestamp_ms = chrono::Utc::now().timestamp_millis();
    let body = SealedV2Key::derive(SECRET).seal(
        json.to_string().as_bytes(),
        &Binding {
            method: "PUT",
            path: CANCEL,
            timestamp_ms,
            idempotency_key,
        },
    );
    Captured {
        body,
        timestamp_ms,
        idempotency_key,
    }
}

/// Sends `captured`, under `key` in place of its own when given; the status and code.
async fn send(app: &TestApp, captured: &Captured, key: Option<&str>) -> (u16, Option<String>) {
    let mut request = app
        .http
        .put(format!("{}{CANCEL}", app.server.uri()))
        .header("content-type", "application/vnd.payments.sealed-v2")
        .header("accept", "application/vnd.payments.sealed-v2")
        .header("x-payments-timestamp", captured.timestamp_ms.to_string())
        .body(captured.body.clone());
    if let Some(key) = key.or(captured.idempotency_key) {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let code = if status >= 400 {
        let body: Value = response.json().await.unwrap();
        body["code"].as_str().map(str::to_owned)
    } else {
        None
    };
    (status, code)
}

fn toss_cancels(app: &TestApp) -> usize {
    app.toss
        .received_requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/cancel"))
        .count()
}

async fn paid_history(app: &TestApp, order: &str) {
    let uid = app.toss_card(order, 10_000, true).await;
    app.client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &uid, order, 10_000))
        .await
        .unwrap();
}

fn partial_cancel(order: &str) -> Value {
    json!({
        "source": {"schema": "shop", "table": "orders", "id": order},
        "password": PASSWORD,
        "price": 1_000,
        "reason": "one item returned",
    })
}

#[tokio::test]
async fn a_captured_partial_cancel_replayed_refunds_once() {
    let app = spawn_app().await;
    paid_history(&app, "replay-1").await;
    let captured = capture(&partial_cancel("replay-1"), Some("refund-replay-1"));
    assert_eq!(send(&app, &captured, None).await, (200, None));
    for _ in 0..5 {
        assert_eq!(
            send(&app, &captured, None).await,
            (401, Some("REPLAYED".into()))
        );
    }
    assert_eq!(toss_cancels(&app), 1, "the PG was asked to refund once");
    let history = app
        .client
        .histories()
        .get(&accessor("replay-1"))
        .await
        .unwrap();
    assert_eq!(history.refund, Some(1_000));
}

#[tokio::test]
async fn a_captured_request_does_not_open_under_another_idempotency_key() {
    let app = spawn_app().await;
    paid_history(&app, "replay-2").await;
    let captured = capture(&partial_cancel("replay-2"), Some("refund-replay-2"));
    // Sent first under a key of the attacker's choosing: the tag does not verify, and the
    // real request still goes through afterwards.
    assert_eq!(
        send(&app, &captured, Some("attacker-key")).await,
        (400, Some("UNDECRYPTABLE".into()))
    );
    assert_eq!(toss_cancels(&app), 0);
    assert_eq!(send(&app, &captured, None).await, (200, None));
    assert_eq!(toss_cancels(&app), 1);
}

#[tokio::test]
async fn a_sealed_v2_cancel_without_an_idempotency_key_is_refused_before_the_pg() {
    let app = spawn_app().await;
    paid_history(&app, "replay-3").await;
    let captured = capture(&partial_cancel("replay-3"), None);
    assert_eq!(
        send(&app, &captured, None).await,
        (400, Some("IDEMPOTENCY_KEY_REQUIRED".into()))
    );
    assert_eq!(toss_cancels(&app), 0);
    // The SDK's plain `cancel` sends a key of its own.
    let history = app
        .client
        .histories()
        .cancel(&payments::core::records::CancelCreate {
            source: source("replay-3"),
            password: PASSWORD.into(),
            price: 1_000,
            reason: "one item returned".into(),
            account: None,
        })
        .await
        .unwrap();
    assert_eq!(history.refund, Some(1_000));
}

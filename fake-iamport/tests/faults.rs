//! Failure injection: latency, failing and hanging requests, webhook retries, drops,
//! duplicates, delays and reordering; webhook URL set after start.

mod common;

use std::time::{Duration, Instant};

use common::{Api, GOOD_CARD};
use fake_iamport::{FakeIamport, WebhookOutcome};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

async fn hooked_api(hooks: &MockServer) -> Api {
    Api::with(
        FakeIamport::builder()
            .now(common::at(common::T0))
            .freeze_clock(true)
            .webhook_url(format!("{}/hook", hooks.uri()))
            .webhook_retry_schedule(vec![Duration::from_millis(10), Duration::from_millis(10)]),
    )
    .await
}

#[tokio::test]
async fn latency_is_added_to_answers() {
    let api = Api::start().await;
    api.fake.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    api.get("/payments/imp_000000000000").await.fails(404);
    assert!(started.elapsed() >= Duration::from_millis(300));
    api.fake.set_latency(Duration::ZERO);
    // Builder knob too.
    let slow = Api::with(FakeIamport::builder().latency(Duration::from_millis(200))).await;
    let started = Instant::now();
    slow.get("/payments/imp_000000000000").await.fails(404);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn next_requests_fail_with_500_then_recover() {
    let api = Api::start().await;
    api.fake.fail_next(2);
    for _ in 0..2 {
        let msg = api.get("/payments/imp_000000000000").await.fails(500);
        assert!(msg.contains("injected"), "{msg}");
    }
    api.get("/payments/imp_000000000000").await.fails(404);
    // Injected failures happen before the request acts: nothing was charged.
    api.fake.fail_next(1);
    api.onetime("f-1", 1000, GOOD_CARD).await.fails(500);
    assert!(api.fake.payment_by_merchant_uid("f-1").is_none());
    api.onetime("f-1", 1000, GOOD_CARD).await.ok();
}

#[tokio::test]
async fn next_requests_hang_then_recover() {
    let api = Api::start().await;
    api.fake.hang_next(1);
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let r = short
        .get(format!("{}/payments/imp_000000000000", api.fake.uri()))
        .header("Authorization", &api.token)
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    api.get("/payments/imp_000000000000").await.fails(404);
    // The hung request was received (and recorded) all the same.
    assert_eq!(
        api.fake
            .received_requests()
            .iter()
            .filter(|r| r.path == "/payments/imp_000000000000")
            .count(),
        2
    );
}

#[tokio::test]
async fn lost_answers_after_acting_and_at_most_once_retries() {
    let api = Api::start().await;
    api.register("sub-lost", GOOD_CARD).await.ok();
    // The charge happens but its answer is a 500: a retry with the same merchant_uid
    // is refused, and the payment can be found.
    api.fake.fail_next_after_acting(1);
    let msg = api.again("sub-lost", "lost-1", 1000).await.fails(500);
    assert!(msg.contains("after acting"), "{msg}");
    api.again("sub-lost", "lost-1", 1000).await.fails(200);
    assert_eq!(
        api.get("/payments/find/lost-1").await.ok()["status"],
        serde_json::json!("paid")
    );
    // The charge happens but no answer ever comes: an Idempotency-Key retry replays it.
    api.fake.lose_response_next(1);
    let body = serde_json::json!({"customer_uid": "sub-lost", "merchant_uid": "lost-2",
                                  "amount": 1000, "name": "n"});
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let r = short
        .post(format!("{}/subscribe/payments/again", api.fake.uri()))
        .header("Authorization", &api.token)
        .header("Idempotency-Key", "lost-key")
        .json(&body)
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let replay = api
        .raw(
            reqwest::Method::POST,
            "/subscribe/payments/again",
            Some(body),
            &[
                ("Authorization", api.token.as_str()),
                ("Idempotency-Key", "lost-key"),
            ],
        )
        .await;
    assert_eq!(replay.ok()["merchant_uid"], serde_json::json!("lost-2"));
    assert_eq!(
        replay
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
}

#[tokio::test]
async fn webhook_retries_on_the_schedule_until_delivered() {
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&hooks)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&hooks)
        .await;
    let api = hooked_api(&hooks).await;
    api.onetime("wh-1", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(3, Duration::from_secs(5), |_| true)
        .await;
    let outcomes: Vec<_> = log.iter().map(|a| (a.attempt, a.outcome.clone())).collect();
    assert_eq!(
        outcomes,
        vec![
            (
                1,
                WebhookOutcome::Failed {
                    status: Some(503),
                    error: "receiver answered 503 Service Unavailable".into()
                }
            ),
            (
                2,
                WebhookOutcome::Failed {
                    status: Some(503),
                    error: "receiver answered 503 Service Unavailable".into()
                }
            ),
            (3, WebhookOutcome::Delivered { status: 200 }),
        ]
    );
    assert_eq!(log[0].json()["status"], "paid");
}

#[tokio::test]
async fn webhook_gives_up_after_the_schedule() {
    let api = Api::with(
        FakeIamport::builder()
            // Nothing listens on port 9 of loopback: connection refused.
            .webhook_url("http://127.0.0.1:9/hook")
            .webhook_retry_schedule(vec![Duration::from_millis(5)]),
    )
    .await;
    api.onetime("wh-2", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(2, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|a| matches!(a.outcome, WebhookOutcome::Failed { status: None, .. }))
    );
    // No third attempt arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(api.fake.webhooks().len(), 2);
}

#[tokio::test]
async fn webhooks_dropped_and_duplicated() {
    let hooks = receiver().await;
    let api = hooked_api(&hooks).await;
    api.fake.drop_next_webhooks(1);
    api.onetime("d-1", 1000, GOOD_CARD).await.ok();
    api.fake.duplicate_next_webhooks(1);
    api.onetime("d-2", 1000, GOOD_CARD).await.ok();
    api.onetime("d-3", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(4, Duration::from_secs(5), |_| true)
        .await;
    let by = |m: &str| -> Vec<_> {
        log.iter()
            .filter(|a| a.json()["merchant_uid"] == m)
            .collect()
    };
    assert_eq!(by("d-1").len(), 1);
    assert_eq!(by("d-1")[0].outcome, WebhookOutcome::Dropped);
    assert_eq!(by("d-2").len(), 2);
    assert_eq!(by("d-2").iter().filter(|a| a.duplicate).count(), 1);
    assert_eq!(by("d-3").len(), 1);
    let mut received = 0;
    for _ in 0..500 {
        received = hooks.received_requests().await.map_or(0, |r| r.len());
        if received >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(received, 3);
}

#[tokio::test]
async fn webhooks_delayed() {
    let hooks = receiver().await;
    let api = hooked_api(&hooks).await;
    api.fake.set_webhook_delay(Duration::from_millis(400));
    let started = Instant::now();
    api.onetime("late", 1000, GOOD_CARD).await.ok();
    assert!(api.fake.webhooks().is_empty());
    let log = api
        .fake
        .wait_for_webhooks(1, Duration::from_secs(5), |_| true)
        .await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(log[0].outcome, WebhookOutcome::Delivered { status: 200 });
}

#[tokio::test]
async fn webhooks_reordered() {
    let hooks = receiver().await;
    let api = hooked_api(&hooks).await;
    api.fake.reorder_next_webhooks(3);
    for m in ["r-1", "r-2", "r-3"] {
        api.onetime(m, 1000, GOOD_CARD).await.ok();
    }
    api.onetime("r-4", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(4, Duration::from_secs(5), |_| true)
        .await;
    let order: Vec<String> = log
        .iter()
        .map(|a| {
            a.json()["merchant_uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    // r-4 is not held back, so it may go out before or after the reversed batch.
    let batch: Vec<&str> = order
        .iter()
        .map(String::as_str)
        .filter(|m| *m != "r-4")
        .collect();
    assert_eq!(batch, vec!["r-3", "r-2", "r-1"]);
    let received = hooks.received_requests().await.expect("recorded");
    let bodies: Vec<String> = received
        .iter()
        .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
        .filter_map(|v| v["merchant_uid"].as_str().map(str::to_owned))
        .filter(|m| m != "r-4")
        .collect();
    assert_eq!(bodies, vec!["r-3", "r-2", "r-1"]);
}

#[tokio::test]
async fn webhook_url_set_after_start_and_no_url_is_logged() {
    let api = Api::start().await;
    api.onetime("u-1", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(1, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[0].outcome, WebhookOutcome::NoUrl);
    let hooks = receiver().await;
    api.fake.set_webhook_url(format!("{}/hook", hooks.uri()));
    api.onetime("u-2", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(2, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[1].outcome, WebhookOutcome::Delivered { status: 200 });
    assert_eq!(
        log[1].url.as_deref(),
        Some(format!("{}/hook", hooks.uri()).as_str())
    );
    api.fake.set_webhook_form_encoded(true);
    api.fake.set_webhook_retry_schedule(Vec::new());
    api.onetime("u-3", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(3, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[2].content_type, "application/x-www-form-urlencoded");
    api.fake.clear_webhook_url();
    api.onetime("u-4", 1000, GOOD_CARD).await.ok();
    let log = api
        .fake
        .wait_for_webhooks(4, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[3].outcome, WebhookOutcome::NoUrl);
}

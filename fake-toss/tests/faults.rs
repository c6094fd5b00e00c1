//! Every failure-injection knob, and webhook retries.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::{Api, Receiver, key};
use fake_toss::{FakeToss, WebhookOutcome};
use serde_json::json;

async fn get_with_timeout(api: &Api, path: &str, timeout: Duration) -> Result<u16, reqwest::Error> {
    api.http
        .get(format!("{}{path}", api.base))
        .header("authorization", &api.auth)
        .timeout(timeout)
        .send()
        .await
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn fail_next_answers_500_without_processing() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    toss.fail_next(2);
    for _ in 0..2 {
        let (s, e) = api
            .post("/v1/payments/key-in", common::card_body("order-f-1", 1_000))
            .await;
        assert_eq!(
            (s, e["code"].as_str().unwrap()),
            (500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
        );
    }
    assert!(
        toss.payment_by_order("order-f-1").is_none(),
        "nothing was processed"
    );
    let (s, _) = api
        .post("/v1/payments/key-in", common::card_body("order-f-1", 1_000))
        .await;
    assert_eq!(s, 201);
    // Over the fake-only endpoint as well.
    let (s, f) = api
        .send(
            "PUT",
            "/internal/faults",
            Some(&json!({"failNext": 1})),
            &[],
        )
        .await;
    assert_eq!((s, f["failNext"].as_u64()), (200, Some(1)));
    let (s, _) = api.get("/v1/payments/orders/order-f-1").await;
    assert_eq!(s, 500);
    let (s, _) = api.get("/v1/payments/orders/order-f-1").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn hang_next_never_answers() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    api.card_payment("order-h-1", 1_000).await;
    toss.hang_next(1);
    let hung = get_with_timeout(
        &api,
        "/v1/payments/orders/order-h-1",
        Duration::from_millis(300),
    )
    .await;
    assert!(hung.expect_err("no answer").is_timeout());
    let ok = get_with_timeout(
        &api,
        "/v1/payments/orders/order-h-1",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(ok.unwrap(), 200);
}

#[tokio::test]
async fn latency_delays_every_api_answer() {
    // A 10 s latency against a 300 ms client timeout: the answer cannot arrive in time,
    // whatever the machine's load; with latency back to zero it does.
    let toss = FakeToss::builder()
        .latency(Duration::from_secs(10))
        .start()
        .await;
    let api = Api::new(&toss);
    let slow = get_with_timeout(&api, "/v1/payments/none", Duration::from_millis(300)).await;
    assert!(slow.expect_err("delayed past the timeout").is_timeout());
    // Fake-only routes are never delayed.
    let (s, _) = api.get("/internal/clock").await;
    assert_eq!(s, 200);
    toss.set_latency(Duration::ZERO);
    let fast = get_with_timeout(&api, "/v1/payments/none", Duration::from_secs(5)).await;
    assert_eq!(fast.unwrap(), 404);
    let (s, f) = api
        .send(
            "PUT",
            "/internal/faults",
            Some(&json!({"latencyMs": 5})),
            &[],
        )
        .await;
    assert_eq!((s, f["latencyMs"].as_u64()), (200, Some(5)));
}

#[tokio::test]
async fn webhook_retries_follow_the_schedule_until_delivered() {
    let (rx, url) = Receiver::start(2).await;
    let toss = FakeToss::builder()
        .webhook_url(&url)
        .webhook_retry_schedule(vec![
            Duration::from_millis(5),
            Duration::from_millis(5),
            Duration::from_millis(5),
        ])
        .start()
        .await;
    let api = Api::new(&toss);
    api.card_payment("order-w-1", 1_000).await;
    let got = rx.wait_for_bodies(1).await;
    assert_eq!(got.len(), 1);
    let log = toss
        .wait_for_webhooks(3, Duration::from_secs(5), |_| true)
        .await;
    let attempts: Vec<(u32, bool)> = log.iter().map(|w| (w.attempt, w.is_delivered())).collect();
    assert_eq!(attempts, [(1, false), (2, false), (3, true)]);
    assert!(matches!(
        log[0].outcome,
        WebhookOutcome::Failed {
            status: Some(500),
            ..
        }
    ));
    assert!(log.iter().all(|w| w.event_id == log[0].event_id));
}

#[tokio::test]
async fn webhook_retries_stop_when_the_schedule_runs_out() {
    let (rx, url) = Receiver::start(100).await;
    let toss = FakeToss::builder()
        .webhook_url(&url)
        .webhook_retry_schedule(vec![Duration::from_millis(1); 2])
        .start()
        .await;
    Api::new(&toss).card_payment("order-w-2", 1_000).await;
    let log = toss
        .wait_for_webhooks(3, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|w| !w.is_delivered()));
    assert!(rx.bodies().is_empty());
    assert_eq!(rx.hits.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn dropped_webhooks_are_logged_never_sent() {
    let (rx, url) = Receiver::start(0).await;
    let toss = FakeToss::builder().webhook_url(&url).start().await;
    let api = Api::new(&toss);
    toss.drop_next_webhooks(1);
    api.card_payment("order-w-3", 1_000).await;
    api.card_payment("order-w-4", 1_000).await;
    let got = rx.wait_for_bodies(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"]["orderId"], "order-w-4");
    let log = toss.webhooks();
    assert_eq!(log[0].outcome, WebhookOutcome::Dropped);
    assert_eq!(log[0].json()["data"]["orderId"], "order-w-3");
}

#[tokio::test]
async fn duplicated_webhooks_arrive_twice() {
    let (rx, url) = Receiver::start(0).await;
    let toss = FakeToss::builder().webhook_url(&url).start().await;
    toss.duplicate_next_webhooks(1);
    Api::new(&toss).card_payment("order-w-5", 1_000).await;
    let got = rx.wait_for_bodies(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], got[1]);
}

#[tokio::test]
async fn reordered_webhooks_arrive_after_their_successor() {
    let (rx, url) = Receiver::start(0).await;
    let toss = FakeToss::builder().webhook_url(&url).start().await;
    let api = Api::new(&toss);
    let k = key(&api.virtual_account("order-w-6", 1_000).await);
    rx.wait_for_bodies(1).await;
    toss.reorder_next_webhooks(2);
    toss.deposit(&k).await.unwrap();
    let got = rx.wait_for_bodies(3).await;
    assert_eq!(got.len(), 3);
    // Deposit emits PAYMENT_STATUS_CHANGED then DEPOSIT_CALLBACK; reordered, the callback
    // arrives first.
    assert!(got[1]["secret"].is_string(), "{got:#?}");
    assert_eq!(got[2]["data"]["status"], "DONE");
}

#[tokio::test]
async fn delayed_webhooks_wait_before_delivery() {
    let (rx, url) = Receiver::start(0).await;
    let toss = FakeToss::builder().webhook_url(&url).start().await;
    toss.set_webhook_delay(Duration::from_millis(200));
    let before = chrono::Utc::now();
    Api::new(&toss).card_payment("order-w-7", 1_000).await;
    assert_eq!(rx.wait_for_bodies(1).await.len(), 1);
    let log = toss
        .wait_for_webhooks(1, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    // A lower bound only: delivery cannot happen before the delay elapsed.
    assert!(
        log[0].at - before >= chrono::Duration::milliseconds(200),
        "{:?}",
        log[0].at - before
    );
}

#[tokio::test]
async fn webhooks_without_url_are_logged_and_url_can_be_set_later() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    api.card_payment("order-w-8", 1_000).await;
    let log = toss
        .wait_for_webhooks(1, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[0].outcome, WebhookOutcome::NoUrl);
    let (rx, url) = Receiver::start(0).await;
    toss.set_webhook_url(&url);
    api.card_payment("order-w-9", 1_000).await;
    let got = rx.wait_for_bodies(1).await;
    assert_eq!(got[0]["data"]["orderId"], "order-w-9");
    // The log is readable over HTTP too (once the delivery was recorded).
    toss.wait_for_webhooks(1, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    let (s, l) = api.get("/internal/webhooks").await;
    assert_eq!(s, 200);
    assert_eq!(l.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn status_webhooks_cover_every_change() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.card_payment("order-w-10", 3_000).await);
    api.cancel(&k, json!({"cancelReason": "a", "cancelAmount": 1_000}))
        .await;
    api.cancel(&k, json!({"cancelReason": "b"})).await;
    let log = toss
        .wait_for_webhooks(3, Duration::from_secs(5), |_| true)
        .await;
    let statuses: Vec<String> = log
        .iter()
        .map(|w| w.json()["data"]["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["DONE", "PARTIAL_CANCELED", "CANCELED"]);
    for w in &log {
        common::assert_status_webhook(&w.json());
        assert_eq!(w.json()["data"]["paymentKey"], k.as_str());
    }
}

#[tokio::test]
async fn webhooks_carry_the_toss_transmission_headers() {
    let (_rx, url) = Receiver::start(1).await;
    let toss = FakeToss::builder()
        .webhook_url(&url)
        .webhook_retry_schedule(vec![Duration::from_millis(10)])
        .start()
        .await;
    let api = Api::new(&toss);
    api.card_payment("order-w-hdr", 1_000).await;
    let log = toss
        .wait_for_webhooks(2, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log.len(), 2, "{log:#?}");
    let id = log[0]
        .header("tosspayments-webhook-transmission-id")
        .expect("transmission id");
    assert_eq!(
        log[1].header("tosspayments-webhook-transmission-id"),
        Some(id),
        "a retry keeps the event's id"
    );
    let retried: Vec<_> = log
        .iter()
        .map(|w| w.header("tosspayments-webhook-transmission-retried-count"))
        .collect();
    assert_eq!(retried, [Some("0"), Some("1")]);
    let time = log[1]
        .header("tosspayments-webhook-transmission-time")
        .expect("transmission time");
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
}

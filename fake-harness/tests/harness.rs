//! The harness itself, through a minimal fake: boot in every runtime flavour, the pool
//! never hands out a used server, fault counters, webhook schedules and chaos, the
//! `/internal/` routes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use fake_harness::{Config, FakeError, Harness, Routes, Server, Vendor, Webhook, WebhookOutcome};

static VENDOR: Vendor = Vendor {
    name: "fake-test",
    faulted: |path| !path.starts_with("/internal/"),
    error: |status, message| {
        let status =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, format!("error: {message}")).into_response()
    },
    webhook_headers: |a| {
        vec![
            ("x-event-id".into(), a.event_id.to_string()),
            ("x-retried-count".into(), (a.attempt - 1).to_string()),
        ]
    },
    retry_schedule: &[Duration::from_secs(3600)],
    body_limit: 1024,
    ..Vendor::DEFAULT
};

/// The test fake's state: a counter that `POST /count` bumps.
#[derive(Debug, Clone)]
struct Counter {
    harness: Arc<Harness>,
    hits: Arc<AtomicU32>,
}

async fn count(Extension(c): Extension<Counter>) -> Response {
    let n = c.hits.fetch_add(1, Ordering::SeqCst) + 1;
    c.harness
        .send_webhook(Webhook::json("COUNTED", &serde_json::json!({ "n": n })));
    n.to_string().into_response()
}

async fn hits(Extension(c): Extension<Counter>) -> Response {
    c.hits.load(Ordering::SeqCst).to_string().into_response()
}

struct FakeTest(Server<Counter>);

impl std::ops::Deref for FakeTest {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.0
    }
}

impl FakeTest {
    fn hits(&self) -> u32 {
        self.0.state().hits.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Builder {
    harness: Config,
    /// Serve the API through [`api`] (`Routes::split`) instead of the axum routes.
    split: bool,
}

/// The split fake's API: bumps the counter like `POST /count` and echoes what it got.
fn api(c: &Counter, parts: http::request::Parts, body: bytes::Bytes) -> Response {
    let n = c.hits.fetch_add(1, Ordering::SeqCst) + 1;
    format!("{} {} {} {n}", parts.method, parts.uri.path(), body.len()).into_response()
}

impl Builder {
    fake_harness::builder_methods!(FakeTest);

    fn try_start(self) -> Result<FakeTest, FakeError> {
        let routes: Routes<Counter> = if self.split {
            Routes::split(fake_harness::internal_routes(), api)
        } else {
            Router::new()
                .route("/count", post(count))
                .route("/hits", get(hits))
                .merge(fake_harness::internal_routes())
                .into()
        };
        fake_harness::start(&VENDOR, self.harness, |h| {
            let counter = Counter {
                harness: h.clone(),
                hits: Arc::default(),
            };
            (routes, counter)
        })
        .map(FakeTest)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

async fn post_count(fake: &FakeTest) -> Result<(u16, String), reqwest::Error> {
    let r = client()
        .post(format!("{}/count", fake.uri()))
        .send()
        .await?;
    Ok((r.status().as_u16(), r.text().await?))
}

/// What a receiver got: bodies and their retried-count header.
type Got = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A webhook receiver answering `500` to its first `fail` requests, recording every body.
struct Receiver {
    url: String,
    got: Got,
}

async fn receiver(fail: u32) -> Receiver {
    let got: Got = Arc::default();
    let left = Arc::new(AtomicU32::new(fail));
    let sink = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: http::HeaderMap, body: String| {
            let sink = sink.clone();
            let left = left.clone();
            async move {
                let retried = headers
                    .get("x-retried-count")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                sink.lock().unwrap().push((body, retried));
                if left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, got }
}

#[tokio::test(flavor = "current_thread")]
async fn boots_on_port_0_in_a_current_thread_runtime() {
    let fake = Builder::default().start().await;
    assert_ne!(fake.addr().port(), 0);
    assert_eq!(post_count(&fake).await.unwrap(), (200, "1".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boots_on_port_0_in_a_multi_thread_runtime() {
    let fake = Builder::default().start().await;
    assert_ne!(fake.addr().port(), 0);
    assert_eq!(post_count(&fake).await.unwrap(), (200, "1".into()));
}

#[test]
fn boots_from_sync_code() {
    let fake = Builder::default().start_blocking();
    assert_eq!(blocking_get(&fake.uri(), "/hits"), "0");
}

/// A blocking GET with no runtime at all: a raw HTTP/1.0 exchange.
fn blocking_get(uri: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(uri.trim_start_matches("http://")).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.rsplit("\r\n\r\n").next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_pool_never_hands_out_a_used_server() {
    let mut seen = Vec::new();
    for _ in 0..8 {
        let fake = Builder::default().start().await;
        // A fresh server: no request, no state, no webhook of an earlier fake.
        assert!(fake.received_requests().is_empty());
        assert_eq!(fake.hits(), 0);
        assert!(fake.webhooks().is_empty());
        assert!(!seen.contains(&fake.uri()), "{} served twice", fake.uri());
        post_count(&fake).await.unwrap();
        assert_eq!(fake.received_requests().len(), 1);
        seen.push(fake.uri());
        fake.0.shutdown().await;
    }
    // Several at once each get their own server.
    let a = Builder::default().start().await;
    let b = Builder::default().start().await;
    assert_ne!(a.addr(), b.addr());
    post_count(&a).await.unwrap();
    assert_eq!((a.hits(), b.hits()), (1, 0));
}

#[tokio::test]
async fn a_stopped_fake_no_longer_answers() {
    let fake = Builder::default().start().await;
    let uri = fake.uri();
    fake.0.shutdown().await;
    assert!(client().get(format!("{uri}/hits")).send().await.is_err());
}

#[tokio::test]
async fn fault_counters_fail_hang_lose_and_fail_after_acting() {
    let fake = Builder::default().start().await;
    fake.fail_next(2);
    assert_eq!(post_count(&fake).await.unwrap().0, 500);
    assert_eq!(post_count(&fake).await.unwrap().0, 500);
    assert_eq!(fake.hits(), 0, "failed requests are not processed");
    assert_eq!(post_count(&fake).await.unwrap(), (200, "1".into()));

    fake.hang_next(1);
    assert!(post_count(&fake).await.unwrap_err().is_timeout());
    assert_eq!(fake.hits(), 1, "a hung request is not processed");

    fake.lose_response_next(1);
    assert!(post_count(&fake).await.unwrap_err().is_timeout());
    assert_eq!(fake.hits(), 2, "a lost answer's request was processed");

    fake.fail_next_after_acting(1);
    let (status, body) = post_count(&fake).await.unwrap();
    assert_eq!(status, 500, "{body}");
    assert_eq!(fake.hits(), 3);

    // The test's own controls are never faulted.
    fake.fail_next(1);
    let r = client()
        .get(format!("{}/internal/clock", fake.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fake.faults().pending().fail_next, 1);

    fake.set_latency(Duration::from_millis(700));
    assert!(post_count(&fake).await.unwrap_err().is_timeout());
    // Every request was recorded, faulted or not.
    assert_eq!(fake.received_requests().len(), 8);
}

#[tokio::test]
async fn faults_over_http_add_up() {
    let fake = Builder::default().start().await;
    let put = |body: serde_json::Value| {
        let url = format!("{}/internal/faults", fake.uri());
        async move {
            let r = client().put(url).json(&body).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.ok(),
            )
        }
    };
    let (s, f) = put(serde_json::json!({"failNext": 1})).await;
    assert_eq!(s, 200);
    assert_eq!(f.unwrap()["failNext"], 1);
    let (_, f) = put(serde_json::json!({"failNext": 2, "reorderWebhooks": 2})).await;
    let f = f.unwrap();
    assert_eq!(
        (f["failNext"].as_u64(), f["reorderWebhooks"].as_u64()),
        (Some(3), Some(2))
    );
    let (s, _) = put(serde_json::json!({"failNxt": 1})).await;
    assert_eq!(s, 400, "an unknown knob is refused");
}

#[tokio::test]
async fn the_request_log_switches_off_and_on_over_http() {
    let fake = Builder::default().start().await;
    let faults = format!("{}/internal/faults", fake.uri());
    let r = client().get(&faults).send().await.unwrap();
    let f: serde_json::Value = r.json().await.unwrap();
    assert_eq!(f["recordRequests"], true, "on by default");
    let off = serde_json::json!({"recordRequests": false});
    let r = client().put(&faults).json(&off).send().await.unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["recordRequests"],
        false
    );
    assert!(!fake.records_requests());
    let before = fake.received_requests().len();
    client()
        .get(format!("{}/anything", fake.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fake.received_requests().len(),
        before,
        "nothing recorded while off"
    );
    fake.set_record_requests(true);
    client()
        .get(format!("{}/anything", fake.uri()))
        .send()
        .await
        .unwrap();
    let log = fake.received_requests();
    assert_eq!(log.len(), before + 1);
    assert_eq!(log.last().map(|r| r.path.as_str()), Some("/anything"));
}

#[tokio::test]
async fn the_clock_offsets_freezes_and_calls_back() {
    let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let fake = Builder::default().now(t0).freeze_clock(true).start().await;
    let moved = Arc::new(AtomicU32::new(0));
    let m = moved.clone();
    fake.on_clock_change(move || {
        m.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(fake.now(), t0);
    fake.advance(Duration::from_secs(60));
    assert_eq!(fake.now().timestamp(), 1_700_000_060);
    let r = client()
        .put(format!("{}/internal/clock", fake.uri()))
        .json(&serde_json::json!({"unix": 1_600_000_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fake.now().timestamp(), 1_600_000_000);
    assert_eq!(moved.load(Ordering::SeqCst), 2);
    let r = client()
        .put(format!("{}/internal/clock", fake.uri()))
        .json(&serde_json::json!({"now": "yesterday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn webhooks_retry_on_the_schedule_with_vendor_headers() {
    let rx = receiver(2).await;
    let fake = Builder::default()
        .webhook_url(&rx.url)
        .webhook_retry_schedule(vec![Duration::from_millis(20), Duration::from_millis(20)])
        .start()
        .await;
    post_count(&fake).await.unwrap();
    let log = fake
        .wait_for_webhooks(1, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    assert_eq!(log.len(), 1);
    let all = fake.webhooks();
    let attempts: Vec<(u32, bool)> = all.iter().map(|w| (w.attempt, w.is_delivered())).collect();
    assert_eq!(attempts, vec![(1, false), (2, false), (3, true)]);
    assert!(all.iter().all(|w| w.event_id == all[0].event_id));
    assert_eq!(all[2].header("x-retried-count"), Some("2"));
    assert_eq!(all[2].json()["n"], 1);
    let got = rx.got.lock().unwrap().clone();
    let retried: Vec<_> = got.iter().map(|(_, r)| r.clone().unwrap()).collect();
    assert_eq!(retried, vec!["0", "1", "2"]);
}

#[tokio::test]
async fn webhook_retries_stop_when_the_schedule_runs_out() {
    let rx = receiver(10).await;
    let fake = Builder::default()
        .webhook_url(&rx.url)
        .webhook_retry_schedule(vec![Duration::from_millis(10)])
        .start()
        .await;
    post_count(&fake).await.unwrap();
    let log = fake
        .wait_for_webhooks(2, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log.len(), 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.webhooks().len(), 2, "no third attempt");
    assert!(matches!(
        fake.webhooks()[1].outcome,
        WebhookOutcome::Failed {
            status: Some(500),
            ..
        }
    ));
}

#[tokio::test]
async fn webhook_chaos_drops_duplicates_and_reorders() {
    let rx = receiver(0).await;
    let fake = Builder::default().webhook_url(&rx.url).start().await;
    fake.drop_next_webhooks(1);
    fake.duplicate_next_webhooks(1);
    post_count(&fake).await.unwrap(); // n=1: dropped
    post_count(&fake).await.unwrap(); // n=2: twice
    fake.wait_for_webhooks(2, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    let log = fake.webhooks();
    assert_eq!(log[0].outcome, WebhookOutcome::Dropped);
    assert_eq!(log[0].attempt, 0);
    assert_eq!(log.iter().filter(|w| w.duplicate).count(), 1);

    fake.reorder_next_webhooks(2);
    post_count(&fake).await.unwrap(); // n=3
    post_count(&fake).await.unwrap(); // n=4
    fake.wait_for_webhooks(4, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    let got: Vec<String> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(b, _)| b.clone())
        .collect();
    assert_eq!(
        got,
        vec![r#"{"n":2}"#, r#"{"n":2}"#, r#"{"n":4}"#, r#"{"n":3}"#]
    );
}

#[tokio::test]
async fn a_lone_reordered_webhook_goes_out_after_the_window() {
    let rx = receiver(0).await;
    let fake = Builder::default().webhook_url(&rx.url).start().await;
    fake.reorder_next_webhooks(2);
    post_count(&fake).await.unwrap();
    let log = fake
        .wait_for_webhooks(1, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn webhooks_without_a_url_are_logged() {
    let fake = Builder::default().start().await;
    post_count(&fake).await.unwrap();
    let log = fake
        .wait_for_webhooks(1, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[0].outcome, WebhookOutcome::NoUrl);
    let r = client()
        .get(format!("{}/internal/webhooks", fake.uri()))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[0]["outcome"]["kind"], "NO_URL");
    assert_eq!(body[0]["body"]["n"], 1, "JSON bodies are served as JSON");
}

#[tokio::test]
async fn recording_can_be_switched_off_and_bodies_are_bounded() {
    let fake = Builder::default().record_requests(false).start().await;
    post_count(&fake).await.unwrap();
    assert!(fake.received_requests().is_empty());
    fake.set_record_requests(true);
    let big = client()
        .post(format!("{}/count", fake.uri()))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    post_count(&fake).await.unwrap();
    assert_eq!(fake.received_requests().len(), 1);
}

#[tokio::test]
async fn a_split_fake_sends_internal_paths_to_its_router_and_the_rest_to_its_api() {
    let fake = Builder {
        split: true,
        ..Builder::default()
    }
    .start()
    .await;
    let send = |method: reqwest::Method, path: &str, body: Vec<u8>| {
        let request = client()
            .request(method, format!("{}{path}", fake.uri()))
            .body(body);
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // The API gets the whole body, also with the request log off.
    fake.set_record_requests(false);
    let got = send(reqwest::Method::PUT, "/a/b%20c", b"12345".to_vec()).await;
    assert_eq!(got, (200, "PUT /a/b%20c 5 1".to_owned()));
    fake.set_record_requests(true);
    assert_eq!(
        send(reqwest::Method::GET, "/x", Vec::new()).await.1,
        "GET /x 0 2"
    );
    // /internal/ is the router's: the harness's knobs answer, the API is not called.
    let (status, log) = send(reqwest::Method::GET, "/internal/requests", Vec::new()).await;
    assert_eq!(status, 200);
    assert!(
        log.contains("\"/x\""),
        "the API's request is in the log: {log}"
    );
    assert_eq!(fake.hits(), 2);
    // The fault layer and the body limit stand in front of the API too.
    fake.fail_next(1);
    let (status, body) = send(reqwest::Method::POST, "/x", Vec::new()).await;
    assert_eq!(
        (status, body.starts_with("error: injected failure")),
        (500, true)
    );
    assert_eq!(
        send(reqwest::Method::POST, "/x", vec![b'x'; 4096]).await.0,
        413
    );
    assert_eq!(
        fake.hits(),
        2,
        "neither a failed nor an oversized request reached the API"
    );
    // Logged: the API request made while recording, the knob and the failed request; not
    // the oversized one.
    let log = fake.received_requests();
    let paths: Vec<_> = log.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/x", "/internal/requests", "/x"]);
}

#[tokio::test]
async fn webhook_headers_come_from_the_event_the_vendor_and_the_instance() {
    let rx = receiver(0).await;
    let fake = Builder::default().webhook_url(&rx.url).start().await;
    fake.on_webhook_attempt(|a| vec![("x-signed".into(), format!("{}:{}", a.attempt, a.body))]);
    fake.send_webhook(Webhook::json("PLAIN", &serde_json::json!({"k": 1})).header("x-event", "e"));
    let log = fake
        .wait_for_webhooks(1, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    assert_eq!(log[0].header("x-event"), Some("e"));
    assert_eq!(log[0].header("x-retried-count"), Some("0"));
    assert_eq!(log[0].header("x-signed"), Some(r#"1:{"k":1}"#));
    assert_eq!(log[0].event_type, "PLAIN");
}

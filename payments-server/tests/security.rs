//! Attacks on the server, one test each (issue #17): every test performs the attack
//! against the server on port 0 with in-process fakes, and fails on a server without
//! the defence it names.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fake_toss::FakeToss;
use futures::StreamExt;
use payments_client::{Connection, PaymentsClient, RetryPolicy};
use payments_core::records::{PaymentHistoryCreate, ReservationCreate, Source, Vendor, VendorCode};
use payments_server::{PaymentServer, PaymentServerBuilder, ServerHandle};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "security-sealed-v2-secret-0123456789";
const PASSWORD: &str = "record-password";
const STORE: &str = "main";

/// A server for the fake, with fast webhook retries; no egress rule is loosened.
fn builder(toss: &FakeToss) -> PaymentServerBuilder {
    PaymentServer::builder()
        .sealed_v2_secret(SECRET)
        .toss_store(STORE, toss.uri(), toss.secret_key())
        .webhook_retry_schedule(&[Duration::from_millis(20)])
        .webhook_poll_interval(Duration::from_millis(20))
}

fn client(server: &ServerHandle) -> PaymentsClient {
    PaymentsClient::new(
        Connection::new(server.uri())
            .retry(RetryPolicy::none())
            .sealed_v2(SECRET),
    )
    .unwrap()
}

fn input(uid: &str, order: &str, price: i64, webhook_url: Option<String>) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: Vendor {
            code: VendorCode::TossPayments,
            store_id: STORE.into(),
            uid: uid.into(),
        },
        source: Source {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.into(),
        },
        price,
        password: PASSWORD.into(),
        webhook_url,
    }
}

/// Waits (bounded) until `ready` holds.
async fn eventually(what: &str, mut ready: impl AsyncFnMut() -> bool) {
    for _ in 0..500 {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Serves `router` on `127.0.0.1:0`; returns its address.
async fn serve(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// What a receiver saw: the webhook ids of the requests, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn record(&self, headers: &HeaderMap) {
        let id = headers
            .get("x-payments-webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.0.lock().unwrap().push(id);
    }

    fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A receiver at `/hook` answering 200.
async fn receiver() -> (std::net::SocketAddr, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/hook",
            post(|State(seen): State<Seen>, headers: HeaderMap| async move {
                seen.record(&headers);
                StatusCode::OK
            }),
        )
        .with_state(seen.clone());
    (serve(router).await, seen)
}

/// A Toss virtual account recorded as a history delivering to `webhook_url`, then
/// deposited: the deposit's PG webhook makes the server deliver one webhook.
async fn deposited(toss: &FakeToss, server: &ServerHandle, order: &str, webhook_url: &str) {
    toss.set_webhook_url(format!("{}/payments/webhooks/toss", server.uri()));
    let payment = toss.issue_virtual_account(order, 10_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap();
    client(server)
        .histories()
        .create(&input(uid, order, 10_000, Some(webhook_url.to_owned())))
        .await
        .unwrap();
    toss.deposit(uid).await.unwrap();
}

// ---- item 2: blind SSRF through webhook_url and [events] url ---------------------------

#[tokio::test]
async fn a_webhook_url_naming_a_private_address_is_refused_at_creation_naming_the_field() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    let client = client(&server);
    for (index, url) in [
        "http://shop.example/hook",
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://0x7f.1/hook",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://100.100.100.200/hook",
        "https://[fd00:ec2::254]/hook",
    ]
    .into_iter()
    .enumerate()
    {
        let refused = client
            .histories()
            .create(&input(
                &format!("pk-{index}"),
                &format!("ssrf-{index}"),
                1_000,
                Some(url.into()),
            ))
            .await
            .expect_err(url);
        assert_eq!(refused.status(), Some(StatusCode::BAD_REQUEST), "{url}");
        assert_eq!(
            refused.code_str(),
            Some("INVALID_FIELD"),
            "{url}: {refused}"
        );
        assert!(
            refused
                .message()
                .unwrap_or_default()
                .starts_with("webhook_url: "),
            "{url}: {refused}"
        );
    }
    assert!(
        toss.received_requests().is_empty(),
        "a refused URL is refused before the PG is asked"
    );
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused_when_connecting() {
    let toss = FakeToss::start().await;
    // Plain http is allowed, no host is: `localhost` passes the check at creation (it
    // is a name), and only the address it resolves to can tell.
    let server = builder(&toss)
        .webhook_allow_insecure(true)
        .webhook_max_attempts(1)
        .start()
        .await
        .unwrap();
    let (addr, seen) = receiver().await;
    let url = format!("http://localhost:{}/hook", addr.port());
    deposited(&toss, &server, "ssrf-dns-1", &url).await;
    let store = server.store().clone();
    eventually("the delivery to give up", async || {
        !store.given_up(None, 10).await.unwrap().is_empty()
    })
    .await;
    let given_up = store.given_up(None, 10).await.unwrap();
    let error = given_up[0]
        .last_attempt
        .as_ref()
        .and_then(|a| a.error.clone())
        .unwrap_or_default();
    assert!(error.contains("refused"), "{error}");
    assert!(
        seen.ids().is_empty(),
        "nothing reached the loopback receiver"
    );
}

#[tokio::test]
async fn redirects_are_not_followed_and_count_as_a_failed_attempt() {
    let toss = FakeToss::start().await;
    let server = builder(&toss)
        .allow_local_receivers()
        .webhook_max_attempts(1)
        .start()
        .await
        .unwrap();
    let (target, stolen) = receiver().await;
    let to = format!("http://127.0.0.1:{}/hook", target.port());
    let redirecting = serve(Router::new().route(
        "/hook",
        post(move || {
            let to = to.clone();
            async move { axum::response::Redirect::temporary(&to) }
        }),
    ))
    .await;
    let url = format!("http://127.0.0.1:{}/hook", redirecting.port());
    deposited(&toss, &server, "ssrf-redirect-1", &url).await;
    let store = server.store().clone();
    eventually("the delivery to give up", async || {
        !store.given_up(None, 10).await.unwrap().is_empty()
    })
    .await;
    let given_up = store.given_up(None, 10).await.unwrap();
    let status = given_up[0].last_attempt.as_ref().and_then(|a| a.status);
    assert_eq!(status, Some(307), "the 307 is the answer, a failed attempt");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        stolen.ids().is_empty(),
        "the sealed body was not re-posted to the redirect's target"
    );
}

#[tokio::test]
async fn a_receiver_answering_megabytes_is_read_a_few_kib_deep() {
    let toss = FakeToss::start().await;
    let server = builder(&toss)
        .allow_local_receivers()
        .start()
        .await
        .unwrap();
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 1024; // 64 MiB
    let produced = Arc::new(AtomicUsize::new(0));
    let seen = Seen::default();
    let router =
        Router::new()
            .route(
                "/hook",
                post(
                    |State((seen, produced)): State<(Seen, Arc<AtomicUsize>)>,
                     headers: HeaderMap| async move {
                        seen.record(&headers);
                        let chunks = futures::stream::iter(0..CHUNKS).map(move |_| {
                            produced.fetch_add(CHUNK, Ordering::SeqCst);
                            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; CHUNK]))
                        });
                        Response::new(Body::from_stream(chunks)).into_response()
                    },
                ),
            )
            .with_state((seen.clone(), produced.clone()));
    let addr = serve(router).await;
    let url = format!("http://127.0.0.1:{}/hook", addr.port());
    deposited(&toss, &server, "ssrf-big-1", &url).await;
    eventually("the delivery", async || !seen.ids().is_empty()).await;
    let id: uuid::Uuid = seen.ids()[0].parse().unwrap();
    let store = server.store().clone();
    eventually("the attempt to be recorded", async || {
        !store.delivery_attempts(id).await.unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read = produced.load(Ordering::SeqCst);
    // What the sockets' buffers take is read by nobody; the server stops after 4 KiB.
    assert!(
        read < 24 * 1024 * 1024,
        "the receiver produced {read} bytes: the answer was read whole"
    );
    let attempts = store.delivery_attempts(id).await.unwrap();
    assert_eq!(attempts[0].status, Some(200));
}

#[tokio::test]
async fn re_delivery_is_limited_per_message() {
    let toss = FakeToss::start().await;
    let server = builder(&toss)
        .allow_local_receivers()
        .start()
        .await
        .unwrap();
    let (addr, seen) = receiver().await;
    let url = format!("http://127.0.0.1:{}/hook", addr.port());
    deposited(&toss, &server, "redeliver-1", &url).await;
    eventually("the delivery", async || !seen.ids().is_empty()).await;
    let id: uuid::Uuid = seen.ids()[0].parse().unwrap();
    let client = client(&server);
    let password = payments_core::records::Password {
        password: PASSWORD.into(),
    };
    client.webhooks().redeliver(id, &password).await.unwrap();
    let mut refused = 0;
    for _ in 0..20 {
        let error = client
            .webhooks()
            .redeliver(id, &password)
            .await
            .expect_err("a second re-delivery right away is refused");
        assert_eq!(error.status(), Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(error.code_str(), Some("TOO_MANY_ATTEMPTS"));
        refused += 1;
    }
    assert_eq!(refused, 20);
    eventually("the one re-delivery", async || seen.ids().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(seen.ids().len(), 2, "one delivery, one re-delivery");
}

#[tokio::test]
async fn an_event_url_on_a_private_address_keeps_the_server_from_starting() {
    let toss = FakeToss::start().await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8080/events",
    ] {
        let refused = builder(&toss)
            .event_url(url)
            .start()
            .await
            .expect_err(url)
            .to_string();
        assert!(refused.contains("events.url"), "{url}: {refused}");
    }
    let allowed = builder(&toss)
        .allow_local_receivers()
        .event_url("http://[::1]:8080/events")
        .start()
        .await;
    assert!(allowed.is_ok(), "a listed host is allowed");
}

// ---- item 4: PG webhook intake is no amplifier and no oracle ---------------------------

/// A Toss card payment recorded as a history; the fake's request log starts empty.
async fn recorded_card(toss: &FakeToss, server: &ServerHandle, order: &str) -> String {
    let payment = toss.pay_by_card(order, 5_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap().to_owned();
    client(server)
        .histories()
        .create(&input(&uid, order, 5_000, None))
        .await
        .unwrap();
    toss.clear_received_requests();
    uid
}

/// POSTs a Toss webhook body; the status and the body bytes.
async fn toss_webhook(server: &ServerHandle, body: serde_json::Value) -> (StatusCode, Vec<u8>) {
    let answer = reqwest::Client::new()
        .post(format!("{}/payments/webhooks/toss", server.uri()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.bytes().await.unwrap().to_vec())
}

fn status_changed(payment_key: &str) -> serde_json::Value {
    serde_json::json!({
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-12-02T10:00:00.000000",
        "data": {"paymentKey": payment_key, "status": "DONE"}
    })
}

fn lookups(toss: &FakeToss) -> usize {
    toss.received_requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/v1/payments/"))
        .count()
}

#[tokio::test]
async fn fifty_webhooks_for_one_payment_cost_at_most_two_pg_lookups() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    let uid = recorded_card(&toss, &server, "amplify-1").await;
    let answers =
        futures::future::join_all((0..50).map(|_| toss_webhook(&server, status_changed(&uid))))
            .await;
    assert!(answers.iter().all(|(status, _)| *status == StatusCode::OK));
    // The follow-up fetch comes a coalescing window (1 s) after the first.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let fetched = lookups(&toss);
    assert!(
        (1..=2).contains(&fetched),
        "50 webhooks made the server ask the PG {fetched} times"
    );
}

#[tokio::test]
async fn known_and_unknown_payments_get_the_same_answer() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    let uid = recorded_card(&toss, &server, "oracle-1").await;
    let known = toss_webhook(&server, status_changed(&uid)).await;
    let unknown = toss_webhook(&server, status_changed("tviva-never-recorded")).await;
    assert_eq!(
        known, unknown,
        "the answer tells whether a payment is on record"
    );
    assert_eq!(known.0, StatusCode::OK);
    // A deposit callback: an order on record with a wrong secret, and an unknown order.
    let wrong_secret = toss_webhook(
        &server,
        serde_json::json!({"secret": "guess", "orderId": "oracle-1", "status": "DONE"}),
    )
    .await;
    let unknown_order = toss_webhook(
        &server,
        serde_json::json!({"secret": "guess", "orderId": "oracle-none", "status": "DONE"}),
    )
    .await;
    assert_eq!(wrong_secret, unknown_order);
    assert_eq!(wrong_secret, known);
}

#[tokio::test]
async fn a_deposit_callback_with_a_wrong_secret_costs_no_pg_call() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    let payment = toss.issue_virtual_account("deposit-1", 10_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap();
    client(&server)
        .histories()
        .create(&input(uid, "deposit-1", 10_000, None))
        .await
        .unwrap();
    toss.clear_received_requests();
    for _ in 0..10 {
        let (status, _) = toss_webhook(
            &server,
            serde_json::json!({"secret": "guess", "orderId": "deposit-1", "status": "DONE"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        lookups(&toss),
        0,
        "the secret is checked before the PG is asked"
    );
    // The right secret is taken: it costs one lookup.
    let secret = payment["secret"].as_str().unwrap();
    let (status, _) = toss_webhook(
        &server,
        serde_json::json!({"secret": secret, "orderId": "deposit-1", "status": "DONE"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lookups(&toss), 1);
}

#[tokio::test]
async fn one_source_address_is_rate_limited_at_intake() {
    let toss = FakeToss::start().await;
    let server = builder(&toss)
        .limits(payments_server::config::LimitsConfig {
            intake_burst: 5,
            intake_refill_ms: 60_000,
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let mut limited = 0;
    for index in 0..20 {
        let answer = reqwest::Client::new()
            .post(format!("{}/payments/webhooks/toss", server.uri()))
            .json(&status_changed(&format!("made-up-{index}")))
            .send()
            .await
            .unwrap();
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(answer.headers().contains_key("retry-after"));
            limited += 1;
        }
    }
    assert_eq!(limited, 15, "5 at once, then none for a minute");
}

// ---- item 9: control characters, wire-worded errors, capped echoes --------------------

/// Sends `json` sealed-v2 to `method path`; the status and the plain JSON error body.
async fn sealed(
    server: &ServerHandle,
    method: reqwest::Method,
    path: &str,
    json: &[u8],
) -> (StatusCode, serde_json::Value) {
    use payments_core::envelope::{Binding, Envelope, SealedV2Key};
    let timestamp_ms = chrono::Utc::now().timestamp_millis();
    let body = Envelope::SealedV2(SealedV2Key::derive(SECRET)).seal(
        json,
        &Binding {
            method: method.as_str(),
            path,
            timestamp_ms,
            idempotency_key: None,
        },
    );
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", server.uri()))
        .header("content-type", "application/vnd.payments.sealed-v2")
        .header("x-payments-timestamp", timestamp_ms.to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (
        status,
        answer.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn control_characters_in_identifiers_are_refused_naming_the_field() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    let client = client(&server);
    for (field, bad) in [
        ("source.id", "order\u{0}1"),
        ("source.id", "order\u{7}1"),
        ("source.id", "gpj\u{202E}exe.1"),
        ("source.table", "orders\u{1b}[2J"),
        ("source.schema", "shop\u{2066}"),
        ("vendor.uid", "pk\u{85}1"),
    ] {
        let mut body = input("pk-ok", "order-ok", 1_000, None);
        match field {
            "source.id" => body.source.id = bad.into(),
            "source.table" => body.source.table = bad.into(),
            "source.schema" => body.source.schema = bad.into(),
            _ => body.vendor.uid = bad.into(),
        }
        let refused = client.histories().create(&body).await.expect_err(bad);
        assert_eq!(refused.status(), Some(StatusCode::BAD_REQUEST), "{bad:?}");
        assert_eq!(refused.code_str(), Some("INVALID_FIELD"), "{bad:?}");
        let message = refused.message().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{field}: must not contain control characters")),
            "{bad:?}: {message}"
        );
    }
    assert!(toss.received_requests().is_empty());
}

#[tokio::test]
async fn shape_errors_are_worded_in_json_terms_and_name_the_field() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    for (json, field, words) in [
        (&br#""a string""#[..], "body", "expected an object"),
        (
            br#"{"source": {"schema": "s", "table": "t", "id": "i"}, "vendor": 5, "price": 1, "password": "p"}"#,
            "vendor",
            "expected an object",
        ),
        (
            br#"{"vendor": {"code": "toss.payments", "store_id": "main", "uid": "u"}, "source": {"schema": "s", "table": "t", "id": "i"}, "price": "ten", "password": "p", "webhook_url": null}"#,
            "price",
            "invalid type: string",
        ),
    ] {
        let (status, body) = sealed(&server, reqwest::Method::POST, "/payments/histories", json).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "INVALID_BODY", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
        assert!(message.contains(words), "{message}");
        for rust in ["struct", "PaymentHistoryCreate", "Vendor", "i64", "u32", "map", "sequence"] {
            assert!(!message.contains(rust), "{message} names a Rust type");
        }
    }
    // A huge unknown field name and a huge wrong value come back cut.
    let long = "x".repeat(100_000);
    let json = format!(r#"{{"{long}": 1}}"#);
    let (_, body) = sealed(
        &server,
        reqwest::Method::POST,
        "/payments/histories",
        json.as_bytes(),
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().len() < 600,
        "{}",
        body["message"].as_str().unwrap().len()
    );
}

#[tokio::test]
async fn path_ids_of_any_length_are_echoed_cut() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    let long = "a".repeat(4_000);
    let (status, body) = sealed(
        &server,
        reqwest::Method::PATCH,
        &format!("/payments/histories/{long}"),
        br#"{"password": "p"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let message = body["message"].as_str().unwrap();
    assert!(message.len() < 200, "{} bytes echoed", message.len());
    assert!(message.contains("is not a record id"), "{message}");
}

#[tokio::test]
async fn a_path_id_that_is_not_utf8_gets_a_worded_404() {
    let toss = FakeToss::start().await;
    let server = builder(&toss).start().await.unwrap();
    // %aA decodes to a lone 0xAA byte: axum's own rejection was a plain-text 400.
    for (method, path) in [
        (reqwest::Method::PATCH, "/payments/histories/%aA"),
        (reqwest::Method::PATCH, "/payments/reservations/%ff%fe"),
        (reqwest::Method::PATCH, "/payments/transactions/%c3"),
        (reqwest::Method::POST, "/payments/webhooks/%80/redeliver"),
    ] {
        let (status, body) = sealed(&server, method, path, br#"{"password": "p"}"#).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], "NOT_FOUND", "{path}: {body}");
    }
}

#[tokio::test]
async fn a_connection_that_stalls_its_headers_is_closed_and_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let toss = FakeToss::start().await;
    let limits = payments_server::config::LimitsConfig {
        header_read_timeout_ms: 300,
        ..Default::default()
    };
    let server = builder(&toss).limits(limits).start().await.unwrap();
    // Slowloris: many connections each send half a request head, then stall.
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        stream
            .write_all(b"GET /monitors/health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(stream);
    }
    client(&server).monitors().health().await.unwrap();
    for mut stream in stalled {
        let mut buffer = [0u8; 256];
        // Closed by the server once the deadline passed (a 408 or nothing, then EOF);
        // without a header deadline the read waits forever.
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a stalled connection was kept open");
    }
    server.shutdown().await;
}

// ---- item 6.1: idempotency request hashes are keyed ------------------------------------

/// The digest a server without keyed request hashes stored: SHA-256 of the request's
/// JSON with its keys sorted, base64.
fn unkeyed_request_hash(input: &PaymentHistoryCreate) -> String {
    use base64::Engine;
    use sha2::Digest;
    let canonical = serde_json::to_vec(&serde_json::to_value(input).unwrap()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(canonical))
}

/// The one idempotency row's stored request hash, read from the database file.
fn stored_request_hash(database: &str) -> String {
    let connection = rusqlite::Connection::open(database).unwrap();
    connection
        .query_row("SELECT request_hash FROM idempotency", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_stolen_database_cannot_test_password_guesses_against_idempotency_hashes() {
    let toss = FakeToss::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = database_file(&dir);
    let server = builder(&toss).database(&database).start().await.unwrap();
    let payment = toss.pay_by_card("order-idem-1", 5_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap();
    let request = input(uid, "order-idem-1", 5_000, None);
    let key = payments_client::IdempotencyKey::new("order-idem-1/pay").unwrap();
    client(&server)
        .histories()
        .create_with_key(&request, &key)
        .await
        .unwrap();
    // The attacker holds the database and guesses the password: with an unkeyed digest,
    // hashing the body with each guess finds the one that matches.
    let stored = stored_request_hash(&database);
    assert_ne!(
        stored,
        unkeyed_request_hash(&request),
        "the stored hash is a plain SHA-256 of a body holding the password"
    );
    let mut wrong = request.clone();
    wrong.password = "guess".into();
    assert_ne!(stored, unkeyed_request_hash(&wrong));
    server.shutdown().await;
}

#[tokio::test]
async fn a_key_stored_under_the_unkeyed_hash_is_still_replayed_not_refused() {
    let toss = FakeToss::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = database_file(&dir);
    let server = builder(&toss).database(&database).start().await.unwrap();
    let payment = toss.pay_by_card("order-idem-2", 5_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap();
    let request = input(uid, "order-idem-2", 5_000, None);
    let key = payments_client::IdempotencyKey::new("order-idem-2/pay").unwrap();
    let first = client(&server)
        .histories()
        .create_with_key(&request, &key)
        .await
        .unwrap();
    // As a server before keyed hashes stored it.
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE idempotency SET request_hash = ?1",
            [unkeyed_request_hash(&request)],
        )
        .unwrap();
    let again = client(&server)
        .histories()
        .create_with_key(&request, &key)
        .await
        .expect("the same request under the same key is replayed");
    assert_eq!(again.id, first.id);
    let mut other = request.clone();
    other.price = 4_000;
    let refused = client(&server)
        .histories()
        .create_with_key(&other, &key)
        .await
        .unwrap_err();
    assert_eq!(
        refused.code_str(),
        Some("IDEMPOTENCY_MISMATCH"),
        "{refused}"
    );
    server.shutdown().await;
}

// ---- item 6.2: idempotency keys expire and are swept -----------------------------------

fn short_lived_keys(sweep_interval_ms: u64) -> payments_server::config::IdempotencyConfig {
    payments_server::config::IdempotencyConfig {
        ttl_ms: 61_000,
        sweep_interval_ms,
        sweep_batch: 2,
    }
}

/// A SQLite file in `dir`, for tests that read the raw database.
fn database_file(dir: &tempfile::TempDir) -> String {
    dir.path()
        .join("payments.sqlite")
        .to_string_lossy()
        .into_owned()
}

/// Rows left in the idempotency table.
fn idempotency_rows(database: &str) -> i64 {
    rusqlite::Connection::open(database)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM idempotency", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn an_expired_idempotency_key_is_a_new_request() {
    let toss = FakeToss::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = database_file(&dir);
    let server = builder(&toss)
        .database(&database)
        .idempotency(short_lived_keys(3_600_000))
        .start()
        .await
        .unwrap();
    let key = payments_client::IdempotencyKey::new("reused-key").unwrap();
    for order in ["order-ttl-1", "order-ttl-2"] {
        let payment = toss.pay_by_card(order, 5_000).unwrap();
        let uid = payment["paymentKey"].as_str().unwrap().to_owned();
        let request = input(&uid, order, 5_000, None);
        if order == "order-ttl-2" {
            // The first use of the key is older than the TTL (61 s) now.
            rusqlite::Connection::open(&database)
                .unwrap()
                .execute("UPDATE idempotency SET started_at = started_at - 62000", [])
                .unwrap();
        }
        let history = client(&server)
            .histories()
            .create_with_key(&request, &key)
            .await
            .expect("an expired key is new: the request runs");
        assert_eq!(history.source.id, order);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn expired_idempotency_keys_are_swept_in_batches() {
    let toss = FakeToss::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = database_file(&dir);
    let server = builder(&toss)
        .database(&database)
        .idempotency(short_lived_keys(20))
        .start()
        .await
        .unwrap();
    for n in 0..5 {
        let order = format!("order-sweep-{n}");
        let payment = toss.pay_by_card(&order, 5_000).unwrap();
        let uid = payment["paymentKey"].as_str().unwrap().to_owned();
        let key = payments_client::IdempotencyKey::new(format!("sweep-{n}")).unwrap();
        client(&server)
            .histories()
            .create_with_key(&input(&uid, &order, 5_000, None), &key)
            .await
            .unwrap();
    }
    assert_eq!(idempotency_rows(&database), 5, "fresh keys are kept");
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE idempotency SET started_at = started_at - 62000 WHERE key <> 'sweep-4'",
            [],
        )
        .unwrap();
    eventually("the sweep to delete the 4 expired keys", async || {
        idempotency_rows(&database) == 1
    })
    .await;
    server.shutdown().await;
}

// ---- item 6.3: billing keys are sealed at rest -----------------------------------------

const DATA_KEY: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

/// A Toss billing key for `customer_key`, issued by the fake as a card authorisation.
async fn toss_billing_key(toss: &FakeToss, customer_key: &str) -> String {
    let billing: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/billing/authorizations/card", toss.uri()))
        .header("Authorization", toss.authorization())
        .json(&serde_json::json!({
            "cardNumber": "4330123412341234", "cardExpirationYear": "30",
            "cardExpirationMonth": "12", "cardPassword": "12",
            "customerBirthday": "900101", "customerKey": customer_key
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    billing["billingKey"].as_str().unwrap().to_owned()
}

fn reservation_input(billing_key: &str, customer_key: &str) -> ReservationCreate {
    ReservationCreate {
        vendor: Vendor {
            code: VendorCode::TossPayments,
            store_id: STORE.into(),
            uid: billing_key.into(),
        },
        source: Source {
            schema: "shop".into(),
            table: "customers".into(),
            id: customer_key.into(),
        },
        title: "card".into(),
        password: PASSWORD.to_owned().into(),
    }
}

/// Every text value in every table of the database file, one per line.
fn database_text(database: &str) -> String {
    let connection = rusqlite::Connection::open(database).unwrap();
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut text = String::new();
    for table in tables {
        let mut statement = connection
            .prepare(&format!("SELECT * FROM {table}"))
            .unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for index in 0..columns {
                if let rusqlite::types::ValueRef::Text(value) = row.get_ref(index).unwrap() {
                    text.push_str(&String::from_utf8_lossy(value));
                    text.push('\n');
                }
            }
        }
    }
    text
}

#[tokio::test]
async fn a_stolen_database_holds_no_billing_key_in_the_clear() {
    let toss = FakeToss::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = database_file(&dir);
    let server = builder(&toss)
        .database(&database)
        .data_key("k1", DATA_KEY)
        .start()
        .await
        .unwrap();
    let billing_key = toss_billing_key(&toss, "customer-1").await;
    let reservation = client(&server)
        .reservations()
        .create(&reservation_input(&billing_key, "customer-1"))
        .await
        .unwrap();
    assert_eq!(reservation.vendor.uid, billing_key, "read back opened");
    // The same billing key is still refused for another source (the keyed hash is
    // unique); Toss binds it to its customerKey, the source id.
    let mut other_source = reservation_input(&billing_key, "customer-1");
    other_source.source.table = "members".into();
    let again = client(&server)
        .reservations()
        .create(&other_source)
        .await
        .unwrap_err();
    assert_eq!(again.status().map(|s| s.as_u16()), Some(409), "{again}");
    let stored = database_text(&database);
    assert!(
        !stored.contains(&billing_key),
        "the billing key, which charges the card, is stored in the clear"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn billing_keys_stored_in_the_clear_before_are_sealed_at_start() {
    let toss = FakeToss::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = database_file(&dir);
    let start = || {
        builder(&toss)
            .database(&database)
            .data_key("k1", DATA_KEY)
            .start()
    };
    let server = start().await.unwrap();
    let billing_key = toss_billing_key(&toss, "customer-old").await;
    let reservation = client(&server)
        .reservations()
        .create(&reservation_input(&billing_key, "customer-old"))
        .await
        .unwrap();
    server.shutdown().await;
    // As migration 0009 leaves a reservation an older server recorded.
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE reservations SET vendor_uid_hash = ?1, vendor_uid_sealed = NULL",
            [&billing_key],
        )
        .unwrap();
    assert!(database_text(&database).contains(&billing_key));
    let server = start().await.unwrap();
    assert!(
        !database_text(&database).contains(&billing_key),
        "sealed at start"
    );
    let read = client(&server)
        .reservations()
        .at(
            reservation.id,
            &payments_core::records::Password {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(read.vendor.uid, billing_key);
    server.shutdown().await;
}

/// Reads what the server answers on a raw connection until it closes it.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection was kept open");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_by_the_header_deadline() {
    use tokio::io::AsyncWriteExt;
    let toss = FakeToss::start().await;
    let limits = payments_server::config::LimitsConfig {
        header_read_timeout_ms: 300,
        ..Default::default()
    };
    let server = builder(&toss).limits(limits).start().await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /monitors/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // One whole request answered, then the client sends nothing more.
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_and_holds_no_slot() {
    use tokio::io::AsyncWriteExt;
    let toss = FakeToss::start().await;
    let limits = payments_server::config::LimitsConfig {
        body_read_timeout_ms: 300,
        max_writes_in_flight: 1,
        max_queued: 0,
        ..Default::default()
    };
    let server = builder(&toss).limits(limits).start().await.unwrap();
    // Each sends a whole head and a tenth of its body, then stalls.
    let mut stalled = Vec::new();
    for _ in 0..10 {
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        stream
            .write_all(
                b"POST /payments/histories HTTP/1.1\r\nHost: x\r\n\
                  Content-Type: application/vnd.payments.sealed-v2\r\n\
                  Content-Length: 100\r\n\r\n0123456789",
            )
            .await
            .unwrap();
        stalled.push(stream);
    }
    // The one write slot is free for a caller whose body arrives.
    let payment = toss.pay_by_card("order-slow-bodies", 5_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap();
    client(&server)
        .histories()
        .create(&input(uid, "order-slow-bodies", 5_000, None))
        .await
        .unwrap();
    for mut stream in stalled {
        let answer = read_until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_slow_writes_is_shed_while_reads_and_health_answer() {
    let toss = FakeToss::start().await;
    let limits = payments_server::config::LimitsConfig {
        max_writes_in_flight: 2,
        max_queued: 2,
        queue_timeout_ms: 100,
        ..Default::default()
    };
    let server = builder(&toss).limits(limits).start().await.unwrap();
    let recorded = recorded_card(&toss, &server, "order-read").await;
    let payments: Vec<String> = (0..20)
        .map(|n| {
            let payment = toss
                .pay_by_card(&format!("order-flood-{n}"), 5_000)
                .unwrap();
            payment["paymentKey"].as_str().unwrap().to_owned()
        })
        .collect();
    // Every PG call now takes 5 s: each admitted write holds its slot that long.
    toss.faults().set_latency(Duration::from_secs(5));
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let mut writes = Vec::new();
    for (n, uid) in payments.into_iter().enumerate() {
        let client = client(&server);
        let answers = answers.clone();
        writes.push(tokio::spawn(async move {
            let order = format!("order-flood-{n}");
            let result = client
                .histories()
                .create(&input(&uid, &order, 5_000, None))
                .await;
            answers
                .send(result.map(|_| ()).map_err(|e| e.code()))
                .unwrap();
        }));
    }
    // Two hold the slots, two wait 100 ms for one, sixteen are refused at once.
    for _ in 0..18 {
        let refused = answered.recv().await.unwrap();
        assert_eq!(
            refused,
            Err(Some(payments_core::records::ErrorCode::Overloaded))
        );
    }
    // Reads have their own slots, and health is outside admission.
    client(&server).monitors().health().await.unwrap();
    let read = client(&server)
        .histories()
        .get(&payments_core::records::Accessor {
            schema: "shop".into(),
            table: "orders".into(),
            id: "order-read".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert_eq!(read.vendor.uid, recorded);
    assert_eq!(
        writes.iter().filter(|w| w.is_finished()).count(),
        18,
        "the admitted writes were still waiting on the PG"
    );
    for _ in 0..2 {
        assert_eq!(answered.recv().await.unwrap(), Ok(()));
    }
    server.shutdown().await;
}

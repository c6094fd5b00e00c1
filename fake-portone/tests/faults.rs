//! Failure injection and `Idempotency-Key`: 5xx, hangs, answers lost after acting,
//! latency; replay, refusal of a reused key.
#![allow(missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::{Api, card_body};
use fake_portone::FakePortOne;
use serde_json::json;

#[tokio::test]
async fn fail_next_answers_500_without_acting() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    portone.fail_next(1);
    let (s, b) = api.pay_card("p-1", 1_000, "4330123412341234").await;
    assert_eq!(
        (s, b["type"].as_str()),
        (500, Some("INTERNAL_SERVER_ERROR"))
    );
    assert!(portone.payment("p-1").is_none());
    let (s, _) = api.pay_card("p-1", 1_000, "4330123412341234").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_lost_answer_is_replayed_for_the_same_idempotency_key() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    portone.lose_response_next(1);
    let send = || {
        http.post(format!("{}/payments/p-1/instant", portone.uri()))
            .header("authorization", portone.authorization())
            .header("idempotency-key", "key-1")
            .json(&card_body(1_000, "4330123412341234"))
            .send()
    };
    assert!(send().await.is_err(), "the answer never came");
    assert_eq!(
        portone.payment("p-1").unwrap()["status"],
        "PAID",
        "but the fake acted"
    );
    let again = send().await.unwrap();
    assert_eq!(again.status(), 200, "replayed, not ALREADY_PAID");
    let (s, b) = api
        .send(
            "POST",
            "/payments/p-1/instant",
            Some(&card_body(2_000, "4330123412341234")),
            &[("idempotency-key", "key-1")],
        )
        .await;
    assert_eq!(
        (s, b["type"].as_str()),
        (400, Some("INVALID_REQUEST")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("different request"));
    // Without the key the second charge is refused by the state machine.
    let (s, b) = api.pay_card("p-1", 1_000, "4330123412341234").await;
    assert_eq!((s, b["type"].as_str()), (409, Some("ALREADY_PAID")));
    // Same key on a cancel: one cancel only.
    let cancel = json!({"amount": 100, "reason": "x"});
    for _ in 0..3 {
        let (s, _) = api
            .send(
                "POST",
                "/payments/p-1/cancel",
                Some(&cancel),
                &[("idempotency-key", "cancel-1")],
            )
            .await;
        assert_eq!(s, 200);
    }
    assert_eq!(api.payment("p-1").await["amount"]["cancelled"], 100);
    // fail_next_after_acting: processed, then 500.
    portone.fail_next_after_acting(1);
    let (s, _) = api
        .cancel("p-1", json!({"amount": 100, "reason": "y"}))
        .await;
    assert_eq!(s, 500);
    assert_eq!(api.payment("p-1").await["amount"]["cancelled"], 200);
}

#[tokio::test]
async fn hangs_and_latency() {
    let portone = FakePortOne::start().await;
    portone.hang_next(1);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/payments/x", portone.uri()))
        .header("authorization", portone.authorization())
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    portone.set_latency(Duration::from_millis(150));
    let t = Instant::now();
    Api::new(&portone)
        .expect_err("GET", "/payments/x", None, 404, "PAYMENT_NOT_FOUND")
        .await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    // The fake-only routes are not slowed or faulted.
    portone.fail_next(1);
    let t = Instant::now();
    let r = reqwest::get(format!("{}/internal/webhooks", portone.uri()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn faults_over_http() {
    let portone = FakePortOne::start().await;
    let r = reqwest::Client::new()
        .put(format!("{}/internal/faults", portone.uri()))
        .json(&json!({"failNext": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    Api::new(&portone)
        .expect_err("GET", "/payments/x", None, 500, "INTERNAL_SERVER_ERROR")
        .await;
}

#[test]
fn boots_from_sync_code_and_any_runtime() {
    let portone = FakePortOne::builder().start_blocking();
    assert!(portone.uri().starts_with("http://127.0.0.1:"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (s, _) = Api::new(&portone).get("/payments").await;
        assert_eq!(s, 200);
    });
}

#[test]
fn the_binary_prints_its_address_and_secrets() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-portone"))
        .args([
            "--port",
            "0",
            "--api-secret",
            "bin-secret",
            "--store-id",
            "store-bin",
            "--store",
            "store-other,api-secret=other-secret,webhook-version=2024-01-01",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let uri = first.rsplit(' ').next().unwrap().to_owned();
    let rest: Vec<String> = lines.by_ref().take(4).map(Result::unwrap).collect();
    assert!(rest[0].ends_with("bin-secret"), "{rest:?}");
    assert!(rest[1].ends_with("store-bin"));
    assert!(rest[2].ends_with(fake_portone::DEFAULT_WEBHOOK_SECRET));
    assert!(
        rest[3].starts_with("store store-other webhook secret: whsec_"),
        "{rest:?}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = |secret: &'static str, store: &'static str| {
        let uri = uri.clone();
        rt.block_on(async move {
            reqwest::Client::new()
                .get(format!("{uri}/payments/x?storeId={store}"))
                .header("authorization", format!("PortOne {secret}"))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let statuses = [
        status("bin-secret", "store-bin"),
        status("other-secret", "store-other"),
        status("bin-secret", "store-other"),
    ];
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        statuses,
        [404, 404, 403],
        "the --store is another merchant's"
    );
}

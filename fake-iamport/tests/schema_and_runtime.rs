//! Every endpoint answered once and validated against the spec; start-up under every
//! tokio flavour and without one; shutdown.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Api, GOOD_CARD};
use fake_iamport::FakeIamport;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_spec_endpoint_answers_and_validates() {
    let api = Api::start().await;
    // Cards and saved cards.
    api.register("cust", GOOD_CARD).await.ok();
    api.get("/subscribe/customers/cust").await.ok();
    let p = api.onetime("o-1", 5000, GOOD_CARD).await;
    let card_uid = p.ok()["imp_uid"].as_str().expect("id").to_owned();
    api.again("cust", "a-1", 5000).await.ok();
    api.get(&format!("/payments/{card_uid}?extension=true"))
        .await
        .ok();
    api.get("/payments/find/o-1").await.ok();
    api.cancel(json!({"imp_uid": card_uid, "amount": 1000}))
        .await
        .ok();
    api.call(Method::DELETE, "/subscribe/customers/cust", None)
        .await
        .ok();
    // Virtual accounts, deposit, receipts.
    let v = api.vbank("v-1", 2000).await;
    let v_uid = v.ok()["imp_uid"].as_str().expect("id").to_owned();
    api.call(
        Method::PUT,
        "/vbanks",
        Some(json!({"imp_uid": v_uid, "amount": 3000})),
    )
    .await
    .ok();
    api.call(Method::PUT, &format!("/internal/deposit/{v_uid}"), None)
        .await
        .ok();
    let rpath = format!("/receipts/{v_uid}");
    api.post(&rpath, json!({"identifier": "01012345678"}))
        .await
        .ok();
    api.get(&rpath).await.ok();
    api.call(Method::DELETE, &rpath, None).await.ok();
    let w = api.vbank("v-2", 2000).await;
    let w_uid = w.ok()["imp_uid"].as_str().expect("id").to_owned();
    api.call(Method::DELETE, &format!("/vbanks/{w_uid}"), None)
        .await
        .ok();
    // Certifications.
    let c = api
        .post(
            "/certifications/otp/request",
            json!({"name": "김", "phone": "01000000000", "birth": "20000229",
                   "gender_digit": "4", "carrier": "LGT"}),
        )
        .await;
    let c_uid = c.ok()["imp_uid"].as_str().expect("id").to_owned();
    let otp = api.fake.otp(&c_uid).expect("otp");
    let confirmed = api
        .post(
            &format!("/certifications/otp/confirm/{c_uid}"),
            json!({"otp": otp}),
        )
        .await;
    assert_eq!(confirmed.ok()["gender"], json!("female"));
    assert_eq!(confirmed.ok()["merchant_uid"], json!(null));
    api.get(&format!("/certifications/{c_uid}")).await.ok();
    api.call(Method::DELETE, &format!("/certifications/{c_uid}"), None)
        .await
        .ok();
    // The webhook sink.
    let sink = api
        .raw(
            Method::POST,
            "/internal/webhook",
            Some(json!({"imp_uid": card_uid, "merchant_uid": "o-1", "status": "paid"})),
            &[],
        )
        .await;
    assert_eq!(sink.status.as_u16(), 201);

    let mut expected = BTreeSet::new();
    for (template, ops) in common::spec()["paths"].as_object().expect("paths") {
        for m in ops.as_object().expect("ops").keys() {
            expected.insert(format!("{} {template}", m.to_ascii_uppercase()));
        }
    }
    let seen = api.seen.lock().expect("seen").clone();
    let missing: Vec<_> = expected.difference(&seen).collect();
    assert!(missing.is_empty(), "not exercised: {missing:?}");
}

#[test]
fn the_copied_spec_is_the_shared_one() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/spec/portone-v1.openapi.json");
    // The shared tree sits beside the workspace in development and CI; skip elsewhere.
    if let Ok(text) = std::fs::read_to_string(shared) {
        let shared: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(&shared, common::spec());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let api = Api::start().await;
    api.onetime("ct", 100, GOOD_CARD).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_a_multi_thread_runtime_and_in_parallel() {
    let mut fakes = Vec::new();
    for _ in 0..4 {
        fakes.push(Api::start().await);
    }
    let ports: BTreeSet<u16> = fakes.iter().map(|a| a.fake.addr().port()).collect();
    assert_eq!(ports.len(), 4);
    for (i, api) in fakes.iter().enumerate() {
        api.onetime(&format!("mt-{i}"), 100, GOOD_CARD).await.ok();
        // Each fake has its own state.
        assert_eq!(api.fake.received_requests().len(), 2);
    }
}

#[test]
fn starts_from_a_plain_thread_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let fake = FakeIamport::start().await;
        assert!(fake.uri().starts_with("http://127.0.0.1:"));
        assert!(!fake.uri().ends_with('/'));
        assert!(!fake.access_token().is_empty());
    });
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let fake = FakeIamport::start().await;
    let url = format!("{}/payments/x", fake.uri());
    assert_eq!(client.get(&url).send().await.expect("up").status(), 401);
    // A hanging request does not keep the server alive.
    fake.hang_next(1);
    let hung = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move { client.get(&url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    fake.shutdown().await;
    assert!(hung.await.expect("join").is_err());
    assert!(client.get(&url).send().await.is_err());

    let dropped = FakeIamport::start().await;
    let url = format!("{}/payments/x", dropped.uri());
    drop(dropped);
    let mut refused = false;
    for _ in 0..300 {
        if client.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "server still answering after drop");
}

#[tokio::test]
async fn try_start_reports_a_taken_port() {
    let first = FakeIamport::start().await;
    let second = FakeIamport::builder().port(first.addr().port()).try_start();
    assert!(matches!(second, Err(fake_iamport::FakeError::Start { .. })));
}

//! Authentication and stores: API secrets, tokens that expire by the fake's clock, several
//! stores per merchant, another merchant's store.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::Api;
use fake_portone::{FakePortOne, StoreSettings};
use serde_json::json;

#[tokio::test]
async fn a_missing_or_wrong_secret_is_unauthorized() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    for auth in [
        None,
        Some("PortOne wrong"),
        Some("Basic abc"),
        Some("PortOne"),
    ] {
        let e = api
            .with_auth(auth)
            .expect_err("GET", "/payments/x", None, 401, "UNAUTHORIZED")
            .await;
        assert!(e["message"].is_string());
    }
    // The right one reaches the API (and finds nothing).
    api.expect_err("GET", "/payments/x", None, 404, "PAYMENT_NOT_FOUND")
        .await;
    assert_eq!(
        portone.authorization(),
        format!("PortOne {}", fake_portone::DEFAULT_API_SECRET)
    );
}

#[tokio::test]
async fn a_method_or_path_the_api_does_not_have_is_a_json_404() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    for (method, path) in [
        ("GET", "/nope"),
        ("PUT", "/payments/x"),
        ("GET", "/payments/x/nope"),
    ] {
        let e = api.expect_err(method, path, None, 404, "NOT_FOUND").await;
        let message = e["message"].as_str().unwrap_or_default();
        assert!(message.contains(path), "{method} {path}: {e}");
    }
}

#[tokio::test]
async fn tokens_from_the_api_secret_work_expire_and_refresh() {
    let portone = FakePortOne::builder().api_secret("my-secret").start().await;
    let api = Api::new(&portone).with_auth(None);
    api.expect_err(
        "POST",
        "/login/api-secret",
        Some(json!({"apiSecret": "nope"})),
        401,
        "UNAUTHORIZED",
    )
    .await;
    api.expect_err(
        "POST",
        "/login/api-secret",
        Some(json!({})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    let (s, t) = api
        .post("/login/api-secret", json!({"apiSecret": "my-secret"}))
        .await;
    assert_eq!(s, 200, "{t}");
    let bearer = format!("Bearer {}", t["accessToken"].as_str().unwrap());
    let with_token = api.with_auth(Some(&bearer));
    with_token
        .expect_err("GET", "/payments/x", None, 404, "PAYMENT_NOT_FOUND")
        .await;
    // Access tokens live 30 minutes of fake time.
    portone.advance(Duration::from_secs(31 * 60));
    let e = with_token
        .expect_err("GET", "/payments/x", None, 401, "UNAUTHORIZED")
        .await;
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");
    let (s, t2) = api
        .post("/token/refresh", json!({"refreshToken": t["refreshToken"]}))
        .await;
    assert_eq!(s, 200, "{t2}");
    let fresh = api.with_auth(Some(&format!(
        "Bearer {}",
        t2["accessToken"].as_str().unwrap()
    )));
    fresh
        .expect_err("GET", "/payments/x", None, 404, "PAYMENT_NOT_FOUND")
        .await;
    // A refresh token is used up by refreshing.
    api.expect_err(
        "POST",
        "/token/refresh",
        Some(json!({"refreshToken": t["refreshToken"]})),
        401,
        "UNAUTHORIZED",
    )
    .await;
    // Refresh tokens expire after a day.
    portone.advance(Duration::from_secs(25 * 3600));
    api.expect_err(
        "POST",
        "/token/refresh",
        Some(json!({"refreshToken": t2["refreshToken"]})),
        401,
        "UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn several_stores_and_another_merchant() {
    let portone = FakePortOne::builder()
        .store_id("store-a")
        .store(StoreSettings::new("store-b"))
        .store(StoreSettings::new("store-other").api_secret("other-secret"))
        .start()
        .await;
    let api = Api::new(&portone);
    let other = api.with_auth(Some("PortOne other-secret"));
    // With two stores the merchant must name one.
    let e = api
        .expect_err(
            "POST",
            "/payments/p-1/instant",
            Some(common::card_body(1_000, "4330123412341234")),
            400,
            "INVALID_REQUEST",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("storeId"), "{e}");
    let mut body = common::card_body(1_000, "4330123412341234");
    body["storeId"] = json!("store-a");
    let (s, _) = api.post("/payments/p-1/instant", body.clone()).await;
    assert_eq!(s, 200);
    let (s, p) = api.get("/payments/p-1?storeId=store-a").await;
    assert_eq!((s, p["storeId"].as_str()), (200, Some("store-a")));
    // The same paymentId in the other store of the same merchant is another payment.
    api.expect_err(
        "GET",
        "/payments/p-1?storeId=store-b",
        None,
        404,
        "PAYMENT_NOT_FOUND",
    )
    .await;
    body["storeId"] = json!("store-b");
    let (s, _) = api.post("/payments/p-1/instant", body).await;
    assert_eq!(s, 200, "store-b has its own p-1");
    // Another merchant's secret does not reach store-a; the merchant's does not reach it.
    other
        .expect_err(
            "GET",
            "/payments/p-1?storeId=store-a",
            None,
            403,
            "FORBIDDEN",
        )
        .await;
    api.expect_err(
        "GET",
        "/payments/p-1?storeId=store-other",
        None,
        403,
        "FORBIDDEN",
    )
    .await;
    // ... and it has one store, so it need not name it.
    other
        .expect_err("GET", "/payments/p-1", None, 404, "PAYMENT_NOT_FOUND")
        .await;
    let (_, list) = other.get("/payments").await;
    assert_eq!(list["page"]["totalCount"], 0);
    let (_, list) = api.get("/payments").await;
    assert_eq!(list["page"]["totalCount"], 2, "both stores of the merchant");
}

#[tokio::test]
async fn misconfigured_stores_do_not_start() {
    let err = FakePortOne::builder()
        .store(StoreSettings::new(fake_portone::DEFAULT_STORE_ID))
        .try_start()
        .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    let err = FakePortOne::builder()
        .store(StoreSettings::new("s").webhook_secret("not-whsec"))
        .try_start()
        .unwrap_err();
    assert!(err.to_string().contains("whsec_"), "{err}");
}

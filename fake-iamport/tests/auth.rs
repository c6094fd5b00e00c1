//! Token issue, reuse, renewal in the last minute, expiry, and the Authorization header.

mod common;

use std::time::Duration;

use common::{Api, T0};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn token_is_issued_for_30_minutes_and_reused() {
    let api = Api::start().await;
    let (key, secret) = api.fake.credentials();
    assert_eq!(
        (key.as_str(), secret.as_str()),
        ("imp_key_fake", "imp_secret_fake")
    );
    let body = json!({"imp_key": key, "imp_secret": secret});
    let first = api
        .raw(Method::POST, "/users/getToken", Some(body.clone()), &[])
        .await;
    let t = first.ok();
    assert_eq!(t["now"], json!(T0));
    assert_eq!(t["expired_at"], json!(T0 + 1800));
    assert_eq!(t["access_token"].as_str().map(str::len), Some(40));

    // Asking again 10 minutes later returns the same token, unchanged.
    api.fake.advance(Duration::from_secs(600));
    let again = api
        .raw(Method::POST, "/users/getToken", Some(body), &[])
        .await;
    assert_eq!(again.ok()["access_token"], t["access_token"]);
    assert_eq!(again.ok()["expired_at"], json!(T0 + 1800));
    assert_eq!(again.ok()["now"], json!(T0 + 600));
}

#[tokio::test]
async fn asking_in_the_last_minute_extends_the_same_token_by_5_minutes() {
    let api = Api::start().await;
    let (key, secret) = api.fake.credentials();
    let body = json!({"imp_key": key, "imp_secret": secret});
    api.fake.advance(Duration::from_secs(1800 - 30));
    let renewed = api
        .raw(Method::POST, "/users/getToken", Some(body.clone()), &[])
        .await;
    assert_eq!(renewed.ok()["access_token"], json!(api.token));
    assert_eq!(renewed.ok()["expired_at"], json!(T0 + 1800 + 300));
    // Past the original expiry, the token still works thanks to the extension.
    api.fake.advance(Duration::from_secs(120));
    api.get("/payments/imp_000000000000").await.fails(404);
    // Past the extension it is refused, and a new one is issued.
    api.fake.advance(Duration::from_secs(300));
    let msg = api.get("/payments/imp_000000000000").await.fails(401);
    assert!(msg.contains("만료"), "{msg}");
    let fresh = api
        .raw(Method::POST, "/users/getToken", Some(body), &[])
        .await;
    assert_ne!(fresh.ok()["access_token"], json!(api.token));
}

#[tokio::test]
async fn expired_token_is_401() {
    let api = Api::start().await;
    api.get("/payments/imp_000000000000").await.fails(404);
    api.fake.advance(Duration::from_secs(1800));
    api.get("/payments/imp_000000000000").await.fails(401);
}

#[tokio::test]
async fn authorization_accepts_bare_and_bearer_and_refuses_missing_or_unknown() {
    let api = Api::start().await;
    let path = "/payments/imp_000000000000";
    let bearer = format!("Bearer {}", api.token);
    api.raw(Method::GET, path, None, &[("Authorization", &bearer)])
        .await
        .fails(404);
    api.raw(Method::GET, path, None, &[("Authorization", &api.token)])
        .await
        .fails(404);
    api.raw(Method::GET, path, None, &[]).await.fails(401);
    api.raw(Method::GET, path, None, &[("Authorization", "Bearer nope")])
        .await
        .fails(401);
}

#[tokio::test]
async fn wrong_or_missing_credentials() {
    let api = Api::start().await;
    let wrong = json!({"imp_key": "imp_key_fake", "imp_secret": "wrong"});
    api.raw(Method::POST, "/users/getToken", Some(wrong), &[])
        .await
        .fails(401);
    let msg = api
        .raw(
            Method::POST,
            "/users/getToken",
            Some(json!({"imp_key": "k"})),
            &[],
        )
        .await
        .fails(400);
    assert!(msg.contains("imp_secret"), "{msg}");
}

#[tokio::test]
async fn several_credential_pairs_and_form_encoded_token_request() {
    let api = Api::with(
        fake_iamport::FakeIamport::builder()
            .credentials("key-a", "secret-a")
            .credentials("key-b", "secret-b"),
    )
    .await;
    assert_eq!(
        api.fake.credentials(),
        ("key-a".to_owned(), "secret-a".to_owned())
    );
    let resp = api
        .http
        .post(format!("{}/users/getToken", api.fake.uri()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("imp_key=key-b&imp_secret=secret-b")
        .send()
        .await
        .expect("sent");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["code"], json!(0));
    // Each key has its own token.
    assert_ne!(body["response"]["access_token"], json!(api.token));
    api.fake.add_credentials("key-c", "secret-c");
    api.raw(
        Method::POST,
        "/users/getToken",
        Some(json!({"imp_key": "key-c", "imp_secret": "secret-c"})),
        &[],
    )
    .await
    .ok();
}

#[tokio::test]
async fn unknown_endpoint_is_404_envelope() {
    let api = Api::start().await;
    let msg = api.get("/nothing/here").await.fails(404);
    assert!(msg.contains("/nothing/here"));
}

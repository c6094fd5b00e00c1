//! Identity verifications: send, confirm, resend, read; READY → VERIFIED / FAILED; the CI
//! is the same for the same person everywhere.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::Api;
use fake_portone::{FakePortOne, Person, StoreSettings};
use serde_json::{Value, json};

fn send_body(name: &str, identity_number: Option<&str>) -> Value {
    let mut b = json!({
        "channelKey": "channel-key-iv",
        "customer": {"id": "user-1", "name": name, "phoneNumber": "01012345678", "ipAddress": "127.0.0.1"},
        "operator": "SKT",
        "method": "SMS",
    });
    if let Some(n) = identity_number {
        b["customer"]["identityNumber"] = json!(n);
    }
    b
}

#[tokio::test]
async fn send_confirm_verifies() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let (s, b) = api
        .post(
            "/identity-verifications/iv-1/send",
            send_body("홍길동", Some("9001011")),
        )
        .await;
    assert_eq!((s, b), (200, json!({})));
    let (_, v) = api.get("/identity-verifications/iv-1").await;
    assert_eq!(v["status"], "READY");
    assert_eq!(v["requestedCustomer"]["birthYear"], "1990");
    api.expect_err(
        "POST",
        "/identity-verifications/iv-1/send",
        Some(send_body("홍길동", None)),
        409,
        "IDENTITY_VERIFICATION_ALREADY_SENT",
    )
    .await;
    let otp = portone.identity_otp("iv-1").unwrap();
    assert_eq!(otp.len(), 6);
    let (s, c) = api
        .post("/identity-verifications/iv-1/confirm", json!({"otp": otp}))
        .await;
    assert_eq!(s, 200, "{c}");
    let verified = &c["identityVerification"];
    assert_eq!(verified["status"], "VERIFIED");
    let customer = &verified["verifiedCustomer"];
    assert_eq!(customer["name"], "홍길동");
    assert_eq!(customer["birthDate"], "1990-01-01");
    assert_eq!(customer["gender"], "MALE");
    assert_eq!(customer["operator"], "SKT");
    assert_eq!(customer["ci"].as_str().unwrap().len(), 88);
    let (_, v) = api.get("/identity-verifications/iv-1").await;
    assert_eq!(v["verifiedCustomer"]["ci"], customer["ci"]);
    api.expect_err(
        "POST",
        "/identity-verifications/iv-1/confirm",
        Some(json!({"otp": otp})),
        409,
        "IDENTITY_VERIFICATION_ALREADY_VERIFIED",
    )
    .await;
    api.expect_err(
        "POST",
        "/identity-verifications/iv-1/resend",
        Some(json!({})),
        409,
        "IDENTITY_VERIFICATION_ALREADY_VERIFIED",
    )
    .await;
    api.expect_err(
        "POST",
        "/identity-verifications/iv-1/send",
        Some(send_body("홍길동", None)),
        409,
        "IDENTITY_VERIFICATION_ALREADY_VERIFIED",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_or_late_otp_fails_and_a_new_send_retries() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    api.post(
        "/identity-verifications/iv-1/send",
        send_body("홍길동", None),
    )
    .await;
    api.expect_err(
        "POST",
        "/identity-verifications/iv-1/confirm",
        Some(json!({})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    let otp = portone.identity_otp("iv-1").unwrap();
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let e = api
        .expect_err(
            "POST",
            "/identity-verifications/iv-1/confirm",
            Some(json!({"otp": wrong})),
            502,
            "PG_PROVIDER",
        )
        .await;
    assert_eq!(e["pgCode"], "OTP_MISMATCH");
    let (_, v) = api.get("/identity-verifications/iv-1").await;
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["failure"]["pgCode"], "OTP_MISMATCH");
    api.expect_err(
        "POST",
        "/identity-verifications/iv-1/confirm",
        Some(json!({"otp": otp})),
        404,
        "IDENTITY_VERIFICATION_NOT_SENT",
    )
    .await;
    api.expect_err(
        "POST",
        "/identity-verifications/iv-1/resend",
        Some(json!({})),
        404,
        "IDENTITY_VERIFICATION_NOT_SENT",
    )
    .await;
    // Sending again restarts it; an OTP is good for three minutes of fake time.
    api.post(
        "/identity-verifications/iv-1/send",
        send_body("홍길동", None),
    )
    .await;
    let otp = portone.identity_otp("iv-1").unwrap();
    portone.advance(Duration::from_secs(181));
    let e = api
        .expect_err(
            "POST",
            "/identity-verifications/iv-1/confirm",
            Some(json!({"otp": otp})),
            502,
            "PG_PROVIDER",
        )
        .await;
    assert_eq!(e["pgCode"], "OTP_EXPIRED");
}

#[tokio::test]
async fn resend_replaces_the_otp() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    api.post(
        "/identity-verifications/iv-1/send",
        send_body("홍길동", None),
    )
    .await;
    let first = portone.identity_otp("iv-1").unwrap();
    let mut second = first.clone();
    for _ in 0..20 {
        let (s, b) = api
            .post("/identity-verifications/iv-1/resend", json!({}))
            .await;
        assert_eq!((s, b), (200, json!({})));
        second = portone.identity_otp("iv-1").unwrap();
        if second != first {
            break;
        }
    }
    assert_ne!(first, second, "a new code");
    // The OTP over HTTP, as a suite in another language reads it.
    let otp: Value = reqwest::get(format!(
        "{}/internal/identity-verifications/iv-1/otp",
        portone.uri()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(otp["otp"], second);
    let (s, _) = api
        .post(
            "/identity-verifications/iv-1/confirm",
            json!({"otp": second}),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn unknown_verifications_and_bad_input() {
    let portone = FakePortOne::builder()
        .channel_keys(["channel-key-iv"])
        .start()
        .await;
    let api = Api::new(&portone);
    api.expect_err(
        "GET",
        "/identity-verifications/nope",
        None,
        404,
        "IDENTITY_VERIFICATION_NOT_FOUND",
    )
    .await;
    api.expect_err(
        "POST",
        "/identity-verifications/nope/confirm",
        Some(json!({"otp": "1"})),
        404,
        "IDENTITY_VERIFICATION_NOT_FOUND",
    )
    .await;
    api.expect_err(
        "POST",
        "/identity-verifications/nope/resend",
        Some(json!({})),
        404,
        "IDENTITY_VERIFICATION_NOT_FOUND",
    )
    .await;
    let mut b = send_body("홍길동", None);
    b["operator"] = json!("VODAFONE");
    api.expect_err(
        "POST",
        "/identity-verifications/x/send",
        Some(b),
        400,
        "INVALID_REQUEST",
    )
    .await;
    let mut b = send_body("홍길동", None);
    b["customer"]["phoneNumber"] = json!("12");
    api.expect_err(
        "POST",
        "/identity-verifications/x/send",
        Some(b),
        400,
        "INVALID_REQUEST",
    )
    .await;
    let mut b = send_body("홍길동", None);
    b["channelKey"] = json!("other");
    api.expect_err(
        "POST",
        "/identity-verifications/x/send",
        Some(b),
        404,
        "CHANNEL_NOT_FOUND",
    )
    .await;
    assert_eq!(
        portone.identity_otp("x").unwrap_err().code(),
        Some("IDENTITY_VERIFICATION_NOT_FOUND")
    );
}

#[tokio::test]
async fn the_window_verifies_and_the_ci_is_the_same_person_everywhere() {
    let portone = FakePortOne::builder()
        .store(StoreSettings::new("store-other").api_secret("other"))
        .start()
        .await;
    let api = Api::new(&portone);
    let person = Person::new("김철수", "01099998888", "1985-05-05");
    let v1 = portone
        .verify_identity("iv-1", person.clone())
        .await
        .unwrap();
    assert_eq!(v1["status"], "VERIFIED");
    let (_, read) = api.get("/identity-verifications/iv-1").await;
    assert_eq!(read["verifiedCustomer"]["birthDate"], "1985-05-05");
    // The same person later, with a new phone, and in another fake instance.
    let moved = Person::new("김철수", "01011112222", "1985-05-05");
    let v2 = portone.verify_identity("iv-2", moved).await.unwrap();
    assert_eq!(v1["verifiedCustomer"]["ci"], v2["verifiedCustomer"]["ci"]);
    let elsewhere = FakePortOne::start().await;
    let v3 = elsewhere
        .verify_identity("iv-9", person.clone())
        .await
        .unwrap();
    assert_eq!(v1["verifiedCustomer"]["ci"], v3["verifiedCustomer"]["ci"]);
    // Another person has another CI.
    let other = portone
        .verify_identity("iv-3", Person::new("김철수", "01099998888", "1985-05-06"))
        .await
        .unwrap();
    assert_ne!(
        v1["verifiedCustomer"]["ci"],
        other["verifiedCustomer"]["ci"]
    );
    // The server-driven flow with a birth date gives the same CI.
    api.post("/identity-verifications/iv-4/send", {
        let mut b = send_body("김철수", Some("8505051"));
        b["customer"]["phoneNumber"] = json!("01099998888");
        b
    })
    .await;
    let otp = portone.identity_otp("iv-4").unwrap();
    let (_, c) = api
        .post("/identity-verifications/iv-4/confirm", json!({"otp": otp}))
        .await;
    assert_eq!(
        c["identityVerification"]["verifiedCustomer"]["ci"],
        v1["verifiedCustomer"]["ci"]
    );
    // Over HTTP, the body shape of the issue.
    let r = reqwest::Client::new()
        .post(format!("{}/internal/identity-verifications/iv-5/verify", portone.uri()))
        .json(&json!({"storeId": portone.store_id(), "customer": {"name": "김철수", "phoneNumber": "01099998888", "birthDate": "1985-05-05"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v5: Value = r.json().await.unwrap();
    common::assert_component("IdentityVerification", &v5);
    assert_eq!(v5["verifiedCustomer"]["ci"], v1["verifiedCustomer"]["ci"]);
    let e = portone.verify_identity("iv-1", person).await.unwrap_err();
    assert_eq!(e.code(), Some("IDENTITY_VERIFICATION_ALREADY_VERIFIED"));
    let e = portone
        .verify_identity("iv-6", Person::new("김철수", "01099998888", "05/05/1985"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    // Another merchant cannot read this store's verification.
    api.with_auth(Some("PortOne other"))
        .expect_err(
            "GET",
            "/identity-verifications/iv-1",
            None,
            404,
            "IDENTITY_VERIFICATION_NOT_FOUND",
        )
        .await;
}

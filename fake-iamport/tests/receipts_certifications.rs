//! Cash receipts and SMS certifications.

mod common;

use std::time::Duration;

use common::{Api, GOOD_CARD};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn cash_receipt_issue_get_cancel() {
    let api = Api::start().await;
    let v = api.vbank("rc-1", 11_000).await;
    let imp_uid = v.ok()["imp_uid"].as_str().expect("id").to_owned();
    let path = format!("/receipts/{imp_uid}");
    // Not paid yet.
    api.post(&path, json!({"identifier": "01012345678"}))
        .await
        .fails(200);
    api.fake.deposit(&imp_uid).await.expect("deposit");
    api.get(&path).await.fails(404);

    for (body, field) in [
        (json!({}), "identifier"),
        (json!({"identifier": "123"}), "identifier"),
        (
            json!({"identifier": "01012345678", "identifier_type": "fax"}),
            "identifier_type",
        ),
        (
            json!({"identifier": "01012345678", "type": "alien"}),
            "type",
        ),
        (
            json!({"identifier": "01012345678", "imp_uid": "imp_other"}),
            "imp_uid",
        ),
    ] {
        let msg = api.post(&path, body).await.fails(400);
        assert!(msg.contains(field), "{field}: {msg}");
    }

    let r = api
        .post(
            &path,
            json!({"identifier": "010-1234-5678", "identifier_type": "phone"}),
        )
        .await;
    let r = r.ok().clone();
    assert_eq!(r["imp_uid"], json!(imp_uid));
    assert_eq!(r["amount"], json!(11_000));
    assert_eq!(r["vat"], json!(1000));
    assert_eq!(r["type"], json!("person"));
    assert_eq!(r["cancelled_at"], json!(0));
    assert_eq!(api.get(&path).await.ok(), &r);
    assert_eq!(
        api.fake.payment(&imp_uid).expect("p")["cash_receipt_issue"],
        json!(true)
    );
    api.post(&path, json!({"identifier": "01012345678"}))
        .await
        .fails(200);

    api.fake.advance(Duration::from_secs(5));
    let c = api.call(Method::DELETE, &path, None).await;
    assert_eq!(c.ok()["cancelled_at"], json!(common::T0 + 5));
    api.call(Method::DELETE, &path, None).await.fails(200);
    assert_eq!(
        api.fake.payment(&imp_uid).expect("p")["cash_receipt_issue"],
        json!(false)
    );
    // Reissue after withdrawal, as a company, with a business number.
    let again = api
        .post(
            &path,
            json!({"identifier": "1234567890", "type": "company", "tax_free": 1000}),
        )
        .await;
    assert_eq!(again.ok()["vat"], json!(909));

    // Card payments get no cash receipt; unknown payments are 404.
    let card = api.onetime("rc-card", 1000, GOOD_CARD).await;
    let card_uid = card.ok()["imp_uid"].as_str().expect("id").to_owned();
    api.post(
        &format!("/receipts/{card_uid}"),
        json!({"identifier": "01012345678"}),
    )
    .await
    .fails(200);
    api.post(
        "/receipts/imp_000000000000",
        json!({"identifier": "01012345678"}),
    )
    .await
    .fails(404);
}

fn cert_request() -> serde_json::Value {
    json!({"name": "홍길동", "phone": "010-1234-5678", "birth": "19900101",
           "gender_digit": "1", "carrier": "SKT", "merchant_uid": "cert-1"})
}

#[tokio::test]
async fn certification_otp_flow() {
    let api = Api::start().await;
    let r = api
        .post("/certifications/otp/request", cert_request())
        .await;
    let imp_uid = r.ok()["imp_uid"].as_str().expect("id").to_owned();
    let otp = api.fake.otp(&imp_uid).expect("otp");
    assert_eq!(otp.len(), 6);
    let pending = api.get(&format!("/certifications/{imp_uid}")).await;
    assert_eq!(pending.ok()["certified"], json!(false));

    let confirm = format!("/certifications/otp/confirm/{imp_uid}");
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let msg = api.post(&confirm, json!({"otp": wrong})).await.fails(200);
    assert!(msg.contains("일치"), "{msg}");
    api.post(&confirm, json!({})).await.fails(400);
    let ok = api.post(&confirm, json!({"otp": otp})).await;
    let c = ok.ok().clone();
    assert_eq!(c["certified"], json!(true));
    assert_eq!(c["certified_at"], json!(common::T0));
    assert_eq!(c["name"], json!("홍길동"));
    assert_eq!(c["phone"], json!("01012345678"));
    assert_eq!(c["gender"], json!("male"));
    assert_eq!(c["foreigner"], json!(false));
    assert_eq!(c["birthday"], json!("19900101"));
    assert_eq!(c["merchant_uid"], json!("cert-1"));
    assert!(c.get("__otp").is_none());
    api.post(&confirm, json!({"otp": otp})).await.fails(200);
    assert_eq!(
        api.get(&format!("/certifications/{imp_uid}")).await.ok(),
        &c
    );

    let del = api
        .call(Method::DELETE, &format!("/certifications/{imp_uid}"), None)
        .await;
    assert_eq!(del.ok()["imp_uid"], json!(imp_uid));
    api.get(&format!("/certifications/{imp_uid}"))
        .await
        .fails(404);
    api.post(
        "/certifications/otp/confirm/imp_000000000000",
        json!({"otp": "1"}),
    )
    .await
    .fails(404);
}

#[tokio::test]
async fn certification_checks_expiry_and_attempt_limit() {
    let api = Api::start().await;
    for (field, value) in [
        ("phone", json!("02-123-4567")),
        ("birth", json!("19901301")),
        ("gender_digit", json!("9")),
        ("carrier", json!("VERIZON")),
        ("name", json!(null)),
    ] {
        let mut b = cert_request();
        b[field] = value;
        let msg = api.post("/certifications/otp/request", b).await.fails(400);
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let mut mvno = cert_request();
    mvno["is_mvno"] = json!(true);
    api.post("/certifications/otp/request", mvno.clone())
        .await
        .fails(400);
    mvno["commpany"] = json!("알뜰폰");
    api.post("/certifications/otp/request", mvno).await.ok();

    // Expiry after 3 minutes, by the clock.
    let r = api
        .post("/certifications/otp/request", cert_request())
        .await;
    let imp_uid = r.ok()["imp_uid"].as_str().expect("id").to_owned();
    let otp = api.fake.otp(&imp_uid).expect("otp");
    api.fake.advance(Duration::from_secs(181));
    let msg = api
        .post(
            &format!("/certifications/otp/confirm/{imp_uid}"),
            json!({"otp": otp}),
        )
        .await
        .fails(200);
    assert!(msg.contains("초과"), "{msg}");

    // Five wrong tries lock the request even for the right OTP.
    let r = api
        .post("/certifications/otp/request", cert_request())
        .await;
    let imp_uid = r.ok()["imp_uid"].as_str().expect("id").to_owned();
    let otp = api.fake.otp(&imp_uid).expect("otp");
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let path = format!("/certifications/otp/confirm/{imp_uid}");
    for _ in 0..5 {
        api.post(&path, json!({"otp": wrong})).await.fails(200);
    }
    let msg = api.post(&path, json!({"otp": otp})).await.fails(200);
    assert!(msg.contains("횟수"), "{msg}");
}

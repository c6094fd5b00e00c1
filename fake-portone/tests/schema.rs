//! Every operation the fake serves answers per the copied OpenAPI document, and the
//! validator really rejects what the document forbids.
#![allow(missing_docs)]

mod common;

use std::collections::BTreeSet;

use common::{Api, card_credential, validated};
use fake_portone::FakePortOne;
use serde_json::json;

/// The operations of the document the fake does not serve (cash receipts and the
/// confirm step of PortOne's "manual confirm" flow).
const NOT_SERVED: [&str; 5] = [
    "GET /cash-receipts",
    "POST /cash-receipts",
    "GET /payments/{paymentId}/cash-receipt",
    "POST /payments/{paymentId}/cash-receipt/cancel",
    "POST /payments/{paymentId}/confirm",
];

#[tokio::test]
async fn every_served_operation_answers_per_its_schema() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let anon = api.with_auth(None);
    let (_, t) = anon
        .post(
            "/login/api-secret",
            json!({"apiSecret": portone.api_secret()}),
        )
        .await;
    anon.post("/token/refresh", json!({"refreshToken": t["refreshToken"]}))
        .await;
    api.post("/payments/p-1/pre-register", json!({"totalAmount": 1_000}))
        .await;
    api.paid_card("p-1", 1_000).await;
    api.get("/payments").await;
    api.get("/payments/p-1/transactions").await;
    api.cancel("p-1", json!({"amount": 100, "reason": "x"}))
        .await;
    api.post("/payments/p-1/resend-webhook", json!({})).await;
    api.virtual_account("v-1", 1_000).await;
    api.post("/payments/v-1/virtual-account/close", json!({}))
        .await;
    let bk = api.billing_key("4330123412341234").await;
    api.get("/billing-keys").await;
    api.get(&format!("/billing-keys/{bk}")).await;
    api.post(
        "/payments/p-2/billing-key",
        json!({"billingKey": bk, "orderName": "m", "amount": {"total": 1_000}, "currency": "KRW"}),
    )
    .await;
    let at = (portone.now() + chrono::Duration::days(1)).to_rfc3339();
    let (_, s) = api
        .post(
            "/payments/p-3/schedule",
            json!({"payment": {"billingKey": bk, "orderName": "m", "amount": {"total": 1_000}, "currency": "KRW"}, "timeToPay": at}),
        )
        .await;
    let sid = s["schedule"]["id"].as_str().unwrap();
    api.get("/payment-schedules").await;
    api.get(&format!("/payment-schedules/{sid}")).await;
    api.send(
        "DELETE",
        "/payment-schedules",
        Some(&json!({"scheduleIds": [sid]})),
        &[],
    )
    .await;
    api.delete(&format!("/billing-keys/{bk}")).await;
    api.post(
        "/identity-verifications/iv-1/send",
        json!({"channelKey": "c", "customer": {"name": "홍길동", "phoneNumber": "01012345678", "ipAddress": "127.0.0.1"},
               "operator": "KT", "method": "APP"}),
    )
    .await;
    api.post("/identity-verifications/iv-1/resend", json!({}))
        .await;
    api.get("/identity-verifications/iv-1").await;
    let otp = portone.identity_otp("iv-1").unwrap();
    api.post("/identity-verifications/iv-1/confirm", json!({"otp": otp}))
        .await;
    api.post(
        "/billing-keys",
        json!({"method": {"card": {"credential": card_credential("4000000000000002")}}}),
    )
    .await;

    let mut all = BTreeSet::new();
    for (path, ops) in common::spec()["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            all.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    let seen: BTreeSet<String> = validated().iter().map(|(op, _)| op.clone()).collect();
    let missing: Vec<_> = all
        .difference(&seen)
        .filter(|op| !NOT_SERVED.contains(&op.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "operations never validated: {missing:?}"
    );
}

#[tokio::test]
async fn the_validator_does_reject_bad_bodies() {
    // Guards against a validator that accepts everything (or a discriminator rewrite that
    // lets any variant through).
    let portone = FakePortOne::start().await;
    let mut p = Api::new(&portone).paid_card("p-1", 1_000).await;
    let v = common::component("Payment");
    assert!(v.is_valid(&p));
    p["status"] = json!("READY");
    assert!(v.is_valid(&p), "a READY payment may carry these fields too");
    p["status"] = json!("CANCELLED");
    assert!(!v.is_valid(&p), "a CANCELLED payment needs cancelledAt");
    p["status"] = json!("PAID");
    p["paidAt"] = json!("yesterday");
    assert!(!v.is_valid(&p), "format date-time is checked");
    p["paidAt"] = json!("2024-01-01T00:00:00Z");
    p["method"]["type"] = json!("PaymentMethodMagic");
    assert!(!v.is_valid(&p), "an unknown method type");
    p["method"]["type"] = json!("PaymentMethodCard");
    p["amount"].as_object_mut().unwrap().remove("paid");
    assert!(!v.is_valid(&p));
    let e = common::component("CancelPaymentError");
    assert!(e.is_valid(&json!({"type": "PAYMENT_NOT_PAID", "message": "x"})));
    assert!(
        !e.is_valid(&json!({"type": "ALREADY_PAID", "message": "x"})),
        "not a cancel error"
    );
    assert!(
        !e.is_valid(&json!({"type": "PG_PROVIDER", "message": "x"})),
        "PG errors need pgCode"
    );
}

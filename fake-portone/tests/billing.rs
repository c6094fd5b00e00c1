//! Billing keys (issue, read, list, delete, pay) and payment schedules (create, read,
//! list, revoke, paid when the clock reaches them).
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::{Api, Receiver, card_credential};
use fake_portone::FakePortOne;
use serde_json::{Value, json};

fn pay_body(billing_key: &str, total: i64) -> Value {
    json!({"billingKey": billing_key, "orderName": "monthly", "amount": {"total": total}, "currency": "KRW"})
}

#[tokio::test]
async fn issue_read_pay_and_delete_a_billing_key() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let bk = api.billing_key("4330123412341234").await;
    assert!(bk.starts_with("billing-key-"));
    let (s, info) = api.get(&format!("/billing-keys/{bk}")).await;
    assert_eq!(s, 200);
    assert_eq!(info["status"], "ISSUED");
    assert_eq!(info["methods"][0]["card"]["number"], "433012******1234");
    assert_eq!(info["customer"]["id"], "customer-1");
    let (s, b) = api
        .post("/payments/sub-1/billing-key", pay_body(&bk, 9_900))
        .await;
    assert_eq!(s, 200, "{b}");
    let p = api.payment("sub-1").await;
    assert_eq!(
        (p["status"].as_str(), p["billingKey"].as_str()),
        (Some("PAID"), Some(bk.as_str()))
    );
    assert_eq!(
        p["customer"]["id"], "customer-1",
        "the key's customer by default"
    );
    let (s, d) = api.delete(&format!("/billing-keys/{bk}")).await;
    assert_eq!(s, 200, "{d}");
    assert!(d["deletedAt"].is_string());
    let (_, info) = api.get(&format!("/billing-keys/{bk}")).await;
    assert_eq!(info["status"], "DELETED");
    // Paying with a deleted key fails as the real API does; no payment is made.
    api.expect_err(
        "POST",
        "/payments/sub-2/billing-key",
        Some(pay_body(&bk, 9_900)),
        409,
        "BILLING_KEY_ALREADY_DELETED",
    )
    .await;
    assert!(portone.payment("sub-2").is_none());
    api.expect_err(
        "DELETE",
        &format!("/billing-keys/{bk}"),
        None,
        409,
        "BILLING_KEY_ALREADY_DELETED",
    )
    .await;
    api.expect_err(
        "GET",
        "/billing-keys/nope",
        None,
        404,
        "BILLING_KEY_NOT_FOUND",
    )
    .await;
    api.expect_err(
        "DELETE",
        "/billing-keys/nope",
        None,
        404,
        "BILLING_KEY_NOT_FOUND",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/sub-3/billing-key",
        Some(pay_body("nope", 1)),
        404,
        "BILLING_KEY_NOT_FOUND",
    )
    .await;
    let (s, list) = api.get("/billing-keys").await;
    assert_eq!((s, list["page"]["totalCount"].as_i64()), (200, Some(1)));
    let (_, issued) = api
        .send(
            "GET",
            "/billing-keys",
            Some(&json!({"filter": {"status": ["ISSUED"]}})),
            &[],
        )
        .await;
    assert_eq!(issued["page"]["totalCount"], 0);
}

#[tokio::test]
async fn declined_cards_refuse_issue_and_fail_payments() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let (s, b) = api
        .post(
            "/billing-keys",
            json!({"method": {"card": {"credential": card_credential("4000000000000036")}}}),
        )
        .await;
    assert_eq!(
        (s, b["pgCode"].as_str()),
        (502, Some("INVALID_STOPPED_CARD"))
    );
    api.expect_err(
        "POST",
        "/billing-keys",
        Some(json!({"method": {}})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    // A card declined after the key was issued fails the payment.
    let bk = api.billing_key("5570123412341234").await;
    portone.decline_card("5570123412341234", "REJECT_CARD_PAYMENT", "잔액 부족");
    let (s, b) = api
        .post("/payments/sub-1/billing-key", pay_body(&bk, 1_000))
        .await;
    assert_eq!((s, b["type"].as_str()), (502, Some("PG_PROVIDER")));
    assert_eq!(api.payment("sub-1").await["status"], "FAILED");
}

#[tokio::test]
async fn channels_are_free_unless_listed() {
    let portone = FakePortOne::builder()
        .channel_keys(["channel-key-a"])
        .start()
        .await;
    let api = Api::new(&portone);
    let mut body = json!({"method": {"card": {"credential": card_credential("4330123412341234")}}, "channelKey": "channel-key-b"});
    api.expect_err(
        "POST",
        "/billing-keys",
        Some(body.clone()),
        404,
        "CHANNEL_NOT_FOUND",
    )
    .await;
    body["channelKey"] = json!("channel-key-a");
    let (s, b) = api.post("/billing-keys", body).await;
    assert_eq!(s, 200);
    assert_eq!(b["billingKeyInfo"]["channels"][0]["key"], "channel-key-a");
    let mut pay = common::card_body(1_000, "4330123412341234");
    pay["channelKey"] = json!("channel-key-b");
    api.expect_err(
        "POST",
        "/payments/p/instant",
        Some(pay),
        404,
        "CHANNEL_NOT_FOUND",
    )
    .await;
    // Without a list any key goes.
    let free = FakePortOne::start().await;
    let mut pay = common::card_body(1_000, "4330123412341234");
    pay["channelKey"] = json!("anything");
    let (s, _) = Api::new(&free).post("/payments/p/instant", pay).await;
    assert_eq!(s, 200);
    assert_eq!(
        Api::new(&free).payment("p").await["channel"]["key"],
        "anything"
    );
}

#[tokio::test]
async fn a_due_schedule_is_paid_when_the_clock_reaches_it() {
    let (rx, url) = Receiver::start(0).await;
    let portone = FakePortOne::builder().webhook_url(url).start().await;
    let api = Api::new(&portone);
    let bk = api.billing_key("4330123412341234").await;
    let rx_seen = rx.wait_for(1).await; // BillingKey.Issued
    assert_eq!(rx_seen[0].json()["type"], "BillingKey.Issued");
    let at = portone.now() + chrono::Duration::days(30);
    let (s, b) = api
        .post(
            "/payments/sub-1/schedule",
            json!({"payment": pay_body(&bk, 9_900), "timeToPay": at.to_rfc3339()}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let id = b["schedule"]["id"].as_str().unwrap().to_owned();
    let (s, sch) = api.get(&format!("/payment-schedules/{id}")).await;
    assert_eq!((s, sch["status"].as_str()), (200, Some("SCHEDULED")));
    api.expect_err(
        "POST",
        "/payments/sub-1/schedule",
        Some(json!({"payment": pay_body(&bk, 9_900), "timeToPay": at.to_rfc3339()})),
        409,
        "PAYMENT_SCHEDULE_ALREADY_EXISTS",
    )
    .await;
    // A key with a pending schedule cannot be deleted.
    api.expect_err(
        "DELETE",
        &format!("/billing-keys/{bk}"),
        None,
        409,
        "PAYMENT_SCHEDULE_ALREADY_EXISTS",
    )
    .await;
    assert!(portone.payment("sub-1").is_none());
    portone.advance(Duration::from_secs(29 * 24 * 3600));
    assert!(portone.payment("sub-1").is_none(), "not due yet");
    portone.advance(Duration::from_secs(2 * 24 * 3600));
    let p = api.payment("sub-1").await;
    assert_eq!(p["status"], "PAID");
    assert_eq!(p["scheduleId"], id);
    let (_, sch) = api.get(&format!("/payment-schedules/{id}")).await;
    assert_eq!(sch["status"], "SUCCEEDED");
    let hooks = rx.wait_for(2).await;
    let paid = hooks[1].json();
    assert_eq!(paid["type"], "Transaction.Paid");
    assert_eq!(paid["data"]["paymentId"], "sub-1");
    let (_, sched) = api
        .send(
            "GET",
            "/payments",
            Some(&json!({"filter": {"isScheduled": true}})),
            &[],
        )
        .await;
    assert_eq!(sched["page"]["totalCount"], 1);
    api.expect_err(
        "POST",
        "/payments/sub-1/schedule",
        Some(json!({"payment": pay_body(&bk, 9_900), "timeToPay": at.to_rfc3339()})),
        409,
        "ALREADY_PAID_OR_WAITING",
    )
    .await;
}

#[tokio::test]
async fn list_and_revoke_schedules() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let bk = api.billing_key("4330123412341234").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let at = portone.now() + chrono::Duration::days(30 - i);
        let (_, b) = api
            .post(
                &format!("/payments/sub-{i}/schedule"),
                json!({"payment": pay_body(&bk, 1_000), "timeToPay": at.to_rfc3339()}),
            )
            .await;
        ids.push(b["schedule"]["id"].as_str().unwrap().to_owned());
    }
    let (s, list) = api.get("/payment-schedules").await;
    assert_eq!((s, list["page"]["totalCount"].as_i64()), (200, Some(3)));
    assert_eq!(list["items"][0]["id"], ids[2], "earliest timeToPay first");
    let (s, r) = api
        .send(
            "DELETE",
            "/payment-schedules",
            Some(&json!({"scheduleIds": [ids[0]]})),
            &[],
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["revokedScheduleIds"], json!([ids[0]]));
    api.expect_err(
        "DELETE",
        "/payment-schedules",
        Some(json!({"scheduleIds": [ids[0]]})),
        409,
        "PAYMENT_SCHEDULE_ALREADY_REVOKED",
    )
    .await;
    api.expect_err(
        "DELETE",
        "/payment-schedules",
        Some(json!({"scheduleIds": ["nope"]})),
        404,
        "PAYMENT_SCHEDULE_NOT_FOUND",
    )
    .await;
    api.expect_err(
        "DELETE",
        "/payment-schedules",
        Some(json!({})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    api.expect_err(
        "DELETE",
        "/payment-schedules",
        Some(json!({"billingKey": "nope"})),
        404,
        "BILLING_KEY_NOT_FOUND",
    )
    .await;
    let (s, r) = api
        .send(
            "DELETE",
            "/payment-schedules",
            Some(&json!({"billingKey": bk})),
            &[],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(r["revokedScheduleIds"].as_array().unwrap().len(), 2);
    let (_, revoked) = api
        .send(
            "GET",
            "/payment-schedules",
            Some(&json!({"filter": {"status": ["REVOKED"]}})),
            &[],
        )
        .await;
    assert_eq!(revoked["page"]["totalCount"], 3);
    portone.advance(Duration::from_secs(40 * 24 * 3600));
    assert!(
        portone.payment("sub-0").is_none(),
        "revoked schedules never pay"
    );
    api.expect_err(
        "GET",
        "/payment-schedules/nope",
        None,
        404,
        "PAYMENT_SCHEDULE_NOT_FOUND",
    )
    .await;
    // Now the key has no pending schedule and may go.
    let (s, _) = api.delete(&format!("/billing-keys/{bk}")).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_schedule_on_a_declined_card_fails() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let bk = api.billing_key("5570123412341234").await;
    let at = portone.now() + chrono::Duration::hours(1);
    let (_, b) = api
        .post(
            "/payments/sub-1/schedule",
            json!({"payment": pay_body(&bk, 1_000), "timeToPay": at.to_rfc3339()}),
        )
        .await;
    let id = b["schedule"]["id"].as_str().unwrap().to_owned();
    portone.decline_card("5570123412341234", "REJECT_CARD_PAYMENT", "잔액 부족");
    portone.advance(Duration::from_secs(2 * 3600));
    let (_, sch) = api.get(&format!("/payment-schedules/{id}")).await;
    assert_eq!(sch["status"], "FAILED");
    assert_eq!(api.payment("sub-1").await["status"], "FAILED");
    api.expect_err(
        "DELETE",
        "/payment-schedules",
        Some(json!({"scheduleIds": [id]})),
        409,
        "PAYMENT_SCHEDULE_ALREADY_PROCESSED",
    )
    .await;
}

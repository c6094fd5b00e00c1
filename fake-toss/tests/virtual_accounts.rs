//! Virtual accounts: issue, deposit, webhooks, refunds, expiry.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::{Api, Receiver, assert_status_webhook, key};
use fake_toss::FakeToss;
use serde_json::json;

fn refund_account() -> serde_json::Value {
    json!({"bank": "88", "accountNumber": "110123456789", "holderName": "Hong Gildong"})
}

#[tokio::test]
async fn issue_deposit_and_webhooks() {
    let (rx, url) = Receiver::start(0).await;
    let toss = FakeToss::builder().webhook_url(&url).start().await;
    let api = Api::new(&toss);
    let p = api.virtual_account("order-va-1", 20_000).await;
    assert_eq!(p["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(p["method"], "가상계좌");
    let secret = p["secret"].as_str().unwrap().to_owned();
    assert!(!secret.is_empty());
    assert_eq!(p["virtualAccount"]["settlementStatus"], "INCOMPLETED");
    assert_eq!(p["virtualAccount"]["expired"], false);
    let k = key(&p);

    let (s, done) = api.put(&format!("/internal/{k}/deposit")).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["status"], "DONE");
    assert!(done["approvedAt"].is_string());
    assert_eq!(done["virtualAccount"]["settlementStatus"], "COMPLETED");
    // Depositing twice is refused.
    let (s, e) = api.put(&format!("/internal/{k}/deposit")).await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (400, "ALREADY_PROCESSED_PAYMENT")
    );

    let bodies = rx.wait_for_bodies(3).await;
    assert_eq!(bodies.len(), 3, "{bodies:#?}");
    assert_status_webhook(&bodies[0]);
    assert_eq!(bodies[0]["data"]["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(bodies[0]["data"]["paymentKey"], k.as_str());
    assert_status_webhook(&bodies[1]);
    assert_eq!(bodies[1]["data"]["status"], "DONE");
    let callback = &bodies[2];
    assert_eq!(callback["secret"], secret.as_str());
    assert_eq!(callback["status"], "DONE");
    assert_eq!(callback["orderId"], "order-va-1");
    assert!(callback["transactionKey"].is_string());
    assert!(callback["createdAt"].is_string());
    let log = toss
        .wait_for_webhooks(3, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|w| w.is_delivered() && w.url.as_deref() == Some(url.as_str()))
    );
    assert_eq!(log[2].event_type, "DEPOSIT_CALLBACK");
}

#[tokio::test]
async fn deposit_through_the_library_and_refund_with_account() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.virtual_account("order-va-2", 30_000).await);
    let done = toss.deposit(&k).await.expect("deposit");
    assert_eq!(done["status"], "DONE");
    assert_eq!(
        toss.deposit("unknown").await.unwrap_err().code().unwrap(),
        "NOT_FOUND_PAYMENT"
    );

    // Refunding a deposited account needs refundReceiveAccount.
    let (s, e) = api.cancel(&k, json!({"cancelReason": "refund"})).await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (400, "INVALID_REFUND_ACCOUNT_INFO")
    );
    let mut bad = refund_account();
    bad["accountNumber"] = json!("12-34");
    let (s, e) = api
        .cancel(
            &k,
            json!({"cancelReason": "refund", "refundReceiveAccount": bad}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (400, "INVALID_REFUND_ACCOUNT_INFO")
    );
    assert!(e["message"].as_str().unwrap().contains("accountNumber"));

    // Partial, over, then the rest.
    let (s, p) = api
        .cancel(
            &k,
            json!({"cancelReason": "part", "cancelAmount": 10_000, "refundReceiveAccount": refund_account()}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["status"], "PARTIAL_CANCELED");
    assert_eq!(p["balanceAmount"], 20_000);
    assert_eq!(p["virtualAccount"]["refundStatus"], "COMPLETED");
    assert_eq!(
        p["virtualAccount"]["refundReceiveAccount"]["holderName"],
        "Hong Gildong"
    );
    let (s, e) = api
        .cancel(
            &k,
            json!({"cancelReason": "over", "cancelAmount": 20_001, "refundReceiveAccount": refund_account()}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (403, "NOT_CANCELABLE_AMOUNT")
    );
    let (s, p) = api
        .cancel(
            &k,
            json!({"cancelReason": "rest", "refundReceiveAccount": refund_account()}),
        )
        .await;
    assert_eq!((s, p["status"].as_str().unwrap()), (201, "CANCELED"));
    assert_eq!(p["cancels"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn waiting_account_cancels_only_in_full_without_refund_account() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.virtual_account("order-va-3", 9_000).await);
    let (s, e) = api
        .cancel(&k, json!({"cancelReason": "part", "cancelAmount": 1_000}))
        .await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (403, "NOT_CANCELABLE_AMOUNT")
    );
    let (s, p) = api
        .cancel(&k, json!({"cancelReason": "no longer needed"}))
        .await;
    assert_eq!((s, p["status"].as_str().unwrap()), (201, "CANCELED"));
    assert_eq!(
        toss.deposit(&k).await.unwrap_err().code().unwrap(),
        "ALREADY_PROCESSED_PAYMENT"
    );
}

#[tokio::test]
async fn due_date_passing_expires_the_account() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let (s, p) = api
        .post(
            "/v1/virtual-accounts",
            json!({
                "method": "virtual-account", "orderId": "order-va-4", "orderName": "desk",
                "bank": "20", "customerName": "Kim", "amount": 50_000, "validHours": 2,
            }),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let k = key(&p);
    toss.advance(Duration::from_secs(3600));
    assert_eq!(toss.payment(&k).unwrap()["status"], "WAITING_FOR_DEPOSIT");
    toss.advance(Duration::from_secs(3601));
    let p = toss.payment(&k).unwrap();
    assert_eq!(p["status"], "EXPIRED");
    assert_eq!(p["virtualAccount"]["expired"], true);
    assert_eq!(
        toss.deposit(&k).await.unwrap_err().code().unwrap(),
        "EXPIRED_VIRTUAL_ACCOUNT"
    );
    let (s, e) = api.cancel(&k, json!({"cancelReason": "late"})).await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (403, "NOT_CANCELABLE_PAYMENT")
    );
    // The expiry was announced (the log is written as each webhook is sent: wait).
    let statuses: Vec<String> = toss
        .wait_for_webhooks(2, Duration::from_secs(5), |_| true)
        .await
        .iter()
        .map(|w| w.json()["data"]["status"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(statuses, ["WAITING_FOR_DEPOSIT", "EXPIRED"]);
}

#[tokio::test]
async fn clock_endpoints_drive_expiry_too() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.virtual_account("order-va-5", 1_000).await);
    // Default validity is 7 days.
    let (s, _) = api
        .post(
            "/internal/clock/advance",
            json!({"ms": 6 * 24 * 3600 * 1000}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(toss.payment(&k).unwrap()["status"], "WAITING_FOR_DEPOSIT");
    let later = toss.now() + chrono::Duration::days(2);
    let (s, c) = api
        .send(
            "PUT",
            "/internal/clock",
            Some(&json!({"now": later.to_rfc3339()})),
            &[],
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let (_, p) = api.get(&format!("/v1/payments/{k}")).await;
    assert_eq!(p["status"], "EXPIRED");
    let (s, _) = api
        .send(
            "PUT",
            "/internal/clock",
            Some(&json!({"now": "yesterday"})),
            &[],
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn bad_virtual_account_input_names_the_field() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let base = json!({
        "method": "virtual-account", "orderId": "order-va-6", "orderName": "desk",
        "bank": "20", "customerName": "Kim", "amount": 50_000,
    });
    for (field, value) in [
        ("amount", json!(0)),
        ("bank", json!("")),
        ("customerName", json!(" ")),
        ("validHours", json!(1000)),
        ("dueDate", json!("2001-01-01")),
        ("method", json!("card")),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let (s, e) = api.post("/v1/virtual-accounts", body).await;
        assert_eq!(s, 400, "{field}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains(field),
            "{field}: {e}"
        );
    }
    let mut body = base.clone();
    body.as_object_mut().unwrap().remove("orderName");
    let (s, e) = api.post("/v1/virtual-accounts", body).await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("orderName"), "{e}");
}

#[tokio::test]
async fn widget_virtual_account_waits_for_confirmation() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let (_, p) = api
        .post(
            "/v1/virtual-accounts",
            json!({
                "method": "virtual-account", "orderId": "order-va-7", "orderName": "desk",
                "bank": "20", "customerName": "Kim", "amount": 4_000, "__approved": false,
            }),
        )
        .await;
    assert_eq!(p["status"], "IN_PROGRESS");
    let k = key(&p);
    assert_eq!(
        toss.deposit(&k).await.unwrap_err().code().unwrap(),
        "INVALID_REQUEST"
    );
    let (s, p) = api
        .post(
            "/v1/payments/confirm",
            json!({"paymentKey": k, "orderId": "order-va-7", "amount": 4_000}),
        )
        .await;
    assert_eq!(
        (s, p["status"].as_str().unwrap()),
        (201, "WAITING_FOR_DEPOSIT")
    );
    assert_eq!(toss.deposit(&k).await.unwrap()["status"], "DONE");
}

#[tokio::test]
async fn the_customer_helpers_pay_issue_and_deposit_without_json() {
    let toss = FakeToss::start().await;
    let paid = toss.pay_by_card("order-help-1", 1_000).unwrap();
    assert_eq!(paid["status"], "DONE");
    let again = toss.pay_by_card("order-help-1", 1_000).unwrap_err();
    assert_eq!(again.code(), Some("DUPLICATED_ORDER_ID"));
    let va = toss.issue_virtual_account("order-help-2", 2_000).unwrap();
    assert_eq!(va["status"], "WAITING_FOR_DEPOSIT");
    let k = key(&va);
    assert_eq!(toss.deposit(&k).await.unwrap()["status"], "DONE");
    assert_eq!(toss.payment(&k).unwrap()["status"], "DONE");
}

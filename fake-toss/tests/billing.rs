//! Billing keys: register, read back, charge, cancel; and the authKey flow.
#![allow(missing_docs)]

mod common;

use common::{Api, key};
use fake_toss::FakeToss;
use serde_json::{Value, json};

async fn register(api: &Api, customer: &str, card: &str) -> (u16, Value) {
    api.post(
        "/v1/billing/authorizations/card",
        json!({
            "cardNumber": card,
            "cardExpirationYear": "35",
            "cardExpirationMonth": "06",
            "cardPassword": "12",
            "customerBirthday": "900101",
            "customerKey": customer,
        }),
    )
    .await
}

fn charge_body(customer: &str, order: &str, amount: i64) -> Value {
    json!({"method": "billing", "customerKey": customer, "orderId": order, "amount": amount, "orderName": "monthly"})
}

#[tokio::test]
async fn register_read_back_and_refuse_other_customer() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let (s, b) = register(&api, "customer-1", "5570123412341234").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["customerKey"], "customer-1");
    assert_eq!(b["method"], "카드");
    let bk = b["billingKey"].as_str().unwrap().to_owned();
    let (s, read) = api
        .post(
            &format!("/v1/billing/authorizations/{bk}"),
            json!({"customerKey": "customer-1"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(read["billingKey"], bk.as_str());
    assert_eq!(read["cardNumber"], b["cardNumber"]);
    api.post_err(
        &format!("/v1/billing/authorizations/{bk}"),
        json!({"customerKey": "customer-2"}),
        403,
        "NOT_MATCHES_CUSTOMER_KEY",
    )
    .await;
    api.post_err(
        "/v1/billing/authorizations/unknown-key",
        json!({"customerKey": "customer-1"}),
        404,
        "NOT_FOUND_BILLING_KEY",
    )
    .await;
    // A declined card cannot be registered.
    let (s, e) = register(&api, "customer-3", "4000000000000036").await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (400, "INVALID_STOPPED_CARD")
    );
    // A bad customerKey names the field.
    let (s, e) = register(&api, "x", "5570123412341234").await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("customerKey"));
}

#[tokio::test]
async fn charge_cancel_over_and_partial() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let bk = register(&api, "customer-9", "5570123412341234").await.1["billingKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/billing/{bk}");
    // The customerKey must match the billing key's.
    api.post_err(
        &path,
        charge_body("customer-8", "order-bill-0", 9_900),
        403,
        "NOT_MATCHES_CUSTOMER_KEY",
    )
    .await;
    let (s, p) = api
        .post(&path, charge_body("customer-9", "order-bill-1", 9_900))
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["status"], "DONE");
    assert_eq!(p["type"], "BILLING");
    assert_eq!(p["totalAmount"], 9_900);
    let k = key(&p);
    api.post_err(
        &format!("/v1/payments/{k}/cancel"),
        json!({"cancelReason": "over", "cancelAmount": 10_000}),
        403,
        "NOT_CANCELABLE_AMOUNT",
    )
    .await;
    let (_, p) = api
        .cancel(&k, json!({"cancelReason": "partial", "cancelAmount": 900}))
        .await;
    assert_eq!(p["status"], "PARTIAL_CANCELED");
    assert_eq!(p["balanceAmount"], 9_000);
    let (_, p) = api.cancel(&k, json!({"cancelReason": "rest"})).await;
    assert_eq!(p["status"], "CANCELED");
    assert_eq!(p["balanceAmount"], 0);

    // A second full charge then a full cancel.
    let (_, p2) = api
        .post(&path, charge_body("customer-9", "order-bill-2", 5_000))
        .await;
    let (s, p2) = api
        .cancel(&key(&p2), json!({"cancelReason": "refund"}))
        .await;
    assert_eq!((s, p2["status"].as_str().unwrap()), (201, "CANCELED"));

    // Unknown billing key, mismatched body key, bad amount.
    api.post_err(
        "/v1/billing/nope",
        charge_body("customer-9", "order-bill-3", 1_000),
        404,
        "NOT_FOUND_BILLING_KEY",
    )
    .await;
    let mut body = charge_body("customer-9", "order-bill-4", 1_000);
    body["billingKey"] = json!("other");
    api.post_err(&path, body, 400, "INVALID_REQUEST").await;
    api.post_err(
        &path,
        charge_body("customer-9", "order-bill-5", 0),
        400,
        "INVALID_REQUEST",
    )
    .await;
}

#[tokio::test]
async fn charge_on_a_declined_card_fails() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let bk = register(&api, "customer-5", "5570123412341234").await.1["billingKey"]
        .as_str()
        .unwrap()
        .to_owned();
    // The card goes bad after registration.
    toss.decline_card(
        "5570123412341234",
        403,
        "REJECT_CARD_PAYMENT",
        "limit exceeded",
    );
    api.post_err(
        &format!("/v1/billing/{bk}"),
        charge_body("customer-5", "order-bill-decl", 1_000),
        403,
        "REJECT_CARD_PAYMENT",
    )
    .await;
    assert!(toss.payment_by_order("order-bill-decl").is_none());
}

#[tokio::test]
async fn auth_key_issue_flow() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let auth_key = toss
        .issue_auth_key("customer-7", "5570123412349999")
        .unwrap();
    api.post_err(
        "/v1/billing/authorizations/issue",
        json!({"authKey": auth_key, "customerKey": "customer-other"}),
        403,
        "NOT_MATCHES_CUSTOMER_KEY",
    )
    .await;
    let (s, b) = api
        .post(
            "/v1/billing/authorizations/issue",
            json!({"authKey": auth_key, "customerKey": "customer-7"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["customerKey"], "customer-7");
    assert_eq!(b["cardNumber"], "5570123412349999");
    // One-time.
    api.post_err(
        "/v1/billing/authorizations/issue",
        json!({"authKey": auth_key, "customerKey": "customer-7"}),
        400,
        "INVALID_AUTH_KEY",
    )
    .await;
    // Through the fake-only endpoint too.
    let (s, k) = api
        .post(
            "/internal/billing/auth-keys",
            json!({"customerKey": "customer-7", "cardNumber": "5570123412340000"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, b) = api
        .post(
            "/v1/billing/authorizations/issue",
            json!({"authKey": k["authKey"], "customerKey": "customer-7"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, p) = api
        .post(
            &format!("/v1/billing/{}", b["billingKey"].as_str().unwrap()),
            charge_body("customer-7", "order-bill-issue", 2_500),
        )
        .await;
    assert_eq!((s, p["status"].as_str().unwrap()), (201, "DONE"));
    assert!(toss.issue_auth_key("customer-7", "123").is_err());
}

#[tokio::test]
async fn deleting_a_billing_key_refuses_later_charges_and_sends_billing_deleted() {
    let (rx, url) = common::Receiver::start(0).await;
    let toss = FakeToss::builder().webhook_url(&url).start().await;
    let api = Api::new(&toss);
    let (_, b) = register(&api, "customer-del", "5570123412341234").await;
    let bk = b["billingKey"].as_str().unwrap().to_owned();
    let (s, _) = api
        .send("DELETE", &format!("/v1/billing/{bk}"), None, &[])
        .await;
    assert_eq!(s, 200);
    api.post_err(
        &format!("/v1/billing/{bk}"),
        charge_body("customer-del", "order-del-1", 1_000),
        404,
        "NOT_FOUND_BILLING_KEY",
    )
    .await;
    let (s, e) = api
        .send("DELETE", &format!("/v1/billing/{bk}"), None, &[])
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (404, Some("NOT_FOUND_BILLING_KEY"))
    );
    let got = rx.wait_for_bodies(1).await;
    assert_eq!(got[0]["eventType"], "BILLING_DELETED");
    assert_eq!(got[0]["data"]["billingKey"], bk.as_str());
    assert_eq!(got[0]["data"]["customerKey"], "customer-del");
    let log = toss
        .wait_for_webhooks(1, std::time::Duration::from_secs(5), |w| w.is_delivered())
        .await;
    assert_eq!(log[0].event_type, "BILLING_DELETED");
}

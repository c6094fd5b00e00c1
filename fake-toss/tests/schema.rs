//! Every endpoint of the spec answers with a body that validates against its schema.
//! (The other test files validate every response they see the same way, via `common`.)
#![allow(missing_docs)]

mod common;

use common::{Api, key, validated};
use fake_toss::FakeToss;
use serde_json::json;

#[tokio::test]
async fn every_spec_endpoint_answers_per_its_schema() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    // key-in, GET, cancel
    let card = api.card_payment("order-schema-1", 11_000).await;
    let k = key(&card);
    api.get(&format!("/v1/payments/{k}")).await;
    api.cancel(
        &k,
        json!({"paymentKey": k, "cancelReason": "schema", "cancelAmount": 1_000}),
    )
    .await;
    // confirm by path
    let mut body = common::card_body("order-schema-2", 2_000);
    body["__approved"] = json!(false);
    let (_, p) = api.post("/v1/payments/key-in", body).await;
    let (s, _) = api
        .post(
            &format!("/v1/payments/{}", key(&p)),
            json!({"orderId": "order-schema-2", "amount": 2_000}),
        )
        .await;
    assert_eq!(s, 201);
    // virtual account, deposit, cash receipt and its cancel
    let va = key(&api.virtual_account("order-schema-3", 5_000).await);
    let (s, _) = api.put(&format!("/internal/{va}/deposit")).await;
    assert_eq!(s, 200);
    let (s, r) = api
        .post(
            "/v1/cash-receipts",
            json!({"type": "소득공제", "paymentKey": va, "orderId": "order-schema-3", "orderName": "books",
                   "registrationNumber": "01012345678", "amount": 5_000, "taxFreeAmount": 0}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, _) = api
        .post(
            &format!(
                "/v1/cash-receipts/{}/cancel",
                r["receiptKey"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, 201);
    // billing: register, read, charge
    let (_, b) = api
        .post(
            "/v1/billing/authorizations/card",
            json!({"cardNumber": "5570123412341234", "cardExpirationYear": "35", "cardExpirationMonth": "06",
                   "cardPassword": "12", "customerBirthday": "900101", "customerKey": "customer-schema"}),
        )
        .await;
    let bk = b["billingKey"].as_str().unwrap();
    api.post(
        &format!("/v1/billing/authorizations/{bk}"),
        json!({"customerKey": "customer-schema"}),
    )
    .await;
    let (s, _) = api
        .post(
            &format!("/v1/billing/{bk}"),
            json!({"method": "billing", "billingKey": bk, "orderId": "order-schema-4", "amount": 3_000,
                   "customerKey": "customer-schema"}),
        )
        .await;
    assert_eq!(s, 201);
    // the spec's own webhook receiver
    let (s, _) = api
        .post(
            "/internal/webhook",
            json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": k, "orderId": "order-schema-1", "status": "DONE"}}),
        )
        .await;
    assert_eq!(s, 201);

    let mut all = std::collections::BTreeSet::new();
    for (path, ops) in common::spec()["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            all.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    let seen = validated();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "operations never validated: {missing:?}"
    );

    // Webhook bodies satisfy the spec's ITossPaymentWebhook.
    // The log is written as each webhook is sent: wait for them.
    let log = toss
        .wait_for_webhooks(6, std::time::Duration::from_secs(5), |_| true)
        .await;
    assert!(log.len() >= 6);
    // (The spec's enum lists these four statuses; ABORTED and EXPIRED events fall outside it.)
    let listed = [
        "WAITING_FOR_DEPOSIT",
        "DONE",
        "CANCELED",
        "PARTIAL_CANCELED",
    ];
    let status_events: Vec<_> = log
        .iter()
        .filter(|w| w.event_type == "PAYMENT_STATUS_CHANGED")
        .collect();
    assert!(
        status_events
            .iter()
            .all(|w| listed.contains(&w.json()["data"]["status"].as_str().unwrap()))
    );
    for w in status_events {
        common::assert_status_webhook(&w.json());
    }
}

#[tokio::test]
async fn the_validator_does_reject_bad_bodies() {
    // Guards against a validator that accepts everything.
    let toss = FakeToss::start().await;
    let mut p = Api::new(&toss).card_payment("order-schema-9", 1_000).await;
    let v = common::component("ITossCardPayment");
    assert!(v.is_valid(&p));
    p["requestedAt"] = json!("yesterday");
    assert!(!v.is_valid(&p), "format date-time is checked");
    p.as_object_mut().unwrap().remove("requestedAt");
    assert!(!v.is_valid(&p));
    assert!(!common::component("ITossVirtualAccountPayment").is_valid(&json!({"secret": 1})));
}

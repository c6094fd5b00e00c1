//! `Idempotency-Key`: replay and conflict, on payments and billing charges.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::{Api, card_body, key};
use fake_toss::FakeToss;
use serde_json::json;

#[tokio::test]
async fn same_key_same_body_replays_the_first_response() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let body = card_body("order-idem-1", 8_000);
    let h = [("idempotency-key", "idem-1")];
    let (s1, p1) = api
        .send("POST", "/v1/payments/key-in", Some(&body), &h)
        .await;
    let (s2, p2) = api
        .send("POST", "/v1/payments/key-in", Some(&body), &h)
        .await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(p1, p2, "the replay is the first response, byte for byte");
    // Without replay the second would have been DUPLICATED_ORDER_ID.
    let (s3, e) = api
        .send("POST", "/v1/payments/key-in", Some(&body), &[])
        .await;
    assert_eq!(
        (s3, e["code"].as_str().unwrap()),
        (400, "DUPLICATED_ORDER_ID")
    );

    // Cancels replay too: the same partial cancel sent twice cancels once.
    let k = key(&p1);
    let cancel = json!({"cancelReason": "dup", "cancelAmount": 1_000});
    let path = format!("/v1/payments/{k}/cancel");
    let h = [("idempotency-key", "idem-cancel")];
    let (_, c1) = api.send("POST", &path, Some(&cancel), &h).await;
    let (_, c2) = api.send("POST", &path, Some(&cancel), &h).await;
    assert_eq!(c1, c2);
    assert_eq!(toss.payment(&k).unwrap()["balanceAmount"], 7_000);
    // Errors are replayed as well.
    let over = json!({"cancelReason": "over", "cancelAmount": 99_000});
    let h = [("idempotency-key", "idem-err")];
    let (s1, e1) = api.send("POST", &path, Some(&over), &h).await;
    let (s2, e2) = api.send("POST", &path, Some(&over), &h).await;
    assert_eq!((s1, s2), (403, 403));
    assert_eq!(e1, e2);
}

#[tokio::test]
async fn same_key_different_body_is_a_conflict() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let h = [("idempotency-key", "idem-2")];
    let (s, _) = api
        .send(
            "POST",
            "/v1/payments/key-in",
            Some(&card_body("order-idem-2", 1_000)),
            &h,
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = api
        .send(
            "POST",
            "/v1/payments/key-in",
            Some(&card_body("order-idem-3", 1_000)),
            &h,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (422, "INVALID_IDEMPOTENCY_KEY")
    );
    assert!(toss.payment_by_order("order-idem-3").is_none());
    // Keys are scoped per path: the same key elsewhere is a fresh request.
    let (s, _) = api
        .send(
            "POST",
            "/v1/virtual-accounts",
            Some(&json!({"orderId": "order-idem-4", "orderName": "x", "bank": "20", "customerName": "K", "amount": 100})),
            &h,
        )
        .await;
    assert_eq!(s, 201);
    // And per secret key.
    let two = FakeToss::builder()
        .secret_key("sk_a")
        .secret_key("sk_b")
        .start()
        .await;
    let mut a = Api::new(&two);
    let (s, _) = a
        .send(
            "POST",
            "/v1/payments/key-in",
            Some(&card_body("order-idem-5", 1_000)),
            &h,
        )
        .await;
    assert_eq!(s, 201);
    a.auth = fake_toss_basic("sk_b");
    let (s, e) = a
        .send(
            "POST",
            "/v1/payments/key-in",
            Some(&card_body("order-idem-5", 1_000)),
            &h,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (400, "DUPLICATED_ORDER_ID")
    );
    // Over-long keys are refused.
    let long = "k".repeat(301);
    let (s, e) = api
        .send(
            "POST",
            "/v1/payments/key-in",
            Some(&card_body("order-idem-6", 1_000)),
            &[("idempotency-key", &long)],
        )
        .await;
    assert_eq!(s, 400, "{e}");
}

fn fake_toss_basic(key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

#[tokio::test]
async fn billing_charge_is_at_most_once_with_a_key_even_when_the_answer_is_lost() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let (_, b) = api
        .post(
            "/v1/billing/authorizations/card",
            json!({"cardNumber": "5570123412341234", "cardExpirationYear": "35",
                   "cardExpirationMonth": "06", "customerKey": "customer-idem"}),
        )
        .await;
    let path = format!("/v1/billing/{}", b["billingKey"].as_str().unwrap());
    let body =
        json!({"customerKey": "customer-idem", "orderId": "order-idem-bill", "amount": 4_900});

    // The first attempt is processed but its answer never arrives.
    toss.lose_response_next(1);
    let lost = api
        .http
        .post(format!("{}{path}", api.base))
        .header("authorization", &api.auth)
        .header("idempotency-key", "charge-1")
        .json(&body)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(lost.is_err(), "the response was lost");
    let charged = toss
        .payment_by_order("order-idem-bill")
        .expect("the charge happened");

    // The retry with the same key gets the original answer, not a second charge.
    let (s, p) = api
        .send(
            "POST",
            &path,
            Some(&body),
            &[("idempotency-key", "charge-1")],
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["paymentKey"], charged["paymentKey"]);
    let (s, p) = api
        .send(
            "POST",
            &path,
            Some(&body),
            &[("idempotency-key", "charge-1")],
        )
        .await;
    assert_eq!(
        (s, p["paymentKey"].clone()),
        (201, charged["paymentKey"].clone())
    );
    let charges = toss
        .received_requests()
        .iter()
        .filter(|r| r.path == path && r.header("idempotency-key") == Some("charge-1"))
        .count();
    assert_eq!(charges, 3);
}

//! `compat(Compat::Samchon)`: each difference from the real API that samchon's fake has
//! (the README's table), checked in both modes.
#![allow(missing_docs)]

mod common;

use common::{Api, key};
use fake_toss::{Compat, FakeToss};
use serde_json::{Value, json};

async fn both() -> (FakeToss, FakeToss) {
    (
        FakeToss::start().await,
        FakeToss::builder().compat(Compat::Samchon).start().await,
    )
}

/// samchon's own test cards expire 2024-03.
fn expired_card(order_id: &str) -> Value {
    json!({
        "method": "card", "cardNumber": "4330123412341234",
        "cardExpirationYear": "24", "cardExpirationMonth": "03",
        "amount": 1_000, "orderId": order_id, "orderName": "coffee",
    })
}

#[tokio::test]
async fn card_expiry_is_not_checked() {
    let (real, samchon) = both().await;
    let (s, e) = Api::unchecked(&real)
        .post("/v1/payments/key-in", expired_card("order-s-1"))
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, p) = Api::unchecked(&samchon)
        .post("/v1/payments/key-in", expired_card("order-s-1"))
        .await;
    assert_eq!((s, p["status"].as_str()), (201, Some("DONE")), "{p}");
}

#[tokio::test]
async fn a_billing_key_charges_whatever_customer_key_comes_with_it() {
    for (toss, expected) in [
        (FakeToss::start().await, 403),
        (
            FakeToss::builder().compat(Compat::Samchon).start().await,
            201,
        ),
    ] {
        let api = Api::unchecked(&toss);
        let (_, b) = api
            .post(
                "/v1/billing/authorizations/card",
                json!({"cardNumber": "5570123412341234", "cardExpirationYear": "35",
                       "cardExpirationMonth": "06", "customerBirthday": "900101",
                       "customerKey": "customer-a"}),
            )
            .await;
        let bk = b["billingKey"].as_str().unwrap().to_owned();
        let (s, body) = api
            .post(
                &format!("/v1/billing/{bk}"),
                json!({"customerKey": "customer-b", "orderId": "order-s-2", "amount": 1_000,
                       "orderName": "monthly"}),
            )
            .await;
        assert_eq!(s, expected, "{body}");
    }
}

#[tokio::test]
async fn approving_a_done_payment_again_answers_it_again() {
    let (real, samchon) = both().await;
    for (toss, expected) in [(&real, 400), (&samchon, 201)] {
        let api = Api::unchecked(toss);
        let mut body = common::card_body("order-s-3", 1_000);
        body["__approved"] = json!(false);
        let (_, p) = api.post("/v1/payments/key-in", body).await;
        let k = key(&p);
        let confirm = json!({"paymentKey": k, "orderId": "order-s-3", "amount": 1_000});
        let (s, _) = api.post("/v1/payments/confirm", confirm.clone()).await;
        assert_eq!(s, 201);
        let (s, again) = api.post("/v1/payments/confirm", confirm).await;
        assert_eq!(s, expected, "{again}");
        if expected == 201 {
            assert_eq!(again["status"], "DONE");
        }
    }
}

#[tokio::test]
async fn a_masked_registration_number_is_accepted() {
    let (real, samchon) = both().await;
    for (toss, expected) in [(&real, 400), (&samchon, 201)] {
        let api = Api::unchecked(toss);
        let p = api.virtual_account("order-s-4", 5_000).await;
        toss.deposit(&key(&p)).await.unwrap();
        let (s, r) = api
            .post(
                "/v1/cash-receipts",
                json!({"type": "소득공제", "paymentKey": key(&p), "orderId": "order-s-4",
                       "orderName": "books", "registrationNumber": "8803111******",
                       "amount": 5_000}),
            )
            .await;
        assert_eq!(s, expected, "{r}");
        if expected == 400 {
            assert_eq!(r["code"], "INVALID_REGISTRATION_NUMBER");
        }
    }
}

#[tokio::test]
async fn other_methods_keys_are_left_out_instead_of_null() {
    let (real, samchon) = both().await;
    let va = Api::unchecked(&real)
        .virtual_account("order-s-5", 1_000)
        .await;
    assert!(va.as_object().unwrap().contains_key("card"));
    assert!(va["card"].is_null());
    let va = Api::unchecked(&samchon)
        .virtual_account("order-s-5", 1_000)
        .await;
    let map = va.as_object().unwrap();
    assert!(
        !map.contains_key("card") && !map.contains_key("easyPay"),
        "{va}"
    );
    assert!(va["virtualAccount"].is_object());
}

//! Cash receipts: issue and cancel, with the checks the API makes.
#![allow(missing_docs)]

mod common;

use common::{Api, key};
use fake_toss::FakeToss;
use serde_json::{Value, json};

fn receipt_body(payment_key: &str, order: &str, amount: i64) -> Value {
    json!({
        "type": "소득공제",
        "paymentKey": payment_key,
        "orderId": order,
        "orderName": "books",
        "registrationNumber": "01012345678",
        "amount": amount,
    })
}

#[tokio::test]
async fn issue_and_cancel_a_cash_receipt() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.virtual_account("order-cr-1", 12_000).await);
    // Not paid yet.
    api.post_err(
        "/v1/cash-receipts",
        receipt_body(&k, "order-cr-1", 12_000),
        400,
        "INVALID_REQUEST",
    )
    .await;
    toss.deposit(&k).await.unwrap();
    // More than the balance, wrong order, bad number, bad type.
    api.post_err(
        "/v1/cash-receipts",
        receipt_body(&k, "order-cr-1", 12_001),
        400,
        "INVALID_REQUEST",
    )
    .await;
    api.post_err(
        "/v1/cash-receipts",
        receipt_body(&k, "order-cr-x", 12_000),
        400,
        "INVALID_REQUEST",
    )
    .await;
    let mut bad = receipt_body(&k, "order-cr-1", 12_000);
    bad["registrationNumber"] = json!("12ab");
    api.post_err("/v1/cash-receipts", bad, 400, "INVALID_REGISTRATION_NUMBER")
        .await;
    let mut bad = receipt_body(&k, "order-cr-1", 12_000);
    bad["type"] = json!("기타");
    let e = api
        .post_err("/v1/cash-receipts", bad, 400, "INVALID_REQUEST")
        .await;
    assert!(e["message"].as_str().unwrap().contains("type"));
    api.post_err(
        "/v1/cash-receipts",
        receipt_body("nope", "order-cr-1", 1),
        404,
        "NOT_FOUND_PAYMENT",
    )
    .await;

    let (s, r) = api
        .post("/v1/cash-receipts", receipt_body(&k, "order-cr-1", 12_000))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["type"], "소득공제");
    assert!(r["canceledAt"].is_null());
    let receipt_key = r["receiptKey"].as_str().unwrap().to_owned();
    let p = toss.payment(&k).unwrap();
    assert_eq!(p["cashReceipt"]["amount"], 12_000);
    assert_eq!(p["cashReceipt"]["issueNumber"], r["approvalNumber"]);
    // One receipt per payment.
    api.post_err(
        "/v1/cash-receipts",
        receipt_body(&k, "order-cr-1", 1_000),
        400,
        "ALREADY_ISSUED_CASH_RECEIPT",
    )
    .await;

    let cancel = format!("/v1/cash-receipts/{receipt_key}/cancel");
    api.post_err(
        &cancel,
        json!({"amount": 12_001}),
        403,
        "NOT_CANCELABLE_AMOUNT",
    )
    .await;
    let (s, r) = api.post(&cancel, json!({"amount": 2_000})).await;
    assert_eq!(s, 201, "{r}");
    assert!(r["canceledAt"].is_null());
    assert_eq!(toss.payment(&k).unwrap()["cashReceipt"]["amount"], 10_000);
    let (s, r) = api.post(&cancel, json!({})).await;
    assert_eq!(s, 201);
    assert!(r["canceledAt"].is_string());
    assert!(toss.payment(&k).unwrap()["cashReceipt"].is_null());
    api.post_err(&cancel, json!({}), 400, "ALREADY_CANCELED_CASH_RECEIPT")
        .await;
    api.post_err(
        "/v1/cash-receipts/unknown/cancel",
        json!({}),
        404,
        "NOT_FOUND_CASH_RECEIPT",
    )
    .await;
}

#[tokio::test]
async fn card_payments_get_no_cash_receipt_but_standalone_ones_work() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.card_payment("order-cr-card", 5_000).await);
    api.post_err(
        "/v1/cash-receipts",
        receipt_body(&k, "order-cr-card", 5_000),
        400,
        "NOT_SUPPORTED_METHOD",
    )
    .await;
    // A receipt for a cash sale outside Toss (no paymentKey), for business expense.
    let (s, r) = api
        .post(
            "/v1/cash-receipts",
            json!({
                "type": "지출증빙", "orderId": "order-cr-cash", "orderName": "cash sale",
                "registrationNumber": "1234567890", "amount": 33_000,
            }),
        )
        .await;
    assert_eq!((s, r["type"].as_str().unwrap()), (201, "지출증빙"));
}

//! Payments: instant card and virtual account, the payment window, pre-registration,
//! every status transition, cancels and their amount rules, closing, resending webhooks,
//! transactions and the list.
#![allow(missing_docs)]

mod common;

use common::{Api, card_body};
use fake_portone::{Checkout, FakePortOne};
use serde_json::json;

#[tokio::test]
async fn instant_card_payment_is_paid_with_consistent_amounts() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let (s, b) = api.pay_card("order-1", 11_000, "4330123412341234").await;
    assert_eq!(s, 200, "{b}");
    assert!(b["payment"]["pgTxId"].is_string());
    let p = api.payment("order-1").await;
    assert_eq!(p["status"], "PAID");
    assert_eq!(p["id"], "order-1");
    assert_eq!(p["storeId"], portone.store_id());
    assert_eq!(
        p["amount"],
        json!({"total": 11_000, "taxFree": 0, "vat": 1_000, "supply": 10_000, "discount": 0,
               "paid": 11_000, "cancelled": 0, "cancelledTaxFree": 0})
    );
    assert_eq!(p["method"]["type"], "PaymentMethodCard");
    assert_eq!(p["method"]["card"]["number"], "433012******1234");
    assert_eq!(p["customer"]["name"], "홍길동");
    assert_eq!(portone.payment("order-1").unwrap()["status"], "PAID");
}

#[tokio::test]
async fn a_paid_payment_id_is_already_paid() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    api.paid_card("order-1", 1_000).await;
    api.expect_err(
        "POST",
        "/payments/order-1/instant",
        Some(card_body(1_000, "4330123412341234")),
        409,
        "ALREADY_PAID",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/order-1/pre-register",
        Some(json!({"totalAmount": 1_000})),
        409,
        "ALREADY_PAID",
    )
    .await;
    let err = portone
        .checkout("order-1", Checkout::card("coffee", 1_000))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some("ALREADY_PAID"))
    );
}

#[tokio::test]
async fn a_declined_card_fails_the_payment_and_a_retry_is_a_new_transaction() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let (s, b) = api.pay_card("order-1", 5_000, "4000000000000002").await;
    assert_eq!(s, 502);
    assert_eq!(b["type"], "PG_PROVIDER");
    assert_eq!(b["pgCode"], "REJECT_CARD_PAYMENT");
    assert!(b["pgMessage"].is_string());
    let failed = api.payment("order-1").await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["failure"]["pgCode"], "REJECT_CARD_PAYMENT");
    assert_eq!(failed["amount"]["paid"], 0);
    // A FAILED payment may be paid again under the same paymentId.
    let paid = api.paid_card("order-1", 5_000).await;
    assert_eq!(paid["status"], "PAID");
    assert_ne!(paid["transactionId"], failed["transactionId"]);
    let (s, t) = api.get("/payments/order-1/transactions").await;
    assert_eq!(s, 200);
    let items = t["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["status"], "FAILED");
    assert_eq!(items[0]["id"], failed["transactionId"]);
    assert_eq!(items[1]["status"], "PAID");
    assert_eq!(items[1]["paymentId"], "order-1");
}

#[tokio::test]
async fn declines_added_at_run_time_and_expired_cards() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    portone.decline_card("5555444433332222", "STOLEN", "도난 카드");
    let (s, b) = api.pay_card("order-1", 1_000, "5555444433332222").await;
    assert_eq!((s, b["pgCode"].as_str()), (502, Some("STOLEN")));
    let mut expired = card_body(1_000, "4330123412341234");
    expired["method"]["card"]["credential"]["expiryYear"] = json!("20");
    let (s, b) = api.post("/payments/order-2/instant", expired).await;
    assert_eq!(
        (s, b["pgCode"].as_str()),
        (502, Some("INVALID_CARD_EXPIRATION"))
    );
    // Over HTTP too.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/internal/cards/declined", portone.uri()))
        .json(
            &json!({"cardNumber": "4111111111111111", "pgCode": "LIMIT", "pgMessage": "한도 초과"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, b) = api.pay_card("order-3", 1_000, "4111111111111111").await;
    assert_eq!((s, b["pgCode"].as_str()), (502, Some("LIMIT")));
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let mut b = card_body(1_000, "12");
    let e = api
        .expect_err(
            "POST",
            "/payments/o/instant",
            Some(b.clone()),
            400,
            "INVALID_REQUEST",
        )
        .await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("method.card.credential.number"),
        "{e}"
    );
    b = card_body(0, "4330123412341234");
    let e = api
        .expect_err(
            "POST",
            "/payments/o/instant",
            Some(b),
            400,
            "INVALID_REQUEST",
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("amount.total"),
        "{e}"
    );
    let e = api
        .expect_err(
            "POST",
            "/payments/o/instant",
            Some(json!({"orderName": "x"})),
            400,
            "INVALID_REQUEST",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("method"), "{e}");
    let mut both = card_body(1_000, "4330123412341234");
    both["method"]["virtualAccount"] =
        json!({"bank": "SHINHAN", "expiry": {}, "option": {"type": "NORMAL"}});
    api.expect_err(
        "POST",
        "/payments/o/instant",
        Some(both),
        400,
        "INVALID_REQUEST",
    )
    .await;
    let mut parts = card_body(1_000, "4330123412341234");
    parts["amount"] = json!({"total": 1_000, "taxFree": 1_001});
    api.expect_err(
        "POST",
        "/payments/o/instant",
        Some(parts),
        409,
        "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT",
    )
    .await;
    assert!(
        portone.payment("o").is_none(),
        "refused input creates no payment"
    );
}

#[tokio::test]
async fn pre_registered_amounts_are_enforced() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let (s, b) = api
        .post(
            "/payments/order-1/pre-register",
            json!({"totalAmount": 10_000, "currency": "KRW"}),
        )
        .await;
    assert_eq!((s, b), (200, json!({})));
    let e = api
        .expect_err(
            "POST",
            "/payments/order-1/instant",
            Some(card_body(9_000, "4330123412341234")),
            400,
            "INVALID_REQUEST",
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("pre-registered"),
        "{e}"
    );
    // A tampered payment window fails the payment instead of charging the wrong amount.
    let p = portone
        .checkout("order-1", Checkout::card("coffee", 100))
        .await
        .unwrap();
    assert_eq!(p["status"], "FAILED");
    assert_eq!(p["failure"]["pgCode"], "PRE_REGISTERED_AMOUNT_MISMATCH");
    let p = portone
        .checkout("order-1", Checkout::card("coffee", 10_000))
        .await
        .unwrap();
    assert_eq!(p["status"], "PAID");
}

#[tokio::test]
async fn checkout_plays_the_payment_window() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let p = portone
        .checkout("c-1", Checkout::card("coffee", 4_500))
        .await
        .unwrap();
    assert_eq!(p["status"], "PAID");
    assert_eq!(api.payment("c-1").await["origin"]["platformType"], "PC");
    let p = portone
        .checkout(
            "c-2",
            Checkout::card("coffee", 4_500).card_number("4000000000000010"),
        )
        .await
        .unwrap();
    assert_eq!(p["status"], "FAILED");
    assert_eq!(p["failure"]["pgCode"], "REJECT_CARD_COMPANY");
    let p = portone
        .checkout(
            "c-3",
            Checkout::easy_pay("coffee", 4_500).fail("USER_CANCEL", "사용자가 결제를 취소했습니다"),
        )
        .await
        .unwrap();
    assert_eq!(p["status"], "FAILED");
    let p = portone
        .checkout("c-4", Checkout::easy_pay("coffee", 4_500))
        .await
        .unwrap();
    assert_eq!(p["method"]["type"], "PaymentMethodEasyPay");
    let p = portone
        .checkout("c-5", Checkout::virtual_account("books", 30_000))
        .await
        .unwrap();
    assert_eq!(p["status"], "VIRTUAL_ACCOUNT_ISSUED");
    for id in ["c-1", "c-2", "c-3", "c-4", "c-5"] {
        api.payment(id).await; // every one validates against the Payment schema
    }
    // Over HTTP, with the body shape the issue names.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/internal/payments/c-6/checkout", portone.uri()))
        .json(&json!({"storeId": portone.store_id(), "method": "card", "amount": 1_000, "orderName": "tea",
                      "card": {"number": "4330123412341234", "expiry": "12/39"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p: serde_json::Value = r.json().await.unwrap();
    common::assert_component("Payment", &p);
    assert_eq!(p["status"], "PAID");
    let r = http
        .post(format!("{}/internal/payments/c-7/checkout", portone.uri()))
        .json(&json!({"method": "cash", "amount": 1_000, "orderName": "tea"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn virtual_account_deposit_cancel_needs_a_refund_account() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let p = api.virtual_account("va-1", 30_000).await;
    assert_eq!(p["status"], "VIRTUAL_ACCOUNT_ISSUED");
    assert_eq!(p["method"]["type"], "PaymentMethodVirtualAccount");
    assert_eq!(p["amount"]["paid"], 0);
    api.expect_err(
        "POST",
        "/payments/va-1/cancel",
        Some(json!({"reason": "x"})),
        409,
        "PAYMENT_NOT_PAID",
    )
    .await;
    let paid = portone.deposit("va-1").await.unwrap();
    assert_eq!(paid["status"], "PAID");
    assert_eq!(api.payment("va-1").await["amount"]["paid"], 30_000);
    let err = portone.deposit("va-1").await.unwrap_err();
    assert_eq!(err.code(), Some("PAYMENT_NOT_WAITING_FOR_DEPOSIT"));
    let e = api
        .expect_err(
            "POST",
            "/payments/va-1/cancel",
            Some(json!({"reason": "refund"})),
            400,
            "INVALID_REQUEST",
        )
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("refundAccount"),
        "{e}"
    );
    let bad = json!({"reason": "refund", "refundAccount": {"bank": "KOOKMIN", "number": "12", "holderName": "홍길동"}});
    api.expect_err(
        "POST",
        "/payments/va-1/cancel",
        Some(bad),
        400,
        "INVALID_REQUEST",
    )
    .await;
    let (s, c) = api
        .cancel(
            "va-1",
            json!({"reason": "refund", "refundAccount": {"bank": "KOOKMIN", "number": "123456789012", "holderName": "홍길동"}}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let p = api.payment("va-1").await;
    assert_eq!(p["status"], "CANCELLED");
    assert_eq!(p["method"]["refundStatus"], "COMPLETED");
}

#[tokio::test]
async fn an_expired_virtual_account_takes_no_deposit_and_closing_cancels() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    api.virtual_account("va-1", 1_000).await;
    portone.advance(std::time::Duration::from_secs(25 * 3600));
    let err = portone.deposit("va-1").await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    api.virtual_account("va-2", 1_000).await;
    let (s, b) = api
        .post("/payments/va-2/virtual-account/close", json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["closedAt"].is_string());
    assert_eq!(api.payment("va-2").await["status"], "CANCELLED");
    api.expect_err(
        "POST",
        "/payments/va-2/virtual-account/close",
        Some(json!({})),
        409,
        "PAYMENT_NOT_WAITING_FOR_DEPOSIT",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/nope/virtual-account/close",
        Some(json!({})),
        404,
        "PAYMENT_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn partial_then_full_cancel_keeps_the_books() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    let mut body = card_body(11_000, "4330123412341234");
    body["amount"] = json!({"total": 11_000, "taxFree": 1_000});
    let (s, _) = api.post("/payments/order-1/instant", body).await;
    assert_eq!(s, 200);
    let (s, c) = api
        .cancel(
            "order-1",
            json!({"amount": 3_000, "reason": "one item", "currentCancellableAmount": 11_000}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let c = &c["cancellation"];
    assert_eq!(c["status"], "SUCCEEDED");
    assert_eq!(
        (c["totalAmount"].as_i64(), c["taxFreeAmount"].as_i64()),
        (Some(3_000), Some(0))
    );
    let p = api.payment("order-1").await;
    assert_eq!(p["status"], "PARTIAL_CANCELLED");
    assert_eq!(p["amount"]["cancelled"], 3_000);
    assert_eq!(p["cancellations"].as_array().unwrap().len(), 1);
    // A stale currentCancellableAmount and an over-cancel are refused.
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"amount": 1_000, "reason": "x", "currentCancellableAmount": 11_000})),
        409,
        "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"amount": 8_001, "reason": "x"})),
        409,
        "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"amount": 2_000, "taxFreeAmount": 1_001, "reason": "x"})),
        409,
        "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"amount": 500, "taxFreeAmount": 600, "reason": "x"})),
        409,
        "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"amount": 0, "reason": "x"})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"reason": " "})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    // The rest, with the tax-free part.
    let (s, c) = api
        .cancel(
            "order-1",
            json!({"reason": "all", "currentCancellableAmount": 8_000}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["cancellation"]["taxFreeAmount"], 1_000);
    let p = api.payment("order-1").await;
    assert_eq!(p["status"], "CANCELLED");
    let a = &p["amount"];
    assert_eq!(
        (a["cancelled"].as_i64(), a["cancelledTaxFree"].as_i64()),
        (Some(11_000), Some(1_000))
    );
    let vat_cancelled: i64 = p["cancellations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["vatAmount"].as_i64().unwrap())
        .sum();
    assert_eq!(
        vat_cancelled,
        a["vat"].as_i64().unwrap(),
        "all VAT is returned"
    );
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"reason": "again"})),
        409,
        "PAYMENT_ALREADY_CANCELLED",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/nope/cancel",
        Some(json!({"reason": "x"})),
        404,
        "PAYMENT_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn a_failed_payment_cannot_be_cancelled() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    api.pay_card("order-1", 1_000, "4000000000000002").await;
    api.expect_err(
        "POST",
        "/payments/order-1/cancel",
        Some(json!({"reason": "x"})),
        409,
        "PAYMENT_NOT_PAID",
    )
    .await;
}

#[tokio::test]
async fn list_filters_and_pages() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    for i in 0..5 {
        api.paid_card(&format!("p-{i}"), 1_000 + i).await;
    }
    api.pay_card("f-1", 1_000, "4000000000000002").await;
    api.virtual_account("v-1", 1_000).await;
    let (s, all) = api.get("/payments").await;
    assert_eq!(s, 200);
    assert_eq!(all["page"]["totalCount"], 7);
    assert_eq!(all["items"][0]["id"], "v-1", "newest first");
    let q = serde_json::to_string(
        &json!({"filter": {"status": ["PAID"]}, "page": {"number": 1, "size": 2}}),
    )
    .unwrap();
    let (s, page) = api
        .get(&format!("/payments?requestBody={}", urlencode(&q)))
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(
        page["page"],
        json!({"number": 1, "size": 2, "totalCount": 5})
    );
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p-2", "p-1"]);
    let (_, failed) = api
        .send("GET", "/payments", Some(&json!({"filter": {"status": ["FAILED", "VIRTUAL_ACCOUNT_ISSUED"], "sortOrder": "ASC"}})), &[])
        .await;
    let ids: Vec<&str> = failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["f-1", "v-1"]);
    let (_, va) = api
        .send(
            "GET",
            "/payments",
            Some(&json!({"filter": {"methods": ["VIRTUAL_ACCOUNT"]}})),
            &[],
        )
        .await;
    assert_eq!(va["page"]["totalCount"], 1);
    let later = (portone.now() + chrono::Duration::hours(1)).to_rfc3339();
    let (_, none) = api
        .send(
            "GET",
            "/payments",
            Some(&json!({"filter": {"from": later}})),
            &[],
        )
        .await;
    assert_eq!(none["page"]["totalCount"], 0);
    api.expect_err(
        "GET",
        "/payments",
        Some(json!({"page": {"size": 0}})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    api.expect_err(
        "GET",
        "/payments?requestBody=%7Bnot",
        None,
        400,
        "INVALID_REQUEST",
    )
    .await;
}

#[tokio::test]
async fn resend_webhook_sends_the_last_one_again() {
    let (rx, url) = common::Receiver::start(0).await;
    let portone = FakePortOne::builder()
        .webhook_url(url.clone())
        .start()
        .await;
    let api = Api::new(&portone);
    api.paid_card("order-1", 1_000).await;
    let first = rx.wait_for(1).await;
    let (s, b) = api
        .post("/payments/order-1/resend-webhook", json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["webhook"]["url"], url);
    assert_eq!(b["webhook"]["trigger"], "MANUAL");
    let both = rx.wait_for(2).await;
    assert_eq!(both[1].body, first[0].body, "the same body");
    assert_ne!(
        both[1].header("webhook-id"),
        first[0].header("webhook-id"),
        "a new message"
    );
    let webhooks = api.payment("order-1").await["webhooks"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(webhooks, 2);
    api.expect_err(
        "POST",
        "/payments/order-1/resend-webhook",
        Some(json!({"webhookId": "nope"})),
        404,
        "WEBHOOK_NOT_FOUND",
    )
    .await;
    api.expect_err(
        "POST",
        "/payments/nope/resend-webhook",
        Some(json!({})),
        404,
        "PAYMENT_NOT_FOUND",
    )
    .await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

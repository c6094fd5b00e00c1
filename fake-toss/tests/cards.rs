//! Card payments: key-in, cancels, the widget flow, declines, auth.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::{Api, card_body, key};
use fake_toss::{DECLINED_CARDS, FakeToss};
use serde_json::json;

#[tokio::test]
async fn card_payment_is_done_at_once_and_readable() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let p = api.card_payment("order-card-1", 15_000).await;
    assert_eq!(p["status"], "DONE");
    assert_eq!(p["method"], "카드");
    assert_eq!(p["type"], "NORMAL");
    assert_eq!(p["currency"], "KRW");
    assert_eq!(p["totalAmount"], 15_000);
    assert_eq!(p["balanceAmount"], 15_000);
    assert_eq!(
        p["suppliedAmount"].as_i64().unwrap() + p["vat"].as_i64().unwrap(),
        15_000
    );
    assert!(p["approvedAt"].is_string());
    assert!(p["cancels"].is_null());
    let k = key(&p);
    let (s, got) = api.get(&format!("/v1/payments/{k}")).await;
    assert_eq!(s, 200);
    assert_eq!(got, p);
    let (s, by_order) = api.get("/v1/payments/orders/order-card-1").await;
    assert_eq!(s, 200);
    assert_eq!(by_order["paymentKey"], k.as_str());
    assert_eq!(toss.payment(&k).unwrap(), p);
    let (s, e) = api.get("/v1/payments/nope").await;
    assert_eq!((s, e["code"].as_str().unwrap()), (404, "NOT_FOUND_PAYMENT"));
    let (s, e) = api.get("/v1/payments/orders/unknown-order").await;
    assert_eq!((s, e["code"].as_str().unwrap()), (404, "NOT_FOUND_PAYMENT"));
}

#[tokio::test]
async fn full_cancel_makes_it_canceled() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.card_payment("order-cancel-1", 10_000).await);
    let (s, p) = api
        .cancel(&k, json!({"cancelReason": "changed mind"}))
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["status"], "CANCELED");
    assert_eq!(p["balanceAmount"], 0);
    assert_eq!(p["card"]["acquireStatus"], "CANCELED");
    let cancels = p["cancels"].as_array().unwrap();
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0]["cancelAmount"], 10_000);
    assert_eq!(cancels[0]["cancelReason"], "changed mind");
    assert!(cancels[0]["transactionKey"].is_string());
    assert!(cancels[0]["canceledAt"].is_string());
    // Cancelling again is an error.
    let (s, e) = api.cancel(&k, json!({"cancelReason": "again"})).await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (400, "ALREADY_CANCELED_PAYMENT")
    );
}

#[tokio::test]
async fn over_cancel_is_refused_and_changes_nothing() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.card_payment("order-over-1", 10_000).await);
    let (s, e) = api
        .cancel(
            &k,
            json!({"cancelReason": "too much", "cancelAmount": 10_001}),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str().unwrap()),
        (403, "NOT_CANCELABLE_AMOUNT")
    );
    let p = toss.payment(&k).unwrap();
    assert_eq!(p["status"], "DONE");
    assert_eq!(p["balanceAmount"], 10_000);
    // Zero, negative or fractional amounts are bad input.
    for bad in [json!(0), json!(-5), json!(10.5), json!("100")] {
        let (s, e) = api
            .cancel(&k, json!({"cancelReason": "bad", "cancelAmount": bad}))
            .await;
        assert_eq!(s, 400, "{bad} -> {e}");
        assert_eq!(e["code"], "INVALID_REQUEST");
    }
    // Missing reason names the field.
    let (s, e) = api.cancel(&k, json!({"cancelAmount": 100})).await;
    assert_eq!(s, 400);
    assert!(
        e["message"].as_str().unwrap().contains("cancelReason"),
        "{e}"
    );
}

#[tokio::test]
async fn three_partial_cancels_end_canceled() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let k = key(&api.card_payment("order-partial-1", 30_000).await);
    let (s, p) = api
        .cancel(&k, json!({"cancelReason": "one", "cancelAmount": 10_000}))
        .await;
    assert_eq!(s, 201);
    assert_eq!(p["status"], "PARTIAL_CANCELED");
    assert_eq!(p["balanceAmount"], 20_000);
    assert_eq!(p["cancels"][0]["refundableAmount"], 20_000);
    let (_, p) = api
        .cancel(
            &k,
            json!({"cancelReason": "two", "cancelAmount": 5_000, "refundableAmount": 20_000}),
        )
        .await;
    assert_eq!(p["status"], "PARTIAL_CANCELED");
    assert_eq!(p["balanceAmount"], 15_000);
    // A stale refundableAmount is refused.
    api.post_err(
        &format!("/v1/payments/{k}/cancel"),
        json!({"cancelReason": "stale", "cancelAmount": 1_000, "refundableAmount": 20_000}),
        403,
        "NOT_MATCHES_REFUNDABLE_AMOUNT",
    )
    .await;
    // More than what is left is refused.
    api.post_err(
        &format!("/v1/payments/{k}/cancel"),
        json!({"cancelReason": "over", "cancelAmount": 15_001}),
        403,
        "NOT_CANCELABLE_AMOUNT",
    )
    .await;
    let (_, p) = api
        .cancel(&k, json!({"cancelReason": "three", "cancelAmount": 15_000}))
        .await;
    assert_eq!(p["status"], "CANCELED");
    assert_eq!(p["balanceAmount"], 0);
    let amounts: Vec<i64> = p["cancels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cancelAmount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [10_000, 5_000, 15_000]);
    assert_eq!(p["suppliedAmount"], 0);
    assert_eq!(p["vat"], 0);
}

#[tokio::test]
async fn widget_flow_confirms_once_with_matching_order_and_amount() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let mut body = card_body("order-widget-1", 5_000);
    body["__approved"] = json!(false);
    let (s, p) = api.post("/v1/payments/key-in", body).await;
    assert_eq!(s, 201);
    assert_eq!(p["status"], "IN_PROGRESS");
    assert!(p["approvedAt"].is_null());
    let k = key(&p);
    // Cancelling an unconfirmed payment is refused.
    api.post_err(
        &format!("/v1/payments/{k}/cancel"),
        json!({"cancelReason": "x"}),
        403,
        "NOT_CANCELABLE_PAYMENT",
    )
    .await;
    api.post_err(
        "/v1/payments/confirm",
        json!({"paymentKey": k, "orderId": "order-other", "amount": 5_000}),
        403,
        "FORBIDDEN_REQUEST",
    )
    .await;
    api.post_err(
        "/v1/payments/confirm",
        json!({"paymentKey": k, "orderId": "order-widget-1", "amount": 4_000}),
        400,
        "INVALID_REQUEST",
    )
    .await;
    api.post_err(
        "/v1/payments/confirm",
        json!({"paymentKey": "missing", "orderId": "order-widget-1", "amount": 5_000}),
        404,
        "NOT_FOUND_PAYMENT",
    )
    .await;
    let (s, p) = api
        .post(
            "/v1/payments/confirm",
            json!({"paymentKey": k, "orderId": "order-widget-1", "amount": 5_000}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["status"], "DONE");
    assert!(p["approvedAt"].is_string());
    // Twice is an error, through either confirm route.
    api.post_err(
        "/v1/payments/confirm",
        json!({"paymentKey": k, "orderId": "order-widget-1", "amount": 5_000}),
        400,
        "ALREADY_PROCESSED_PAYMENT",
    )
    .await;
    api.post_err(
        &format!("/v1/payments/{k}"),
        json!({"orderId": "order-widget-1", "amount": 5_000}),
        400,
        "ALREADY_PROCESSED_PAYMENT",
    )
    .await;
}

#[tokio::test]
async fn spec_confirm_route_and_widget_expiry() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let mut body = card_body("order-widget-2", 7_000);
    body["__approved"] = json!(false);
    let k = key(&api.post("/v1/payments/key-in", body.clone()).await.1);
    let (s, p) = api
        .post(
            &format!("/v1/payments/{k}"),
            json!({"orderId": "order-widget-2", "amount": 7_000}),
        )
        .await;
    assert_eq!((s, p["status"].as_str().unwrap()), (201, "DONE"));

    body["orderId"] = json!("order-widget-3");
    let k = key(&api.post("/v1/payments/key-in", body).await.1);
    toss.advance(Duration::from_secs(31 * 60));
    assert_eq!(toss.payment(&k).unwrap()["status"], "EXPIRED");
    api.post_err(
        "/v1/payments/confirm",
        json!({"paymentKey": k, "orderId": "order-widget-3", "amount": 7_000}),
        404,
        "NOT_FOUND_PAYMENT_SESSION",
    )
    .await;
}

#[tokio::test]
async fn every_declined_card_fails_with_its_code() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    for (i, card) in DECLINED_CARDS.iter().enumerate() {
        let mut body = card_body(&format!("order-decline-{i}"), 1_000);
        body["cardNumber"] = json!(card.number);
        let (s, e) = api.post("/v1/payments/key-in", body).await;
        assert_eq!(
            (s, e["code"].as_str().unwrap()),
            (card.status, card.code),
            "{}",
            card.number
        );
        assert!(
            toss.payment_by_order(&format!("order-decline-{i}"))
                .is_none()
        );
    }
    // A custom decline on this instance only.
    toss.decline_card("4111111111111111", 403, "REJECT_ACCOUNT_PAYMENT", "custom");
    let mut body = card_body("order-decline-custom", 1_000);
    body["cardNumber"] = json!("4111111111111111");
    api.post_err(
        "/v1/payments/key-in",
        body.clone(),
        403,
        "REJECT_ACCOUNT_PAYMENT",
    )
    .await;
    let other = FakeToss::start().await;
    let (s, _) = Api::new(&other).post("/v1/payments/key-in", body).await;
    assert_eq!(s, 201, "declines are per instance");
}

#[tokio::test]
async fn declined_card_in_widget_flow_aborts_at_confirmation() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let mut body = card_body("order-abort-1", 3_000);
    body["cardNumber"] = json!("4000000000000002");
    body["__approved"] = json!(false);
    let k = key(&api.post("/v1/payments/key-in", body).await.1);
    api.post_err(
        "/v1/payments/confirm",
        json!({"paymentKey": k, "orderId": "order-abort-1", "amount": 3_000}),
        403,
        "REJECT_CARD_PAYMENT",
    )
    .await;
    assert_eq!(toss.payment(&k).unwrap()["status"], "ABORTED");
}

#[tokio::test]
async fn bad_card_input_is_a_clear_400() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let cases = [
        ("cardNumber", json!("1234"), "INVALID_CARD_NUMBER"),
        (
            "cardExpirationMonth",
            json!("13"),
            "INVALID_CARD_EXPIRATION",
        ),
        ("cardExpirationYear", json!("20"), "INVALID_CARD_EXPIRATION"),
        ("amount", json!(-1), "INVALID_REQUEST"),
        ("orderId", json!("abc"), "INVALID_REQUEST"),
        ("method", json!("transfer"), "INVALID_REQUEST"),
    ];
    for (field, value, code) in cases {
        let mut body = card_body("order-bad-1", 1_000);
        body[field] = value;
        let (s, e) = api.post("/v1/payments/key-in", body).await;
        assert_eq!(
            (s, e["code"].as_str().unwrap()),
            (400, code),
            "{field}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains(field),
            "{field}: {e}"
        );
    }
    // Not JSON at all.
    let resp = api
        .http
        .post(format!("{}/v1/payments/key-in", api.base))
        .header("authorization", &api.auth)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // A duplicated order id.
    api.card_payment("order-dup-1", 1_000).await;
    api.post_err(
        "/v1/payments/key-in",
        card_body("order-dup-1", 1_000),
        400,
        "DUPLICATED_ORDER_ID",
    )
    .await;
}

#[tokio::test]
async fn a_method_or_path_the_api_does_not_have_is_a_toss_404() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    for (method, path) in [
        ("GET", "/v1/nope"),
        ("PUT", "/v1/payments/x"),
        ("GET", "/v1/payments/x/cancel"),
        ("GET", "/internal/nope"),
    ] {
        let (status, body) = api.send(method, path, None, &[]).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{method} {path}"
        );
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(path), "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn missing_or_wrong_secret_key_is_401() {
    let toss = FakeToss::builder()
        .secret_key("test_sk_one")
        .secret_key("test_sk_two")
        .start()
        .await;
    assert_eq!(toss.secret_key(), "test_sk_one");
    let mut api = Api::new(&toss);
    api.card_payment("order-auth-1", 1_000).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/payments/orders/order-auth-1", toss.uri());
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHORIZED_KEY");
    assert!(body["message"].is_string());
    for bad in [
        "Basic dGVzdF9za193cm9uZzo=",
        "Bearer x",
        "Basic !!!",
        "garbage",
    ] {
        let r = http
            .get(&url)
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{bad}");
    }
    // The second key works too, also without the trailing colon.
    use base64::Engine as _;
    for creds in ["test_sk_two:", "test_sk_two"] {
        api.auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(creds)
        );
        let (s, _) = api.get("/v1/payments/orders/order-auth-1").await;
        assert_eq!(s, 200, "{creds}");
    }
}

//! Card payments: onetime, saved cards and `again`, cancels, declines, idempotency.

mod common;

use std::time::Duration;

use common::{Api, GOOD_CARD};
use serde_json::json;

#[tokio::test]
async fn onetime_payment_is_paid_and_can_be_looked_up() {
    let api = Api::start().await;
    let p = api.onetime("order-1", 10_000, GOOD_CARD).await;
    let p = p.ok().clone();
    assert_eq!(p["status"], json!("paid"));
    assert_eq!(p["pay_method"], json!("card"));
    assert_eq!(p["amount"], json!(10_000));
    assert_eq!(p["cancel_amount"], json!(0));
    assert_eq!(p["currency"], json!("KRW"));
    assert_eq!(p["merchant_uid"], json!("order-1"));
    assert_eq!(p["paid_at"], json!(api.fake.now().timestamp()));
    assert_eq!(p["cancelled_at"], json!(0));
    assert_eq!(p["failed_at"], json!(0));
    assert_eq!(p["customer_uid"], json!(null));
    assert_eq!(p["card_number"], json!("4111-1100-0000-3333"));
    let imp_uid = p["imp_uid"].as_str().expect("imp_uid").to_owned();
    assert!(imp_uid.starts_with("imp_"));

    let got = api.get(&format!("/payments/{imp_uid}")).await;
    assert_eq!(got.ok(), &p);
    let found = api.get("/payments/find/order-1").await;
    assert_eq!(found.ok(), &p);
    api.get("/payments/find/order-1/paid").await.ok();
    api.get("/payments/find/order-1/cancelled").await.fails(404);
    api.get("/payments/find/nope").await.fails(404);
    api.get("/payments/imp_999999999999").await.fails(404);
    assert_eq!(api.fake.payment(&imp_uid), Some(p));
}

#[tokio::test]
async fn onetime_partial_over_and_full_cancel() {
    let api = Api::start().await;
    let p = api.onetime("order-2", 10_000, GOOD_CARD).await;
    let imp_uid = p.ok()["imp_uid"].as_str().expect("id").to_owned();

    let part = api
        .cancel(
            json!({"imp_uid": imp_uid, "amount": 3000, "reason": "partial", "checksum": 10_000}),
        )
        .await;
    let part = part.ok();
    assert_eq!(part["status"], json!("paid"));
    assert_eq!(part["cancel_amount"], json!(3000));
    assert_eq!(part["cancelled_at"], json!(0));
    assert_eq!(part["cancel_history"].as_array().map(Vec::len), Some(1));
    assert_eq!(part["cancel_history"][0]["amount"], json!(3000));
    assert_eq!(part["cancel_history"][0]["reason"], json!("partial"));
    assert_eq!(part["cancel_reason"], json!("partial"));

    // Over-cancel: the real API answers 200 with code -1, nothing changes.
    let msg = api
        .cancel(json!({"imp_uid": imp_uid, "amount": 7001, "reason": "too much"}))
        .await
        .fails(200);
    assert!(msg.contains("7000"), "{msg}");
    // A stale checksum is refused too.
    api.cancel(json!({"imp_uid": imp_uid, "amount": 1000, "checksum": 10_000}))
        .await
        .fails(200);
    assert_eq!(
        api.fake.payment(&imp_uid).expect("p")["cancel_amount"],
        json!(3000)
    );

    // The cancel that empties the balance (no amount = the rest) makes it cancelled.
    api.fake.advance(Duration::from_secs(60));
    let full = api
        .cancel(json!({"merchant_uid": "order-2", "reason": "rest"}))
        .await;
    let full = full.ok();
    assert_eq!(full["status"], json!("cancelled"));
    assert_eq!(full["cancel_amount"], json!(10_000));
    assert_eq!(full["cancelled_at"], json!(api.fake.now().timestamp()));
    assert_eq!(full["cancel_history"][1]["amount"], json!(7000));
    let again = api
        .cancel(json!({"imp_uid": imp_uid, "amount": 1}))
        .await
        .fails(200);
    assert!(again.contains("전액취소"), "{again}");
}

#[tokio::test]
async fn cancel_refusals() {
    let api = Api::start().await;
    api.cancel(json!({"imp_uid": "imp_000000000000"}))
        .await
        .fails(200);
    let msg = api.cancel(json!({"reason": "x"})).await.fails(400);
    assert!(msg.contains("imp_uid"), "{msg}");
    let p = api.onetime("order-3", 1000, GOOD_CARD).await;
    let imp_uid = p.ok()["imp_uid"].as_str().expect("id").to_owned();
    api.cancel(json!({"imp_uid": imp_uid, "merchant_uid": "other"}))
        .await
        .fails(200);
    api.cancel(json!({"imp_uid": imp_uid, "amount": -5}))
        .await
        .fails(400);
    api.cancel(json!({"imp_uid": imp_uid, "amount": "abc"}))
        .await
        .fails(400);
}

#[tokio::test]
async fn declined_cards_give_failed_payments_with_the_table_message() {
    let api = Api::start().await;
    for card in fake_iamport::cards::DECLINED_CARDS {
        let merchant_uid = format!("declined-{}", card.number);
        let p = api.onetime(&merchant_uid, 5000, card.number).await;
        let p = p.ok();
        assert_eq!(p["status"], json!("failed"), "{}", card.number);
        assert_eq!(p["fail_reason"], json!(card.message));
        assert_eq!(p["paid_at"], json!(0));
        assert_eq!(p["failed_at"], json!(api.fake.now().timestamp()));
        // A failed payment cannot be cancelled, and its merchant_uid may be retried.
        let imp_uid = p["imp_uid"].as_str().expect("id");
        api.cancel(json!({"imp_uid": imp_uid})).await.fails(200);
        let retry = api.onetime(&merchant_uid, 5000, GOOD_CARD).await;
        assert_eq!(retry.ok()["status"], json!("paid"));
        assert_eq!(
            api.get(&format!("/payments/find/{merchant_uid}"))
                .await
                .ok()["status"],
            json!("paid")
        );
    }
    // Registration declines only the cards the table marks so.
    for card in fake_iamport::cards::DECLINED_CARDS {
        let r = api
            .register(&format!("cust-{}", card.number), card.number)
            .await;
        if card.declines_registration {
            assert_eq!(r.fails(200), card.message);
        } else {
            r.ok();
        }
    }
    // Test-defined declines.
    api.fake
        .decline_card("5555-4444-3333-2222", "[9999] 테스트 거절");
    let p = api
        .onetime("custom-decline", 1000, "5555-4444-3333-2222")
        .await;
    assert_eq!(p.ok()["fail_reason"], json!("[9999] 테스트 거절"));
}

#[tokio::test]
async fn bad_card_input_names_the_field() {
    let api = Api::start().await;
    let base = json!({"merchant_uid": "m", "amount": 1000, "name": "n",
                      "card_number": GOOD_CARD, "expiry": "2030-12", "birth": "900101"});
    for (field, value) in [
        ("card_number", json!("1234")),
        ("expiry", json!("12/30")),
        ("birth", json!("19900101")),
        ("amount", json!(0)),
        ("amount", json!(10.5)),
        ("buyer_email", json!("not-an-email")),
        ("notice_url", json!("ftp://x")),
        ("currency", json!("GBP")),
        ("merchant_uid", json!(null)),
    ] {
        let mut b = base.clone();
        b[field] = value;
        let msg = api.post("/subscribe/payments/onetime", b).await.fails(400);
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let resp = api
        .http
        .post(format!("{}/subscribe/payments/onetime", api.fake.uri()))
        .header("Authorization", &api.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn expired_card_by_the_clock() {
    let api = Api::start().await;
    let p = api
        .post(
            "/subscribe/payments/onetime",
            json!({"merchant_uid": "exp", "amount": 1000, "name": "n",
                   "card_number": GOOD_CARD, "expiry": "2026-10", "birth": "900101"}),
        )
        .await;
    assert_eq!(p.ok()["status"], json!("failed"));
    assert!(
        p.ok()["fail_reason"]
            .as_str()
            .is_some_and(|r| r.contains("만료"))
    );
}

#[tokio::test]
async fn saved_card_register_get_delete() {
    let api = Api::start().await;
    api.get("/subscribe/customers/cust-1").await.fails(404);
    let saved = api.register("cust-1", GOOD_CARD).await;
    let saved = saved.ok().clone();
    assert_eq!(saved["customer_uid"], json!("cust-1"));
    assert_eq!(saved["card_number"], json!("4111-1100-0000-3333"));
    assert_eq!(saved["customer_name"], json!("홍길동"));
    assert_eq!(saved["customer_tel"], json!(null));
    assert_eq!(saved["inserted"], json!(api.fake.now().timestamp()));
    assert_eq!(api.get("/subscribe/customers/cust-1").await.ok(), &saved);

    // Re-registering replaces the card and keeps `inserted`.
    api.fake.advance(Duration::from_secs(10));
    let re = api.register("cust-1", "5111-2222-3333-4444").await;
    assert_eq!(re.ok()["inserted"], saved["inserted"]);
    assert_eq!(re.ok()["updated"], json!(api.fake.now().timestamp()));
    assert_eq!(re.ok()["card_code"], json!("381"));

    let deleted = api
        .call(reqwest::Method::DELETE, "/subscribe/customers/cust-1", None)
        .await;
    assert_eq!(deleted.ok()["customer_uid"], json!("cust-1"));
    api.get("/subscribe/customers/cust-1").await.fails(404);
    api.call(reqwest::Method::DELETE, "/subscribe/customers/cust-1", None)
        .await
        .fails(404);
    // A charge with a deleted billing key is refused.
    api.again("cust-1", "after-delete", 1000).await.fails(200);
}

#[tokio::test]
async fn onetime_with_customer_uid_saves_the_card() {
    let api = Api::start().await;
    let p = api
        .post(
            "/subscribe/payments/onetime",
            json!({"merchant_uid": "first", "amount": 1000, "name": "n", "customer_uid": "cust-9",
                   "card_number": GOOD_CARD, "expiry": "2030-12", "birth": "900101"}),
        )
        .await;
    assert_eq!(p.ok()["customer_uid"], json!("cust-9"));
    assert_eq!(p.ok()["customer_uid_usage"], json!("issue"));
    api.get("/subscribe/customers/cust-9").await.ok();
    // A declined onetime does not save the card.
    api.post(
        "/subscribe/payments/onetime",
        json!({"merchant_uid": "second", "amount": 1000, "name": "n", "customer_uid": "cust-10",
               "card_number": "4000-0000-0000-0002", "expiry": "2030-12", "birth": "900101"}),
    )
    .await
    .ok();
    api.get("/subscribe/customers/cust-10").await.fails(404);
}

#[tokio::test]
async fn again_payments_with_partial_over_and_full_cancel() {
    let api = Api::start().await;
    api.register("sub-1", GOOD_CARD).await.ok();
    let p = api.again("sub-1", "month-1", 9900).await;
    let p = p.ok().clone();
    assert_eq!(p["status"], json!("paid"));
    assert_eq!(p["customer_uid"], json!("sub-1"));
    assert_eq!(p["customer_uid_usage"], json!("payment"));
    let imp_uid = p["imp_uid"].as_str().expect("id").to_owned();

    let part = api.cancel(json!({"imp_uid": imp_uid, "amount": 900})).await;
    assert_eq!(part.ok()["status"], json!("paid"));
    assert_eq!(part.ok()["cancel_amount"], json!(900));
    api.cancel(json!({"imp_uid": imp_uid, "amount": 9001}))
        .await
        .fails(200);
    let full = api
        .cancel(json!({"imp_uid": imp_uid, "amount": 9000}))
        .await;
    assert_eq!(full.ok()["status"], json!("cancelled"));
    assert_eq!(
        full.ok()["cancel_history"].as_array().map(Vec::len),
        Some(2)
    );

    // Balance declines show only at charge time.
    api.register("sub-poor", "4000-0000-0000-0010").await.ok();
    let failed = api.again("sub-poor", "month-1-poor", 9900).await;
    assert_eq!(failed.ok()["status"], json!("failed"));
    // An unknown customer_uid is refused.
    api.again("nobody", "month-x", 100).await.fails(200);
}

#[tokio::test]
async fn again_is_at_most_once_per_merchant_uid() {
    let api = Api::start().await;
    api.register("sub-2", GOOD_CARD).await.ok();
    let first = api.again("sub-2", "month-2", 5000).await;
    first.ok();
    let msg = api.again("sub-2", "month-2", 5000).await.fails(200);
    assert!(msg.contains("month-2"), "{msg}");
    let paid: Vec<_> = api
        .fake
        .received_requests()
        .iter()
        .filter(|r| r.path == "/subscribe/payments/again")
        .map(|r| r.body_json())
        .collect();
    assert_eq!(paid.len(), 2);
    // Only one payment exists for the merchant_uid.
    let found = api.get("/payments/find/month-2").await;
    assert_eq!(found.ok()["imp_uid"], first.ok()["imp_uid"]);
}

#[tokio::test]
async fn idempotency_key_replays_and_refuses_a_different_body() {
    let api = Api::start().await;
    api.register("sub-3", GOOD_CARD).await.ok();
    let body = json!({"customer_uid": "sub-3", "merchant_uid": "m-3", "amount": 700, "name": "n"});
    let headers = [
        ("Authorization", api.token.as_str()),
        ("Idempotency-Key", "k-1"),
    ];
    let first = api
        .raw(
            reqwest::Method::POST,
            "/subscribe/payments/again",
            Some(body.clone()),
            &headers,
        )
        .await;
    let replay = api
        .raw(
            reqwest::Method::POST,
            "/subscribe/payments/again",
            Some(body.clone()),
            &headers,
        )
        .await;
    assert_eq!(replay.body, first.body);
    assert_eq!(
        replay
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let mut other = body.clone();
    other["amount"] = json!(701);
    let msg = api
        .raw(
            reqwest::Method::POST,
            "/subscribe/payments/again",
            Some(other),
            &headers,
        )
        .await
        .fails(409);
    assert!(msg.contains("k-1"), "{msg}");
    // Bad input is not remembered: fixing it under the same key works.
    let bad = json!({"customer_uid": "sub-3", "merchant_uid": "m-4", "name": "n"});
    let headers2 = [
        ("Authorization", api.token.as_str()),
        ("Idempotency-Key", "k-2"),
    ];
    api.raw(
        reqwest::Method::POST,
        "/subscribe/payments/again",
        Some(bad),
        &headers2,
    )
    .await
    .fails(400);
    let good = json!({"customer_uid": "sub-3", "merchant_uid": "m-4", "amount": 1, "name": "n"});
    api.raw(
        reqwest::Method::POST,
        "/subscribe/payments/again",
        Some(good),
        &headers2,
    )
    .await
    .ok();
    let payments: Vec<_> = ["m-3", "m-4"]
        .iter()
        .filter_map(|m| api.fake.payment_by_merchant_uid(m))
        .collect();
    assert_eq!(payments.len(), 2);
}

#[tokio::test]
async fn concurrent_again_with_one_merchant_uid_charges_once() {
    let api = std::sync::Arc::new(Api::start().await);
    api.register("sub-c", GOOD_CARD).await.ok();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.again("sub-c", "race", 1000).await.body["code"].as_i64()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.expect("task") == Some(0) {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

/// Lookups answer a serialised copy kept between changes; every change, through the API
/// or the Rust handle, must show in the next lookup.
#[tokio::test]
async fn lookups_follow_every_change() {
    let api = Api::start().await;
    let card = api.onetime("order-look-1", 10_000, GOOD_CARD).await;
    let card = card.ok()["imp_uid"].as_str().expect("id").to_owned();
    let vbank = api.vbank("order-look-2", 5_000).await;
    let vbank = vbank.ok()["imp_uid"].as_str().expect("id").to_owned();
    let look = |imp_uid: &str| {
        let path = format!("/payments/{imp_uid}");
        let api = &api;
        async move { api.get(&path).await.ok().clone() }
    };
    assert_eq!(look(&card).await["cancel_amount"], json!(0));
    assert_eq!(look(&card).await["cancel_amount"], json!(0));
    assert_eq!(look(&vbank).await["status"], json!("ready"));

    api.cancel(json!({"imp_uid": card, "amount": 3000, "reason": "partial"}))
        .await
        .ok();
    assert_eq!(look(&card).await["cancel_amount"], json!(3000));

    api.fake.deposit(&vbank).await.expect("deposit");
    assert_eq!(look(&vbank).await["status"], json!("paid"));
    assert_eq!(look(&card).await["cancel_amount"], json!(3000));
    assert_eq!(
        api.fake.payment(&vbank).expect("kept")["status"],
        json!("paid")
    );
}

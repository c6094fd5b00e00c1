//! The `capacity` and `record_ttl` knobs: the fake forgets the oldest payments past the
//! capacity, and payments older than the TTL by its clock.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::{Api, key};
use fake_toss::FakeToss;

#[tokio::test]
async fn capacity_evicts_the_oldest_payment() {
    let toss = FakeToss::builder().capacity(2).start().await;
    let api = Api::new(&toss);
    let first = key(&api.card_payment("order-cap-1", 1_000).await);
    let second = key(&api.card_payment("order-cap-2", 1_000).await);
    assert!(toss.payment(&first).is_some(), "within capacity");
    let third = key(&api.card_payment("order-cap-3", 1_000).await);

    let (s, b) = api.get(&format!("/v1/payments/{first}")).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("NOT_FOUND_PAYMENT")),
        "{b}"
    );
    let (s, b) = api.get("/v1/payments/orders/order-cap-1").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("NOT_FOUND_PAYMENT")),
        "{b}"
    );
    assert!(toss.payment(&second).is_some());
    assert_eq!(api.get(&format!("/v1/payments/{third}")).await.0, 200);
}

#[tokio::test]
async fn record_ttl_expires_payments_by_the_fake_clock() {
    let toss = FakeToss::builder()
        .record_ttl(Duration::from_secs(60))
        .freeze_clock(true)
        .start()
        .await;
    let api = Api::new(&toss);
    let old = key(&api.card_payment("order-ttl-1", 1_000).await);
    toss.advance(Duration::from_secs(59));
    assert_eq!(
        api.get(&format!("/v1/payments/{old}")).await.0,
        200,
        "not yet"
    );
    let young = key(&api.card_payment("order-ttl-2", 1_000).await);
    toss.advance(Duration::from_secs(2));

    let (s, b) = api.get(&format!("/v1/payments/{old}")).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("NOT_FOUND_PAYMENT")),
        "{b}"
    );
    assert!(toss.payment_by_order("order-ttl-1").is_none());
    assert_eq!(api.get(&format!("/v1/payments/{young}")).await.0, 200);
}

#[tokio::test]
async fn unbounded_by_default() {
    let toss = FakeToss::start().await;
    let api = Api::new(&toss);
    let first = key(&api.card_payment("order-def-1", 1_000).await);
    for i in 2..=5 {
        api.card_payment(&format!("order-def-{i}"), 1_000).await;
    }
    toss.advance(Duration::from_secs(365 * 24 * 3600));
    assert!(toss.payment(&first).is_some());
}

//! The `capacity` and `record_ttl` knobs: the fake forgets the oldest payments past the
//! capacity, and payments older than the TTL by its clock.

mod common;

use std::time::Duration;

use common::{Api, GOOD_CARD, T0, at};
use fake_iamport::FakeIamport;

fn imp_uid(a: &common::Answer) -> String {
    a.ok()["imp_uid"].as_str().expect("imp_uid").to_owned()
}

fn frozen() -> fake_iamport::FakeIamportBuilder {
    FakeIamport::builder().now(at(T0)).freeze_clock(true)
}

#[tokio::test]
async fn capacity_evicts_the_oldest_payment() {
    let api = Api::with(frozen().capacity(2)).await;
    let first = imp_uid(&api.onetime("order-cap-1", 1_000, GOOD_CARD).await);
    let second = imp_uid(&api.vbank("order-cap-2", 1_000).await);
    assert!(api.fake.payment(&first).is_some(), "within capacity");
    let third = imp_uid(&api.onetime("order-cap-3", 1_000, GOOD_CARD).await);

    api.get(&format!("/payments/{first}")).await.fails(404);
    api.get("/payments/find/order-cap-1").await.fails(404);
    api.get(&format!("/payments/{second}")).await.ok();
    api.get(&format!("/payments/{third}")).await.ok();
}

#[tokio::test]
async fn record_ttl_expires_payments_by_the_fake_clock() {
    let api = Api::with(frozen().record_ttl(Duration::from_secs(60))).await;
    let old = imp_uid(&api.onetime("order-ttl-1", 1_000, GOOD_CARD).await);
    api.fake.advance(Duration::from_secs(59));
    api.get(&format!("/payments/{old}")).await.ok();
    let young = imp_uid(&api.onetime("order-ttl-2", 1_000, GOOD_CARD).await);
    api.fake.advance(Duration::from_secs(2));

    api.get(&format!("/payments/{old}")).await.fails(404);
    assert!(api.fake.payment_by_merchant_uid("order-ttl-1").is_none());
    api.get(&format!("/payments/{young}")).await.ok();
}

#[tokio::test]
async fn unbounded_by_default() {
    let api = Api::start().await;
    let first = imp_uid(&api.onetime("order-def-1", 1_000, GOOD_CARD).await);
    for i in 2..=5 {
        api.onetime(&format!("order-def-{i}"), 1_000, GOOD_CARD)
            .await
            .ok();
    }
    api.fake.advance(Duration::from_secs(365 * 24 * 3600));
    assert!(api.fake.payment(&first).is_some());
}

//! The `capacity` and `record_ttl` knobs: the fake forgets the oldest payments past the
//! capacity, and payments older than the TTL by its clock.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::Api;
use fake_portone::FakePortOne;

async fn not_found(api: &Api, id: &str) {
    api.expect_err(
        "GET",
        &format!("/payments/{id}"),
        None,
        404,
        "PAYMENT_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn capacity_evicts_the_oldest_payment() {
    let portone = FakePortOne::builder().capacity(2).start().await;
    let api = Api::new(&portone);
    api.paid_card("cap-1", 1_000).await;
    api.paid_card("cap-2", 1_000).await;
    assert!(portone.payment("cap-1").is_some(), "within capacity");
    api.paid_card("cap-3", 1_000).await;

    not_found(&api, "cap-1").await;
    assert!(portone.payment("cap-1").is_none());
    api.payment("cap-2").await;
    api.payment("cap-3").await;
}

#[tokio::test]
async fn record_ttl_expires_payments_by_the_fake_clock() {
    let portone = FakePortOne::builder()
        .record_ttl(Duration::from_secs(60))
        .freeze_clock(true)
        .start()
        .await;
    let api = Api::new(&portone);
    api.paid_card("ttl-1", 1_000).await;
    portone.advance(Duration::from_secs(59));
    api.payment("ttl-1").await;
    api.paid_card("ttl-2", 1_000).await;
    portone.advance(Duration::from_secs(2));

    not_found(&api, "ttl-1").await;
    api.payment("ttl-2").await;
}

#[tokio::test]
async fn unbounded_by_default() {
    let portone = FakePortOne::start().await;
    let api = Api::new(&portone);
    for i in 1..=5 {
        api.paid_card(&format!("def-{i}"), 1_000).await;
    }
    portone.advance(Duration::from_secs(365 * 24 * 3600));
    assert!(portone.payment("def-1").is_some());
}

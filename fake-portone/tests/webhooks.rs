//! Webhooks: every event the state machine produces, Standard Webhooks signatures
//! (checked with the `standardwebhooks` crate), retries on the real schedule scaled down,
//! per-store URL, secret and version, the payment's `noticeUrls`, chaos.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use common::{Api, Receiver, assert_webhook_body, verify};
use fake_portone::{Checkout, FakePortOne, StoreSettings, WebhookOutcome, WebhookVersion};
use serde_json::json;

#[tokio::test]
async fn every_transition_sends_a_signed_webhook() {
    let (rx, url) = Receiver::start(0).await;
    let portone = FakePortOne::builder().webhook_url(url).start().await;
    let api = Api::new(&portone);
    api.paid_card("p-1", 10_000).await;
    api.cancel("p-1", json!({"amount": 1_000, "reason": "x"}))
        .await;
    api.cancel("p-1", json!({"reason": "rest"})).await;
    api.pay_card("p-2", 1_000, "4000000000000002").await;
    api.virtual_account("v-1", 1_000).await;
    portone.deposit("v-1").await.unwrap();
    api.virtual_account("v-2", 1_000).await;
    api.post("/payments/v-2/virtual-account/close", json!({}))
        .await;
    let bk = api.billing_key("4330123412341234").await;
    api.delete(&format!("/billing-keys/{bk}")).await;
    let hooks = rx.wait_for(10).await;
    let types: Vec<String> = hooks
        .iter()
        .map(|h| h.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "Transaction.Paid",
            "Transaction.PartialCancelled",
            "Transaction.Cancelled",
            "Transaction.Failed",
            "Transaction.VirtualAccountIssued",
            "Transaction.Paid",
            "Transaction.VirtualAccountIssued",
            "Transaction.Cancelled",
            "BillingKey.Issued",
            "BillingKey.Deleted",
        ]
    );
    for h in &hooks {
        verify(portone.webhook_secret(), h)
            .unwrap_or_else(|e| panic!("{e}: {}", h.header("webhook-signature")));
        assert!(h.header("webhook-id").starts_with("msg_"));
        assert_eq!(h.header("content-type"), "application/json");
        assert_webhook_body(&h.json());
    }
    // A cancel event names its cancellation; payment events their transaction.
    let partial = hooks[1].json();
    let p = api.payment("p-1").await;
    assert_eq!(
        partial["data"]["cancellationId"],
        p["cancellations"][0]["id"]
    );
    assert_eq!(partial["data"]["transactionId"], p["transactionId"]);
    assert_eq!(hooks[8].json()["data"]["billingKey"], bk);
    // A wrong secret or a tampered body does not verify.
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert!(verify(other, &hooks[0]).is_err());
    let mut tampered = hooks[0].clone();
    tampered.body =
        axum::body::Bytes::from(hooks[0].body.iter().rev().copied().collect::<Vec<u8>>());
    assert!(verify(portone.webhook_secret(), &tampered).is_err());
    // skipWebhook sends nothing.
    let mut body = common::card_body(1_000, "4330123412341234");
    body["skipWebhook"] = json!(true);
    api.post("/payments/p-3/instant", body).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.hooks().len(), 10);
}

#[tokio::test]
async fn retries_keep_the_id_and_sign_each_attempt() {
    let (rx, url) = Receiver::start(2).await;
    let portone = FakePortOne::builder()
        .webhook_url(url)
        .webhook_retry_scale(0.0005) // 30 ms, 120 ms, ...
        .start()
        .await;
    let api = Api::new(&portone);
    api.paid_card("p-1", 1_000).await;
    let hooks = rx.wait_for(1).await;
    assert_eq!(hooks.len(), 1);
    let log = portone
        .wait_for_webhooks(1, Duration::from_secs(5), |w| w.is_delivered())
        .await;
    assert_eq!(log[0].attempt, 3, "two failures, then delivered");
    let attempts: Vec<_> = portone
        .webhooks()
        .into_iter()
        .filter(|w| w.event_id == log[0].event_id)
        .collect();
    assert_eq!(attempts.len(), 3);
    let ids: Vec<_> = attempts
        .iter()
        .map(|a| a.header("webhook-id").unwrap().to_owned())
        .collect();
    assert!(
        ids.iter().all(|i| i == &ids[0]),
        "one webhook-id across retries: {ids:?}"
    );
    assert!(matches!(
        attempts[0].outcome,
        WebhookOutcome::Failed {
            status: Some(500),
            ..
        }
    ));
    verify(portone.webhook_secret(), &hooks[0]).unwrap();
    assert_eq!(fake_portone::REAL_RETRY_SCHEDULE.len(), 5);
}

#[tokio::test]
async fn stores_have_their_own_url_secret_and_version() {
    let (rx_a, url_a) = Receiver::start(0).await;
    let (rx_b, url_b) = Receiver::start(0).await;
    let secret_b = "whsec_c2Vjb25kLXN0b3JlLXNlY3JldC1rZXktYmJiYmI=";
    let portone = FakePortOne::builder()
        .webhook_url(url_a)
        .store_id("store-a")
        .store(
            StoreSettings::new("store-b")
                .api_secret("secret-b")
                .webhook_url(url_b)
                .webhook_secret(secret_b)
                .webhook_version(WebhookVersion::V2024_01_01),
        )
        .start()
        .await;
    assert_eq!(
        portone.webhook_secret_of("store-b").as_deref(),
        Some(secret_b)
    );
    let api_b = Api::new(&portone).with_auth(Some("PortOne secret-b"));
    api_b.paid_card("p-b", 1_000).await;
    let bk = api_b.billing_key("4330123412341234").await; // no BillingKey.* in 2024-01-01
    let hooks = rx_b.wait_for(1).await;
    let body = hooks[0].json();
    let p = api_b.payment("p-b").await;
    assert_eq!(
        body,
        json!({"payment_id": "p-b", "tx_id": p["transactionId"], "status": "Paid"})
    );
    verify(secret_b, &hooks[0]).unwrap();
    assert!(verify(portone.webhook_secret(), &hooks[0]).is_err());
    api_b.delete(&format!("/billing-keys/{bk}")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx_b.hooks().len(), 1);
    assert!(rx_a.hooks().is_empty());
}

#[tokio::test]
async fn notice_urls_override_the_store_url() {
    let (rx_store, url_store) = Receiver::start(0).await;
    let (rx_notice, url_notice) = Receiver::start(0).await;
    let portone = FakePortOne::builder().webhook_url(url_store).start().await;
    let p = portone
        .checkout(
            "c-1",
            Checkout::card("coffee", 1_000).notice_url(&url_notice),
        )
        .await
        .unwrap();
    assert_eq!(p["status"], "PAID");
    let hooks = rx_notice.wait_for(1).await;
    assert_eq!(hooks[0].json()["data"]["paymentId"], "c-1");
    verify(portone.webhook_secret(), &hooks[0]).unwrap();
    let mut body = common::card_body(1_000, "4330123412341234");
    body["noticeUrls"] = json!([url_notice]);
    Api::new(&portone).post("/payments/p-2/instant", body).await;
    rx_notice.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(rx_store.hooks().is_empty());
}

#[tokio::test]
async fn chaos_drops_and_duplicates() {
    let (rx, url) = Receiver::start(0).await;
    let portone = FakePortOne::builder().webhook_url(url).start().await;
    let api = Api::new(&portone);
    portone.drop_next_webhooks(1);
    portone.duplicate_next_webhooks(1);
    api.paid_card("p-1", 1_000).await; // dropped
    api.paid_card("p-2", 1_000).await; // sent twice
    let hooks = rx.wait_for(2).await;
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].json()["data"]["paymentId"], "p-2");
    assert_eq!(
        hooks[0].header("webhook-id"),
        hooks[1].header("webhook-id"),
        "a duplicate is the same message"
    );
    assert!(
        portone
            .webhooks()
            .iter()
            .any(|w| w.outcome == WebhookOutcome::Dropped)
    );
    // The dropped one can be sent again by the merchant.
    let (s, _) = api.post("/payments/p-1/resend-webhook", json!({})).await;
    assert_eq!(s, 200);
    let hooks = rx.wait_for(3).await;
    assert_eq!(hooks[2].json()["data"]["paymentId"], "p-1");
}

#[tokio::test]
async fn the_webhook_log_is_readable_over_http() {
    let portone = FakePortOne::start().await; // no URL: logged as NoUrl
    Api::new(&portone).paid_card("p-1", 1_000).await;
    let log = portone
        .wait_for_webhooks(1, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[0].outcome, WebhookOutcome::NoUrl);
    assert_eq!(log[0].event_type, "Transaction.Paid");
    let over_http: serde_json::Value = reqwest::get(format!("{}/internal/webhooks", portone.uri()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http[0]["eventType"], "Transaction.Paid");
}

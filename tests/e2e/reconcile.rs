//! Reconciliation: a PG webhook that never arrives must not leave a payment wrong. The
//! server re-asks the PG about every history not final yet and applies what it finds as
//! webhook intake does (the caller's webhook included); a PG payment no history holds is
//! kept for an operator and counted on `/monitors/performance`.

use crate::common::*;
use fake_toss::WebhookOutcome;
use payments::core::records::{CancelCreate, VendorCode, WebhookHistory};
use payments::server::PaymentServerBuilder;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// A short reconciliation interval, so the test sees a few rounds.
const INTERVAL: Duration = Duration::from_millis(200);

/// A server on the fakes whose reconciliation runs every [`INTERVAL`] and backs off to
/// twice that at most.
fn reconciling(app: &TestApp, database: &str) -> PaymentServerBuilder {
    server_builder(&app.toss, &app.iamport, database)
        .reconcile_interval(INTERVAL)
        .reconcile_max_backoff(INTERVAL * 2)
}

/// Waits (bounded, generously for a loaded machine) until `count` webhooks arrived.
async fn received_at_least(receiver: &Receiver, count: usize) -> Vec<(String, WebhookHistory)> {
    for _ in 0..600 {
        let received = receiver.received();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {count} webhooks, got {}",
        receiver.received().len()
    );
}

/// Waits until the PG sent at least `events` webhook events and each failed its last
/// attempt: `attempts` tries each, none delivered. Returns how many events there were.
async fn all_given_up(harness: &fake_toss::Harness, events: usize, attempts: u32) -> usize {
    for _ in 0..600 {
        let mut last: HashMap<u64, (u32, bool)> = HashMap::new();
        for record in harness.webhooks() {
            assert!(
                !record.is_delivered(),
                "no webhook may reach a server that is down"
            );
            let failed = matches!(record.outcome, WebhookOutcome::Failed { .. });
            let entry = last.entry(record.event_id).or_insert((0, failed));
            if record.attempt >= entry.0 {
                *entry = (record.attempt, failed);
            }
        }
        let exhausted = last
            .values()
            .filter(|(attempt, failed)| *failed && *attempt >= attempts)
            .count();
        if last.len() >= events && exhausted == last.len() {
            return exhausted;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the fake's webhook retries did not run out");
}

#[tokio::test]
async fn deposits_whose_webhooks_ran_out_of_retries_while_the_server_was_down_are_paid_after_it_starts()
 {
    const EACH: i64 = 20;
    let mut app = spawn_app().await;
    let server = reconciling(&app, &app.database).start().await.unwrap();
    let old = std::mem::replace(&mut app.server, server);
    old.shutdown().await;
    app.client = client_for(&app.server, Wire::SealedV2);
    app.toss
        .set_webhook_url(format!("{}/payments/webhooks/toss", app.server.uri()));
    app.iamport
        .set_webhook_url(format!("{}/payments/webhooks/iamport", app.server.uri()));
    // The PGs give up quickly: two retries 20 ms apart.
    let retries = vec![Duration::from_millis(20), Duration::from_millis(20)];
    app.toss.set_webhook_retry_schedule(retries.clone());
    app.iamport.set_webhook_retry_schedule(retries);

    let mut toss_keys = Vec::new();
    let mut iamport_uids = Vec::new();
    for n in 0..EACH {
        let order = format!("va-toss-{n}");
        let key = app.toss_virtual_account(&order, 10_000 + n).await;
        app.client
            .histories()
            .create(&app.history_input(VendorCode::TossPayments, &key, &order, 10_000 + n))
            .await
            .unwrap();
        toss_keys.push(key);
        let order = format!("va-iamport-{n}");
        let uid = app.iamport_vbank(&order, 20_000 + n).await;
        app.client
            .histories()
            .create(&app.history_input(VendorCode::Iamport, &uid, &order, 20_000 + n))
            .await
            .unwrap();
        iamport_uids.push(uid);
    }

    let TestApp {
        toss,
        iamport,
        server,
        receiver,
        database,
        _dir: dir,
        ..
    } = app;
    server.shutdown().await;
    // Only what the deposits send counts (creating an account may have sent some).
    toss.clear_webhooks();
    iamport.clear_webhooks();
    for key in &toss_keys {
        toss.deposit(key).await.unwrap();
    }
    for uid in &iamport_uids {
        iamport.deposit(uid).await.unwrap();
    }
    // Every deposit's webhook was tried, retried, and given up on by the PG.
    all_given_up(&toss, toss_keys.len(), 3).await;
    all_given_up(&iamport, iamport_uids.len(), 3).await;
    assert!(receiver.received().is_empty());

    let restarted = server_builder(&toss, &iamport, &database)
        .reconcile_interval(INTERVAL)
        .reconcile_max_backoff(INTERVAL * 2)
        .start()
        .await
        .unwrap();
    let total = (2 * EACH) as usize;
    let received = received_at_least(&receiver, total).await;
    let mut paid: Vec<&str> = received
        .iter()
        .filter(|(_, webhook)| webhook.previous.paid_at.is_none())
        .filter(|(_, webhook)| webhook.current.paid_at.is_some())
        .map(|(_, webhook)| webhook.source.id.as_str())
        .collect();
    paid.sort();
    paid.dedup();
    assert_eq!(paid.len(), total, "each deposit reached the caller");
    let client = client_for(&restarted, Wire::SealedV2);
    for n in 0..EACH {
        for order in [format!("va-toss-{n}"), format!("va-iamport-{n}")] {
            let history = client.histories().get(&accessor(&order)).await.unwrap();
            assert!(history.paid_at.is_some(), "{order} is paid");
        }
    }
    // Nothing left to ask about, and nothing is told twice.
    tokio::time::sleep(INTERVAL * 3).await;
    let performance = client.monitors().performance().await.unwrap();
    assert_eq!(performance.resource["reconcile_pending"], 0);
    let mut ids: Vec<_> = receiver.received().into_iter().map(|(id, _)| id).collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "no webhook delivered twice");
    restarted.shutdown().await;
    drop(dir);
}

#[tokio::test]
async fn a_cancel_whose_answer_was_lost_is_applied_by_reconciliation() {
    let mut app = spawn_app().await;
    let quick = reconciling(&app, &app.database)
        .vendor_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let old = std::mem::replace(&mut app.server, quick);
    old.shutdown().await;
    app.client = client_for(&app.server, Wire::SealedV2);
    // Toss's cancel webhooks never reach this server (no URL points at it).
    app.toss.clear_webhook_url();
    let key = app.toss_card("lost-cancel-1", 12_000, true).await;
    app.client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "lost-cancel-1", 12_000))
        .await
        .unwrap();
    app.toss.lose_response_next(1);
    let lost = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("lost-cancel-1"),
            password: PASSWORD.into(),
            price: 12_000,
            reason: "changed my mind".into(),
            account: None,
        })
        .await
        .unwrap_err();
    assert!(lost.is_outcome_unknown(), "{lost}");
    // Toss cancelled it; once the answer is overdue the server asks and records it.
    let received = received_at_least(&app.receiver, 1).await;
    let (_, webhook) = &received[0];
    assert_eq!(webhook.current.refund, Some(12_000));
    let history = app
        .client
        .histories()
        .get(&accessor("lost-cancel-1"))
        .await
        .unwrap();
    assert_eq!(history.refund, Some(12_000));
    assert!(history.cancelled_at.is_some());
}

#[tokio::test]
async fn a_pg_webhook_for_a_payment_nobody_recorded_is_kept_for_an_operator() {
    let mut app = spawn_app().await;
    let server = server_builder(&app.toss, &app.iamport, &app.database)
        .unknown_payment_grace(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let old = std::mem::replace(&mut app.server, server);
    old.shutdown().await;
    app.client = client_for(&app.server, Wire::SealedV2);
    // Paid at Toss; the caller's registration never came.
    let key = app.toss_card("never-registered-1", 9_000, true).await;
    let webhook = |payment_key: &str| json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": payment_key}});
    for body in [webhook(&key), webhook(&key), webhook("made-up-payment-key")] {
        let answer = app
            .http
            .post(format!("{}/payments/webhooks/toss", app.server.uri()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let mut kept = serde_json::Value::Null;
    for _ in 0..200 {
        let performance = app.client.monitors().performance().await.unwrap();
        kept = performance.resource["unknown_payments"].clone();
        if kept == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(kept, 1, "the real payment is kept, once");
    // The made-up one is not kept however long it waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let performance = app.client.monitors().performance().await.unwrap();
    assert_eq!(performance.resource["unknown_payments"], 1);
    // Registered after all: no longer unknown.
    app.client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "never-registered-1", 9_000))
        .await
        .unwrap();
    let performance = app.client.monitors().performance().await.unwrap();
    assert_eq!(performance.resource["unknown_payments"], 0);
}

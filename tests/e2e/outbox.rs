//! The outbox under slow receivers: a receiver that never answers costs its own
//! delivery's slot and nobody else's, and one history's changes still reach a slow
//! receiver in the order they happened.

use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use payments::client::open_webhook;
use payments::core::envelope::Envelope;
use payments::core::records::{CancelCreate, RefundAccount, VendorCode, WebhookHistory};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A receiver that accepts connections and never answers (nor reads).
async fn hanging_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/payments", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(connection);
        }
    });
    (url, accepted)
}

/// Waits until `done` holds, at most `limit`.
async fn wait_until(limit: Duration, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_hanging_receiver_does_not_hold_up_the_other_deliveries() {
    // A long attempt timeout: the hanging attempt is still under way long after the
    // others must have arrived.
    let app = spawn_app_configured(Wire::SealedV2, |builder| {
        builder
            .webhook_timeout(Duration::from_secs(30))
            .webhook_lease(Duration::from_secs(60))
    })
    .await;
    let (hanging_url, accepted) = hanging_receiver().await;
    let uid = app.iamport_vbank("hang-0", 10_000).await;
    let mut input = app.history_input(VendorCode::Iamport, &uid, "hang-0", 10_000);
    input.webhook_url = Some(hanging_url);
    app.client.histories().create(&input).await.unwrap();
    let mut uids = Vec::new();
    for n in 1..=20 {
        let order = format!("hang-{n}");
        let uid = app.iamport_vbank(&order, 10_000 + n).await;
        app.client
            .histories()
            .create(&app.history_input(VendorCode::Iamport, &uid, &order, 10_000 + n))
            .await
            .unwrap();
        uids.push(uid);
    }
    app.iamport.deposit(&uid).await.unwrap();
    wait_until(
        Duration::from_secs(10),
        "the hanging receiver was called",
        || accepted.load(Ordering::SeqCst) >= 1,
    )
    .await;

    // While that attempt hangs, the others are deposited and must all arrive, well
    // before the hanging attempt's 30 s timeout.
    for uid in &uids {
        app.iamport.deposit(uid).await.unwrap();
    }
    wait_until(
        Duration::from_secs(10),
        "20 deliveries to the other receiver",
        || app.receiver.received().len() >= 20,
    )
    .await;
    let mut orders: Vec<_> = app
        .receiver
        .received()
        .into_iter()
        .map(|(_, webhook)| webhook.source.id)
        .collect();
    orders.sort();
    orders.dedup();
    assert_eq!(
        orders.len(),
        20,
        "each of the 20 histories' webhook arrived"
    );
    assert!(orders.iter().all(|order| order != "hang-0"));
    // Their attempts are recorded (moments after the receiver has them); the hanging
    // one is still under way.
    let start = Instant::now();
    loop {
        let depth = app.server.store().outbox_depth().await.unwrap();
        if depth == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "only the hanging delivery should be pending, {depth} are"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A receiver whose first request hangs (it never answers it, nor applies it); every
/// later one it opens and applies, keeping the order it applied them in.
#[derive(Clone)]
struct SlowFirst {
    url: String,
    state: Arc<SlowState>,
}

struct SlowState {
    envelope: Envelope,
    requests: AtomicUsize,
    applied: Mutex<Vec<WebhookHistory>>,
}

async fn slow_first(
    State(state): State<Arc<SlowState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if state.requests.fetch_add(1, Ordering::SeqCst) == 0 {
        std::future::pending::<()>().await;
    }
    match open_webhook(
        &state.envelope,
        "POST",
        "/hooks/payments",
        &headers,
        &body,
        chrono::Utc::now(),
    ) {
        Ok(webhook) => {
            state.applied.lock().unwrap().push(webhook);
            StatusCode::OK
        }
        Err(error) => error.status(),
    }
}

impl SlowFirst {
    async fn start() -> Self {
        let state = Arc::new(SlowState {
            envelope: envelope(Wire::SealedV2),
            requests: AtomicUsize::new(0),
            applied: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/payments", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/hooks/payments", axum::routing::post(slow_first))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, state }
    }

    fn applied(&self) -> Vec<WebhookHistory> {
        self.state.applied.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_history_paid_then_cancelled_reaches_a_slow_receiver_in_that_order() {
    // The first attempt (paid) hangs until its 1 s timeout; the cancel happens
    // meanwhile, and its webhook must wait until paid is delivered.
    let app = spawn_app_configured(Wire::SealedV2, |builder| {
        builder
            .webhook_timeout(Duration::from_secs(1))
            .webhook_lease(Duration::from_secs(10))
    })
    .await;
    let receiver = SlowFirst::start().await;
    let uid = app.iamport_vbank("slow-1", 10_000).await;
    let mut input = app.history_input(VendorCode::Iamport, &uid, "slow-1", 10_000);
    input.webhook_url = Some(receiver.url.clone());
    app.client.histories().create(&input).await.unwrap();
    app.iamport.deposit(&uid).await.unwrap();
    wait_until(Duration::from_secs(10), "the paid webhook was sent", || {
        receiver.state.requests.load(Ordering::SeqCst) >= 1
    })
    .await;
    let cancelled = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("slow-1"),
            password: PASSWORD.into(),
            price: 10_000,
            reason: "changed my mind".into(),
            account: Some(RefundAccount {
                bank: "088".into(),
                account: "110123456789".into(),
                holder: "홍길동".into(),
                mobile: Some("01012345678".into()),
            }),
        })
        .await
        .unwrap();
    assert!(cancelled.cancelled_at.is_some());

    wait_until(
        Duration::from_secs(20),
        "paid and cancelled applied",
        || receiver.applied().len() >= 2,
    )
    .await;
    // Anything late (a repeat of the last change) would show up by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let states: Vec<_> = receiver
        .applied()
        .iter()
        .map(|webhook| {
            (
                webhook.current.paid_at.is_some(),
                webhook.current.cancelled_at.is_some(),
            )
        })
        .collect();
    assert_eq!(states[0], (true, false), "paid first: {states:?}");
    assert_eq!(states[1], (true, true), "then cancelled: {states:?}");
    assert!(
        states.iter().skip(1).all(|&(_, cancelled)| cancelled),
        "nothing older after the cancel: {states:?}"
    );
    assert!(
        receiver
            .applied()
            .last()
            .unwrap()
            .current
            .cancelled_at
            .is_some(),
        "the receiver ends on the newest state"
    );
}

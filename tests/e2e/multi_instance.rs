//! Two server instances in-process on one PostgreSQL database, as behind a load
//! balancer: the outbox is shared without a delivery sent twice, a worker killed
//! mid-delivery leaves its claim to run out and the other instance delivers, one
//! Idempotency-Key sent to both at once calls the PG once and gets one answer, one
//! history per source and per PG payment under creates on both, one winner among
//! coupon redemptions on both, and deposits whose webhooks never came reconciled by
//! both, each told once.
//!
//! The database is a fresh one on the test binary's throwaway cluster
//! ([`TestPostgres::shared`]); without PostgreSQL binaries these tests are skipped
//! loudly, and under `CI=true` they fail.

use crate::common::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use fake_iamport::FakeIamport;
use fake_toss::FakeToss;
use payments::client::{IdempotencyKey, PaymentsClient};
use payments::core::coupon::OwnerId;
use payments::core::money::{Currency, Money};
use payments::core::order::{Product, ProductId};
use payments::core::payment_method::{PaymentMethod, ReservationRef};
use payments::core::records::charges::{ChargeCreate, OrderInput, OrderLineInput, TransactionKind};
use payments::core::records::coupons::{
    CouponIssue, CouponRedeem, CouponRegister, CouponValueRecord,
};
use payments::core::records::{ErrorCode, ReservationCreate, Vendor, VendorCode};
use payments::server::{PaymentServerBuilder, ServerHandle};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use test_postgres::TestPostgres;

/// A fresh database on the shared cluster, or `None` (skipped) without PostgreSQL.
fn database(prefix: &str) -> Option<String> {
    let server = TestPostgres::shared_or_skip("the multi-instance tests")?;
    Some(server.create_database(prefix).unwrap())
}

/// The fakes and two instances on one database, started at once (so their
/// migrations race, and run once under the advisory lock).
struct TwoInstances {
    toss: FakeToss,
    iamport: FakeIamport,
    a: ServerHandle,
    b: ServerHandle,
}

impl TwoInstances {
    async fn start(database: &str) -> Self {
        let toss = FakeToss::start().await;
        let iamport = FakeIamport::start().await;
        let (a, b) = tokio::join!(
            server_builder(&toss, &iamport, database).start(),
            server_builder(&toss, &iamport, database).start()
        );
        Self {
            toss,
            iamport,
            a: a.unwrap(),
            b: b.unwrap(),
        }
    }

    /// A [`TestApp`] over instance `a` (for the PG helpers), its fakes moved in.
    async fn into_app(self, database: &str) -> (TestApp, ServerHandle) {
        let client = client_for(&self.a, Wire::SealedV2);
        let receiver = Receiver::start(envelope(Wire::SealedV2)).await;
        let events = EventSink::start().await;
        self.iamport
            .set_webhook_url(format!("{}/payments/webhooks/iamport", self.a.uri()));
        let app = TestApp {
            toss: self.toss,
            iamport: self.iamport,
            server: self.a,
            client,
            receiver,
            events,
            http: reqwest::Client::new(),
            database: database.to_owned(),
            _dir: None,
        };
        (app, self.b)
    }
}

/// A webhook receiver that notes every delivery's id and when it came, and can be
/// told to hold requests unanswered (a receiver that hangs while the worker is killed).
#[derive(Clone, Default)]
struct Watch {
    hang: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(String, Instant, bool)>>>,
}

async fn watch(State(watch): State<Watch>, headers: HeaderMap) -> StatusCode {
    let id = headers
        .get("x-payments-webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let hang = watch.hang.load(Ordering::SeqCst);
    watch.seen.lock().unwrap().push((id, Instant::now(), hang));
    if hang {
        std::future::pending::<()>().await;
    }
    StatusCode::OK
}

impl Watch {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/hooks", axum::routing::post(watch))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        url
    }

    fn seen(&self) -> Vec<(String, Instant, bool)> {
        self.seen.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize, within: Duration) -> Vec<(String, Instant, bool)> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.seen().len() >= count {
                return self.seen();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {count} deliveries, got {:?}", self.seen());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_outbox_and_deliver_each_webhook_once() {
    let Some(url) = database("multi_outbox") else {
        return;
    };
    let (app, b) = TwoInstances::start(&url).await.into_app(&url).await;
    let client_b = client_for(&b, Wire::SealedV2);
    const HISTORIES: i64 = 12;
    let mut uids = Vec::new();
    for n in 0..HISTORIES {
        let order = format!("multi-outbox-{n}");
        let uid = app.iamport_vbank(&order, 10_000 + n).await;
        let input = app.history_input(VendorCode::Iamport, &uid, &order, 10_000 + n);
        // Registered on either instance: one database.
        let client = if n % 2 == 0 { &app.client } else { &client_b };
        client.histories().create(&input).await.unwrap();
        uids.push(uid);
    }
    for uid in &uids {
        app.iamport.deposit(uid).await.unwrap();
    }
    let received = app.receiver.wait_for(HISTORIES as usize).await;
    // Both workers were awake (NOTIFY) and polling; give a double delivery time to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = if app.receiver.received().len() > received.len() {
        app.receiver.received()
    } else {
        received
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (id, _) in &received {
        *counts.entry(id.clone()).or_default() += 1;
    }
    assert_eq!(counts.len(), HISTORIES as usize, "{counts:?}");
    assert!(
        counts.values().all(|n| *n == 1),
        "a webhook was delivered twice: {counts:?}"
    );
    let store = b.store();
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    for id in counts.keys() {
        let state = store
            .delivery_state(id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((state.state.as_str(), state.attempts), ("delivered", 1));
    }
}

/// Starts an instance on a runtime of its own, so the test can kill it mid-delivery
/// the way a process dies: every task dropped where it stands, nothing recorded.
fn start_killable(builder: PaymentServerBuilder) -> (tokio::runtime::Runtime, ServerHandle) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(builder.start()).unwrap();
        (runtime, server)
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_delivery_leaves_its_claim_to_run_out_and_the_other_delivers() {
    let Some(url) = database("multi_killed") else {
        return;
    };
    const LEASE: Duration = Duration::from_millis(1_500);
    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    let watch = Watch::default();
    let hook_url = watch.start().await;
    watch.hang.store(true, Ordering::SeqCst);

    let builder = |toss: &FakeToss, iamport: &FakeIamport| {
        server_builder(toss, iamport, &url)
            .webhook_lease(LEASE)
            .webhook_timeout(Duration::from_millis(1_000))
    };
    let (runtime_a, a) = start_killable(builder(&toss, &iamport));
    iamport.set_webhook_url(format!("{}/payments/webhooks/iamport", a.uri()));
    let app = TestApp {
        client: client_for(&a, Wire::SealedV2),
        receiver: Receiver::start(envelope(Wire::SealedV2)).await,
        events: EventSink::start().await,
        http: reqwest::Client::new(),
        database: url.clone(),
        _dir: None,
        server: a,
        toss,
        iamport,
    };
    let uid = app.iamport_vbank("multi-killed", 30_000).await;
    let mut input = app.history_input(VendorCode::Iamport, &uid, "multi-killed", 30_000);
    input.webhook_url = Some(hook_url);
    app.client.histories().create(&input).await.unwrap();
    app.iamport.deposit(&uid).await.unwrap();

    // A's worker claimed the webhook and is mid-delivery (the receiver holds it).
    let first = watch.wait_for(1, Duration::from_secs(10)).await;
    let (webhook_id, claimed_at, _) = first[0].clone();
    // Killed: A's runtime goes with every task on it, its attempt never recorded.
    let TestApp {
        server: a,
        toss,
        iamport,
        ..
    } = app;
    runtime_a.shutdown_background();
    std::mem::forget(a);
    watch.hang.store(false, Ordering::SeqCst);

    // B starts afterwards, as a replacement would; it must wait out A's claim.
    let b = builder(&toss, &iamport).start().await.unwrap();
    let seen = watch.wait_for(2, Duration::from_secs(15)).await;
    let (second_id, delivered_at, hung) = seen[1].clone();
    assert_eq!(second_id, webhook_id, "the same webhook, retried");
    assert!(!hung);
    let waited = delivered_at - claimed_at;
    assert!(
        waited >= LEASE - Duration::from_millis(100),
        "B delivered after {waited:?}, before A's {LEASE:?} claim ran out"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(watch.seen().len(), 2, "delivered once more, not again");
    let state = b
        .store()
        .delivery_state(webhook_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    // A recorded nothing: B's attempt is the first on record.
    assert_eq!((state.state.as_str(), state.attempts), ("delivered", 1));
    b.shutdown().await;
}

fn cake_order(id: &str, price: i64) -> OrderInput {
    OrderInput {
        id: id.into(),
        lines: vec![OrderLineInput {
            product: Product {
                id: ProductId::new("cake"),
                name: "케이크".into(),
                price: Money::new(price, Currency::Krw).unwrap(),
                enabled: true,
            },
            quantity: 1,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_both_instances_at_once_calls_the_pg_once() {
    let Some(url) = database("multi_idem") else {
        return;
    };
    let (app, b) = TwoInstances::start(&url).await.into_app(&url).await;
    let client_b = client_for(&b, Wire::SealedV2);
    let billing_key = app.toss_billing_key("multi-idem-customer").await;
    let reservation = app
        .client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: STORE.into(),
                uid: billing_key.clone(),
            },
            source: source("multi-idem-customer"),
            title: "card".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .id;
    let input = ChargeCreate {
        source: source("multi-idem-order"),
        order: cake_order("multi-idem-order", 20_000),
        method: PaymentMethod::SavedCard {
            reservation: ReservationRef::Id(reservation),
            password: PASSWORD.into(),
        },
        password: PASSWORD.into(),
        webhook_url: None,
    };
    let key = IdempotencyKey::new("multi-idem-order/checkout").unwrap();
    let charge = |client: &PaymentsClient| {
        let (client, input, key) = (client.clone(), input.clone(), key.clone());
        async move { client.charges().create(&input, &key).await }
    };
    let (on_a, on_b) = tokio::join!(charge(&app.client), charge(&client_b));
    let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
    assert_eq!(on_a, on_b, "both instances answer the one charge");
    let pg_calls = app
        .toss
        .received_requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == format!("/v1/billing/{billing_key}"))
        .count();
    assert_eq!(pg_calls, 1, "the PG was charged once");
    // A retry on either instance later replays the same answer.
    assert_eq!(charge(&client_b).await.unwrap(), on_a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_on_both_instances_store_one_history_per_source_and_per_payment() {
    let Some(url) = database("multi_histories") else {
        return;
    };
    let (app, b) = TwoInstances::start(&url).await.into_app(&url).await;
    let clients = [app.client.clone(), client_for(&b, Wire::SealedV2)];
    let uid = app.toss_card("multi-source", 15_000, true).await;

    // The same history, sent to both instances at once, many times (the source's rule),
    // and the same PG payment under another source of the same order (the payment's).
    let same = app.history_input(VendorCode::TossPayments, &uid, "multi-source", 15_000);
    let mut same_payment = same.clone();
    same_payment.source.table = "orders_archive".into();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let client = clients[n % 2].clone();
        let input = if n % 3 == 2 { &same_payment } else { &same }.clone();
        tasks.spawn(async move { client.histories().create(&input).await });
    }
    let mut created = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        match answer.unwrap() {
            Ok(history) => created.push(history),
            Err(error) => assert_eq!(
                (error.status().map(|s| s.as_u16()), error.code()),
                (Some(409), Some(ErrorCode::Duplicate)),
                "{error}"
            ),
        }
    }
    assert_eq!(created.len(), 1, "one history for the one payment");
    let store = b.store();
    let by_uid = store
        .history_by_vendor_uid(VendorCode::TossPayments, &uid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_uid.id, created[0].id);
    let other_source = if created[0].source.table == "orders" {
        &same_payment.source
    } else {
        &same.source
    };
    assert!(
        store
            .history_by_source(other_source)
            .await
            .unwrap()
            .is_none(),
        "the losing source holds nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coupon_redemptions_on_both_instances_have_one_winner() {
    let Some(url) = database("multi_coupons") else {
        return;
    };
    let (app, b) = TwoInstances::start(&url).await.into_app(&url).await;
    let clients = [app.client.clone(), client_for(&b, Wire::SealedV2)];
    let krw = |amount| Money::new(amount, Currency::Krw).unwrap();
    let issued = clients[0]
        .coupons()
        .issue(&CouponIssue {
            value: CouponValueRecord::Amount { amount: krw(1_000) },
            expires_at: chrono::Utc::now() + chrono::Duration::days(1),
            count: Some(1),
        })
        .await
        .unwrap();
    let code = issued.coupons[0].code.clone();
    let owner = OwnerId::new("multi-member");
    clients[1]
        .coupons()
        .register(&CouponRegister {
            code: code.clone(),
            owner: owner.clone(),
        })
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let client = clients[n % 2].clone();
        let input = CouponRedeem {
            code: code.clone(),
            owner: owner.clone(),
            order: cake_order(&format!("multi-coupon-{n}"), 6_000),
            password: PASSWORD.into(),
        };
        tasks.spawn(async move { client.coupons().redeem(&input).await });
    }
    let mut winners = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        match answer.unwrap() {
            Ok(redemption) => winners.push(redemption),
            Err(error) => assert_eq!(error.code_str(), Some("COUPON_SPENT"), "{error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption wins");
    let store = b.store();
    let mut stored = 0;
    for n in 0..12 {
        stored += store
            .transactions_by_order(TransactionKind::Coupon, &format!("multi-coupon-{n}"))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(stored, 1, "one transaction, the winner's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_reconcile_deposits_whose_webhooks_never_came_and_tell_each_once() {
    let Some(url) = database("multi_reconcile") else {
        return;
    };
    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    let reconciling = |toss: &FakeToss, iamport: &FakeIamport| {
        server_builder(toss, iamport, &url)
            .reconcile_interval(Duration::from_millis(100))
            .reconcile_max_backoff(Duration::from_millis(200))
            .reconcile_max_per_round(4)
    };
    let (a, b) = tokio::join!(
        reconciling(&toss, &iamport).start(),
        reconciling(&toss, &iamport).start()
    );
    let (app, b) = TwoInstances {
        toss,
        iamport,
        a: a.unwrap(),
        b: b.unwrap(),
    }
    .into_app(&url)
    .await;
    // The PG's webhooks go nowhere: only reconciliation can tell the deposits.
    app.iamport.clear_webhook_url();
    const HISTORIES: i64 = 12;
    let mut uids = Vec::new();
    for n in 0..HISTORIES {
        let order = format!("multi-reconcile-{n}");
        let uid = app.iamport_vbank(&order, 10_000 + n).await;
        let input = app.history_input(VendorCode::Iamport, &uid, &order, 10_000 + n);
        app.client.histories().create(&input).await.unwrap();
        uids.push(uid);
    }
    for uid in &uids {
        app.iamport.deposit(uid).await.unwrap();
    }
    for _ in 0..600 {
        if app.receiver.received().len() >= HISTORIES as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both instances keep reconciling meanwhile: time for a double to show.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let received = app.receiver.received();
    let mut per_order: HashMap<String, usize> = HashMap::new();
    for (_, webhook) in &received {
        assert!(webhook.current.paid_at.is_some());
        *per_order.entry(webhook.source.id.clone()).or_default() += 1;
    }
    assert_eq!(per_order.len(), HISTORIES as usize, "{per_order:?}");
    assert!(
        per_order.values().all(|n| *n == 1),
        "a deposit was told twice: {per_order:?}"
    );
    assert_eq!(b.store().checks_pending().await.unwrap(), 0);
}

//! Many requests for one order at once, each under its own `Idempotency-Key` (a
//! double-clicking kiosk, two tabs, a retrying proxy): the order is charged and recorded
//! once, every other request is told `409 DUPLICATE`, and nothing that was recorded is
//! ever refunded.

use crate::common::*;
use payments::client::IdempotencyKey;
use payments::core::money::{Currency, Money};
use payments::core::order::{Product, ProductId};
use payments::core::payment_method::{PaymentMethod, ReservationRef};
use payments::core::records::charges::{Charge, ChargeCreate, OrderInput, OrderLineInput};
use payments::core::records::{ErrorCode, ReservationCreate, Vendor, VendorCode};
use payments::core::transaction::TransactionStatus;

/// How many requests race for the order.
const RACERS: usize = 20;
const PRICE: i64 = 20_000;

fn order(id: &str) -> OrderInput {
    OrderInput {
        id: id.into(),
        lines: vec![OrderLineInput {
            product: Product {
                id: ProductId::new("cake"),
                name: "케이크".into(),
                price: Money::new(PRICE, Currency::Krw).unwrap(),
                enabled: true,
            },
            quantity: 1,
        }],
    }
}

async fn reservation(app: &TestApp, code: VendorCode, uid: String, customer: &str) -> uuid::Uuid {
    app.client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code,
                store_id: STORE.into(),
                uid,
            },
            source: source(customer),
            title: "card".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .id
}

/// Fires `RACERS` charges for `order_id`, each with its own key, and checks the answers:
/// one approved charge, every other a `409 DUPLICATE`. Returns the approved charge.
async fn race(app: &TestApp, reservation: uuid::Uuid, order_id: &str) -> Charge {
    let input = ChargeCreate {
        source: source(order_id),
        order: order(order_id),
        method: PaymentMethod::SavedCard {
            reservation: ReservationRef::Id(reservation),
            password: PASSWORD.into(),
        },
        password: PASSWORD.into(),
        webhook_url: None,
    };
    let calls: Vec<_> = (0..RACERS)
        .map(|n| {
            let client = app.client.clone();
            let input = input.clone();
            let key = IdempotencyKey::new(format!("{order_id}/tab-{n}")).unwrap();
            tokio::spawn(async move { client.charges().create(&input, &key).await })
        })
        .collect();
    let mut approved = Vec::new();
    let mut refused = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(charge) => approved.push(charge),
            Err(error) => refused.push(error),
        }
    }
    for error in &refused {
        assert_eq!(
            (error.status().map(|s| s.as_u16()), error.code()),
            (Some(409), Some(ErrorCode::Duplicate)),
            "a losing charge must be a clear 409 DUPLICATE: {error}"
        );
    }
    assert_eq!(
        approved.len(),
        1,
        "exactly one charge is approved; refusals: {:?}",
        refused.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    let charge = approved.pop().unwrap();
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    assert_eq!(charge.history.price, PRICE);
    assert_eq!(charge.history.refund, None);
    assert!(charge.history.cancels.is_empty());
    charge
}

/// The order's charge transactions by status, read from the server's database.
fn charge_statuses(app: &TestApp, order_id: &str) -> Vec<String> {
    let db = rusqlite::Connection::open_with_flags(
        &app.database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut statement = db
        .prepare("SELECT status FROM transactions WHERE kind = 'charge' AND order_id = ?1")
        .unwrap();
    statement
        .query_map([order_id], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn assert_no_pending(app: &TestApp, order_id: &str) {
    let statuses = charge_statuses(app, order_id);
    assert_eq!(
        statuses.iter().filter(|s| *s == "approved").count(),
        1,
        "{statuses:?}"
    );
    assert!(
        !statuses.iter().any(|s| s == "pending"),
        "no loser leaves a pending transaction: {statuses:?}"
    );
}

#[tokio::test]
async fn concurrent_toss_charges_for_one_order_charge_once_and_never_refund_the_winner() {
    let app = spawn_app().await;
    let billing_key = app.toss_billing_key("race-customer").await;
    let reservation =
        reservation(&app, VendorCode::TossPayments, billing_key, "race-customer").await;
    let order_id = "race-order-toss-1";
    let charge = race(&app, reservation, order_id).await;

    let payment = app.toss.payment(&charge.history.vendor.uid).unwrap();
    assert_eq!(payment["status"], "DONE", "{payment}");
    assert_eq!(payment["balanceAmount"], PRICE, "{payment}");
    let cancels = app
        .toss
        .received_requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/cancel"))
        .count();
    assert_eq!(cancels, 0, "the server refunded nothing");
    assert_no_pending(&app, order_id);
}

#[tokio::test]
async fn concurrent_portone_charges_for_one_order_charge_once_and_never_refund_the_winner() {
    let app = spawn_app().await;
    app.iamport_save_card("race-imp-customer").await;
    let reservation = reservation(
        &app,
        VendorCode::Iamport,
        "race-imp-customer".into(),
        "race-imp-customer",
    )
    .await;
    let order_id = "race-order-imp-1";
    let charge = race(&app, reservation, order_id).await;

    let payment = app.iamport.payment(&charge.history.vendor.uid).unwrap();
    assert_eq!(payment["status"], "paid", "{payment}");
    assert_eq!(payment["amount"], PRICE, "{payment}");
    assert_eq!(payment["cancel_amount"], 0, "{payment}");
    let cancels = app
        .iamport
        .received_requests()
        .into_iter()
        .filter(|r| r.path == "/payments/cancel")
        .count();
    assert_eq!(cancels, 0, "the server refunded nothing");
    assert_no_pending(&app, order_id);
}

fn charge_input(reservation: uuid::Uuid, order_id: &str) -> ChargeCreate {
    ChargeCreate {
        source: source(order_id),
        order: order(order_id),
        method: PaymentMethod::SavedCard {
            reservation: ReservationRef::Id(reservation),
            password: PASSWORD.into(),
        },
        password: PASSWORD.into(),
        webhook_url: None,
    }
}

/// Billing charges (not authorizations) fake-toss has received.
fn toss_charges_received(app: &TestApp) -> usize {
    app.toss
        .received_requests()
        .iter()
        .filter(|r| {
            r.method == "POST"
                && r.path.starts_with("/v1/billing/")
                && !r.path.contains("authorizations")
        })
        .count()
}

async fn until_toss_receives_a_charge(app: &TestApp) {
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while toss_charges_received(app) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the first charge reached fake-toss");
}

/// A second tab's charge that arrives while the first one waits for the PG must not
/// resume the first one's pending transaction: that would send the PG a second charge
/// (or at least a lookup) beside the first. It is a duplicate, and the PG hears nothing.
#[tokio::test]
async fn a_charge_for_an_order_another_request_is_charging_is_a_duplicate_the_pg_never_hears() {
    let app = spawn_app().await;
    let billing_key = app.toss_billing_key("slow-customer").await;
    let reservation =
        reservation(&app, VendorCode::TossPayments, billing_key, "slow-customer").await;
    let order_id = "slow-order-1";
    app.toss
        .set_latency(std::time::Duration::from_millis(1_500));
    let first = {
        let (client, input) = (app.client.clone(), charge_input(reservation, order_id));
        let key = IdempotencyKey::new("slow-order-1/tab-1").unwrap();
        tokio::spawn(async move { client.charges().create(&input, &key).await })
    };
    until_toss_receives_a_charge(&app).await;
    let heard_before = app.toss.received_requests().len();
    let second = app
        .client
        .charges()
        .create(
            &charge_input(reservation, order_id),
            &IdempotencyKey::new("slow-order-1/tab-2").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (second.status().map(|s| s.as_u16()), second.code()),
        (Some(409), Some(ErrorCode::Duplicate)),
        "{second}"
    );
    assert_eq!(
        app.toss.received_requests().len(),
        heard_before,
        "the duplicate sent nothing to the PG"
    );
    let charge = first.await.unwrap().unwrap();
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    assert_eq!(toss_charges_received(&app), 1);
    assert_no_pending(&app, order_id);
}

/// A server that dies mid-charge leaves its transaction pending under a lease; once the
/// lease lapses, a charge for the order on another instance asks the PG and charges once.
#[tokio::test]
async fn a_charge_a_dead_server_left_pending_is_resumed_once_its_lease_lapses() {
    use payments::core::clock::FixedClock;
    let app = spawn_app().await;
    let billing_key = app.toss_billing_key("dead-customer").await;
    let reservation =
        reservation(&app, VendorCode::TossPayments, billing_key, "dead-customer").await;
    let order_id = "dead-order-1";
    // The first charge hangs at the PG (never processed) until its server is gone.
    app.toss.hang_next(1);
    let first = {
        let (client, input) = (app.client.clone(), charge_input(reservation, order_id));
        let key = IdempotencyKey::new("dead-order-1/first").unwrap();
        tokio::spawn(async move { client.charges().create(&input, &key).await })
    };
    until_toss_receives_a_charge(&app).await;
    first.abort();
    // While the lease runs, nobody else may ask the PG about the order.
    let early = app
        .client
        .charges()
        .create(
            &charge_input(reservation, order_id),
            &IdempotencyKey::new("dead-order-1/early").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(early.code(), Some(ErrorCode::Duplicate), "{early}");

    // Another instance on the same database, past the lease (10 s of PG calls + 10 s).
    let later = std::sync::Arc::new(FixedClock::new(
        chrono::Utc::now() + chrono::Duration::seconds(60),
    ));
    let other = server_builder(&app.toss, &app.iamport, &app.database)
        .clock(later)
        .start()
        .await
        .unwrap();
    let charge = client_for(&other, Wire::SealedV2)
        .charges()
        .create(
            &charge_input(reservation, order_id),
            &IdempotencyKey::new("dead-order-1/later").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    let payment = app.toss.payment_by_order(order_id).unwrap();
    assert_eq!(
        (
            payment["status"].as_str(),
            payment["balanceAmount"].as_i64()
        ),
        (Some("DONE"), Some(PRICE))
    );
    assert_eq!(
        toss_charges_received(&app),
        2,
        "the hung charge (never processed) and the one that charged"
    );
    assert_no_pending(&app, order_id);
}

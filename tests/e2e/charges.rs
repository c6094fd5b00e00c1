use crate::common::*;
use payments::client::IdempotencyKey;
use payments::core::money::{Currency, Money};
use payments::core::order::{Product, ProductId};
use payments::core::payment_method::{PaymentMethod, ReservationRef};
use payments::core::records::charges::{
    ChargeCreate, OrderInput, OrderLineInput, TransactionAccess, TransactionKind,
};
use payments::core::records::{ReservationCreate, Vendor, VendorCode};
use payments::core::transaction::{TransactionEvent, TransactionStatus};
use std::time::Duration;

fn product(id: &str, name: &str, price: i64, enabled: bool) -> Product {
    Product {
        id: ProductId::new(id),
        name: name.into(),
        price: Money::new(price, Currency::Krw).unwrap(),
        enabled,
    }
}

fn basket(order: &str, lines: Vec<(Product, i64)>) -> OrderInput {
    OrderInput {
        id: order.into(),
        lines: lines
            .into_iter()
            .map(|(product, quantity)| OrderLineInput { product, quantity })
            .collect(),
    }
}

async fn toss_reservation(app: &TestApp, customer: &str) -> uuid::Uuid {
    let billing_key = app.toss_billing_key(customer).await;
    app.client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: STORE.into(),
                uid: billing_key,
            },
            source: source(customer),
            title: "card".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .id
}

/// How many billing charges (not authorizations) fake-toss received.
fn billing_charges_sent(app: &TestApp) -> usize {
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

fn charge_input(reservation: uuid::Uuid, order: OrderInput, source_id: &str) -> ChargeCreate {
    ChargeCreate {
        source: source(source_id),
        order,
        method: PaymentMethod::SavedCard {
            reservation: ReservationRef::Id(reservation),
            password: PASSWORD.into(),
        },
        password: PASSWORD.into(),
        webhook_url: None,
    }
}

#[tokio::test]
async fn a_saved_toss_card_is_charged_recorded_and_reported() {
    let app = spawn_app().await;
    let reservation = toss_reservation(&app, "kiosk-customer-1").await;
    let order = basket(
        "kiosk-order-0001",
        vec![
            (product("milk", "우유", 1_500, true), 2),
            (product("bread", "빵", 2_000, true), 1),
        ],
    );
    let charge = app
        .client
        .charges()
        .create(
            &charge_input(reservation, order, "kiosk-order-0001"),
            &IdempotencyKey::random(),
        )
        .await
        .unwrap();
    let transaction = &charge.transaction.transaction;
    assert_eq!(transaction.status(), TransactionStatus::Approved);
    assert_eq!(transaction.total().amount(), 5_000);
    assert_eq!(charge.transaction.kind, TransactionKind::Charge);
    assert_eq!(
        charge.transaction.status_message,
        transaction.status_message()
    );
    assert_eq!(charge.transaction.history_id, Some(charge.history.id));
    assert_eq!(charge.transaction.order.as_ref().unwrap().lines().len(), 2);
    assert_eq!(charge.history.price, 5_000);
    assert_eq!(charge.history.data["type"], "BILLING");
    let key = charge.history.vendor.uid.clone();
    assert_eq!(app.toss.payment(&key).unwrap()["status"], "DONE");

    let read = app
        .client
        .transactions()
        .at(
            transaction.id(),
            &TransactionAccess {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(read, charge.transaction);
    let wrong = app
        .client
        .transactions()
        .at(
            transaction.id(),
            &TransactionAccess {
                password: "nope".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(wrong.is_wrong_password());

    let events = app.events.wait_for(1).await;
    assert!(
        matches!(events[0].event, TransactionEvent::Approved { transaction_id, .. } if transaction_id == transaction.id())
    );
}

#[tokio::test]
async fn a_saved_portone_card_is_charged_with_again() {
    let app = spawn_app().await;
    app.iamport_save_card("imp-kiosk-customer").await;
    let reservation = app
        .client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::Iamport,
                store_id: STORE.into(),
                uid: "imp-kiosk-customer".into(),
            },
            source: source("imp-kiosk-customer"),
            title: "card".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    let order = basket(
        "imp-kiosk-order-1",
        vec![(product("juice", "주스", 2_500, true), 2)],
    );
    let charge = app
        .client
        .charges()
        .create(
            &charge_input(reservation.id, order, "imp-kiosk-order-1"),
            &IdempotencyKey::random(),
        )
        .await
        .unwrap();
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    assert_eq!(charge.history.data["status"], "paid");
    assert_eq!(charge.history.data["customer_uid"], "imp-kiosk-customer");
}

#[tokio::test]
async fn a_decline_is_402_with_the_pg_reason_and_a_failed_transaction() {
    let app = spawn_app().await;
    let reservation = toss_reservation(&app, "declined-customer").await;
    app.toss.decline_card(
        "4330123412341234",
        403,
        "REJECT_CARD_COMPANY",
        "결제 승인이 거절되었습니다.",
    );
    let order = basket(
        "declined-order-1",
        vec![(product("milk", "우유", 1_500, true), 1)],
    );
    let error = app
        .client
        .charges()
        .create(
            &charge_input(reservation, order, "declined-order-1"),
            &IdempotencyKey::random(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(402));
    assert!(error.is_declined());
    assert!(
        error.message().unwrap().contains("REJECT_CARD_COMPANY"),
        "{error}"
    );
    let events = app.events.wait_for(1).await;
    let TransactionEvent::Failed {
        transaction_id,
        reason,
        ..
    } = &events[0].event
    else {
        panic!("expected a failed event, got {:?}", events[0].event);
    };
    assert_eq!(reason.code, "REJECT_CARD_COMPANY");
    let failed = app
        .client
        .transactions()
        .at(
            *transaction_id,
            &TransactionAccess {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.transaction.status(), TransactionStatus::Failed);
    assert!(
        failed.status_message.contains("결제 승인이 거절되었습니다"),
        "{}",
        failed.status_message
    );
}

#[tokio::test]
async fn fifty_identical_concurrent_charges_charge_once_and_agree() {
    let app = spawn_app().await;
    let reservation = toss_reservation(&app, "busy-customer").await;
    let input = charge_input(
        reservation,
        basket(
            "busy-order-1",
            vec![(product("milk", "우유", 1_500, true), 1)],
        ),
        "busy-order-1",
    );
    let key = IdempotencyKey::new("busy-order-1/pay").unwrap();
    let calls = (0..50).map(|_| {
        let client = app.client.clone();
        let (input, key) = (input.clone(), key.clone());
        tokio::spawn(async move { client.charges().create(&input, &key).await })
    });
    let results = futures_join_all(calls).await;
    let first = results[0].as_ref().unwrap().clone();
    for result in &results {
        assert_eq!(result.as_ref().unwrap(), &first);
    }
    let charges_sent = billing_charges_sent(&app);
    assert_eq!(charges_sent, 1, "the card was charged once");
}

async fn futures_join_all<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn empty_baskets_and_disabled_products_are_refused() {
    let app = spawn_app().await;
    let reservation = toss_reservation(&app, "picky-customer").await;
    let empty = app
        .client
        .charges()
        .create(
            &charge_input(
                reservation,
                basket("empty-order-1", vec![]),
                "empty-order-1",
            ),
            &IdempotencyKey::random(),
        )
        .await
        .unwrap_err();
    assert_eq!(empty.code_str(), Some("INVALID_ORDER"));
    let disabled = app
        .client
        .charges()
        .create(
            &charge_input(
                reservation,
                basket(
                    "disabled-order-1",
                    vec![(product("gum", "껌", 500, false), 1)],
                ),
                "disabled-order-1",
            ),
            &IdempotencyKey::random(),
        )
        .await
        .unwrap_err();
    assert_eq!(disabled.status().map(|s| s.as_u16()), Some(422));
    assert!(disabled.message().unwrap().contains("gum"), "{disabled}");
    assert_eq!(
        billing_charges_sent(&app),
        0,
        "refused orders never reach the PG"
    );
}

#[tokio::test]
async fn a_lost_answer_is_resolved_by_asking_the_pg_not_by_charging_again() {
    let mut app = spawn_app().await;
    // A server whose PG calls give up quickly, on the same fakes and database.
    let quick = server_builder(&app.toss, &app.iamport, ":memory:")
        .vendor_timeout(Duration::from_millis(700))
        .start()
        .await
        .unwrap();
    app.client = client_for(&quick, Wire::SealedV2);
    let reservation = toss_reservation(&app, "lost-customer").await;
    app.toss.lose_response_next(1);
    let charge = app
        .client
        .charges()
        .create(
            &charge_input(
                reservation,
                basket(
                    "lost-order-1",
                    vec![(product("milk", "우유", 1_500, true), 1)],
                ),
                "lost-order-1",
            ),
            &IdempotencyKey::random(),
        )
        .await
        .unwrap();
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    let charges_sent = billing_charges_sent(&app);
    assert_eq!(charges_sent, 1);
}

#[tokio::test]
async fn a_recorded_virtual_account_has_a_transaction_that_follows_the_deposit() {
    let app = spawn_app().await;
    let uid = app.iamport_vbank("vbank-tx-1", 30_000).await;
    let history = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "vbank-tx-1", 30_000))
        .await
        .unwrap();
    app.iamport.deposit(&uid).await.unwrap();
    let events = app.events.wait_for(1).await;
    let TransactionEvent::Approved {
        transaction_id,
        amount,
        ..
    } = &events[0].event
    else {
        panic!("expected approval, got {:?}", events[0].event);
    };
    assert_eq!(amount.amount(), 30_000);
    assert_eq!(events[0].transaction.history_id, Some(history.id));
    assert_eq!(events[0].transaction.kind, TransactionKind::Payment);
    let read = app
        .client
        .transactions()
        .at(
            *transaction_id,
            &TransactionAccess {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(read.transaction.status(), TransactionStatus::Approved);
}

#[tokio::test]
async fn a_charge_left_pending_is_resumed_by_asking_the_pg_even_under_a_new_key() {
    let mut app = spawn_app().await;
    let quick = server_builder(&app.toss, &app.iamport, ":memory:")
        .vendor_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    app.client = client_for(&quick, Wire::SealedV2);
    let reservation = toss_reservation(&app, "pending-customer").await;
    let input = charge_input(
        reservation,
        basket(
            "pending-order-1",
            vec![(product("milk", "우유", 1_500, true), 1)],
        ),
        "pending-order-1",
    );
    // The charge goes through at Toss but neither its answer nor the order lookup that
    // follows comes back: the outcome is unknown and the transaction stays pending.
    app.toss.lose_response_next(2);
    let unknown = app
        .client
        .charges()
        .create(&input, &IdempotencyKey::new("first-try").unwrap())
        .await
        .unwrap_err();
    assert!(unknown.is_outcome_unknown(), "{unknown}");
    // A retry under another key asks Toss about the order instead of charging again.
    let charge = app
        .client
        .charges()
        .create(&input, &IdempotencyKey::new("second-try").unwrap())
        .await
        .unwrap();
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    let charges_sent = billing_charges_sent(&app);
    assert_eq!(charges_sent, 1, "the card was charged once");
}

#[tokio::test]
async fn a_charge_whose_answer_was_lost_and_never_retried_is_recorded_by_reconciliation() {
    let mut app = spawn_app().await;
    let quick = server_builder(&app.toss, &app.iamport, ":memory:")
        .vendor_timeout(Duration::from_millis(500))
        .reconcile_interval(Duration::from_millis(200))
        .reconcile_max_backoff(Duration::from_millis(400))
        .event_url(app.events.url.clone())
        .start()
        .await
        .unwrap();
    app.client = client_for(&quick, Wire::SealedV2);
    let reservation = toss_reservation(&app, "abandoned-customer").await;
    // The charge goes through at Toss, but neither its answer nor the order lookup after
    // it comes back, and the caller never retries.
    app.toss.lose_response_next(2);
    let unknown = app
        .client
        .charges()
        .create(
            &charge_input(
                reservation,
                basket(
                    "abandoned-order-1",
                    vec![(product("milk", "우유", 1_500, true), 2)],
                ),
                "abandoned-order-1",
            ),
            &IdempotencyKey::random(),
        )
        .await
        .unwrap_err();
    assert!(unknown.is_outcome_unknown(), "{unknown}");
    // The server asks Toss about the order on its own and records what Toss made.
    let mut recorded = None;
    for _ in 0..300 {
        if let Ok(history) = app
            .client
            .histories()
            .get(&accessor("abandoned-order-1"))
            .await
        {
            recorded = Some(history);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = recorded.expect("the charge Toss made is recorded");
    assert!(history.paid_at.is_some());
    assert_eq!(history.price, 3_000);
    let approved = app.events.wait_for(1).await;
    assert!(
        matches!(approved[0].event, TransactionEvent::Approved { .. }),
        "{:?}",
        approved[0].event
    );
    assert_eq!(approved[0].transaction.kind, TransactionKind::Charge);
    assert_eq!(approved[0].transaction.history_id, Some(history.id));
    assert_eq!(billing_charges_sent(&app), 1, "asked, never charged again");
}

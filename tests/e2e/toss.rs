use crate::common::*;
use payments::core::records::{
    CancelCreate, Password, RefundAccount, ReservationCreate, Vendor, VendorCode,
};
use payments::core::vendor::toss::TossPayment;

#[tokio::test]
async fn card_payment_is_verified_recorded_and_read_back() {
    let app = spawn_app().await;
    let key = app.toss_card("toss-card-1", 15_000, true).await;
    let created = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "toss-card-1", 15_000))
        .await
        .unwrap();
    assert_eq!(created.price, 15_000);
    assert_eq!(created.currency, "KRW");
    assert!(created.paid_at.is_some());
    assert_eq!(created.data["paymentKey"], key.as_str());
    let typed: TossPayment = serde_json::from_value(created.data.clone()).unwrap();
    assert_eq!(typed.status, "DONE");

    let by_source = app
        .client
        .histories()
        .get(&accessor("toss-card-1"))
        .await
        .unwrap();
    assert_eq!(by_source, created);
    let by_id = app
        .client
        .histories()
        .at(
            created.id,
            &Password {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(by_id, created);
}

#[tokio::test]
async fn widget_payment_is_confirmed_by_the_server() {
    let app = spawn_app().await;
    let key = app.toss_card("toss-widget-1", 9_900, false).await;
    assert_eq!(app.toss.payment(&key).unwrap()["status"], "IN_PROGRESS");
    let created = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "toss-widget-1", 9_900))
        .await
        .unwrap();
    assert_eq!(created.data["status"], "DONE");
    assert_eq!(app.toss.payment(&key).unwrap()["status"], "DONE");
}

#[tokio::test]
async fn card_cancel_and_partial_cancels() {
    let app = spawn_app().await;
    let key = app.toss_card("toss-cancel-1", 10_000, true).await;
    app.client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "toss-cancel-1", 10_000))
        .await
        .unwrap();
    let cancel = |price: i64| CancelCreate {
        source: source("toss-cancel-1"),
        password: PASSWORD.into(),
        price,
        reason: format!("cancel {price}"),
        account: None,
    };
    let first = app.client.histories().cancel(&cancel(3_000)).await.unwrap();
    assert_eq!(first.refund, Some(3_000));
    assert_eq!(first.cancels.len(), 1);
    assert_eq!(first.data["status"], "PARTIAL_CANCELED");
    let second = app.client.histories().cancel(&cancel(2_000)).await.unwrap();
    assert_eq!(second.refund, Some(5_000));
    assert_eq!(second.cancels.len(), 2);
    let over = app
        .client
        .histories()
        .cancel(&cancel(6_000))
        .await
        .unwrap_err();
    assert_eq!(over.status().map(|s| s.as_u16()), Some(422));
    let last = app.client.histories().cancel(&cancel(5_000)).await.unwrap();
    assert_eq!(last.refund, Some(10_000));
    assert_eq!(last.data["status"], "CANCELED");
    assert!(last.cancelled_at.is_some());
    assert_eq!(app.toss.payment(&key).unwrap()["balanceAmount"], 0);
    // Each cancel changed the history, so each reached the caller's webhook URL.
    let received = app.receiver.wait_for(3).await;
    assert_eq!(received.last().unwrap().1.current.refund, Some(10_000));
}

#[tokio::test]
async fn virtual_account_deposit_webhook_reaches_the_caller_then_cancels_with_refund_account() {
    let app = spawn_app().await;
    let key = app.toss_virtual_account("toss-vbank-1", 30_000).await;
    let created = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "toss-vbank-1", 30_000))
        .await
        .unwrap();
    assert_eq!(created.paid_at, None);
    app.toss.deposit(&key).await.unwrap();
    let received = app.receiver.wait_for(1).await;
    let (_, webhook) = &received[0];
    assert_eq!(webhook.source.id, "toss-vbank-1");
    assert_eq!(webhook.previous.paid_at, None);
    assert!(webhook.current.paid_at.is_some());
    assert_eq!(webhook.current.data["status"], "DONE");
    let read = app
        .client
        .histories()
        .get(&accessor("toss-vbank-1"))
        .await
        .unwrap();
    assert!(read.paid_at.is_some());

    let account = RefundAccount {
        bank: "신한".into(),
        account: "12345678901".into(),
        holder: "김토스".into(),
        mobile: None,
    };
    let partial = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("toss-vbank-1"),
            password: PASSWORD.into(),
            price: 10_000,
            reason: "partial refund".into(),
            account: Some(account.clone()),
        })
        .await
        .unwrap();
    assert_eq!(partial.refund, Some(10_000));
    let rest = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("toss-vbank-1"),
            password: PASSWORD.into(),
            price: 20_000,
            reason: "refund the rest".into(),
            account: Some(account),
        })
        .await
        .unwrap();
    assert_eq!(rest.data["status"], "CANCELED");
    // The refund account was used for the PG call and is stored nowhere we return.
    assert!(
        !serde_json::to_string(&rest)
            .unwrap()
            .contains("12345678901")
    );
}

#[tokio::test]
async fn saved_card_reservation_and_subscription_payment() {
    let app = spawn_app().await;
    let billing_key = app.toss_billing_key("toss-customer-1").await;
    let reservation = app
        .client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: STORE.into(),
                uid: billing_key.clone(),
            },
            source: source("toss-customer-1"),
            title: "my card".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert_eq!(reservation.data["billingKey"], billing_key.as_str());
    let read = app
        .client
        .reservations()
        .at(
            reservation.id,
            &Password {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(read, reservation);

    let key = app
        .toss_billing_charge(&billing_key, "toss-customer-1", "toss-sub-1", 4_900)
        .await;
    let history = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "toss-sub-1", 4_900))
        .await
        .unwrap();
    assert_eq!(history.data["type"], "BILLING");
}

#[tokio::test]
async fn a_double_click_without_a_key_records_once_and_calls_the_other_a_duplicate() {
    let app = spawn_app().await;
    let key = app.toss_card("toss-double-click", 12_000, false).await;
    let input = app.history_input(VendorCode::TossPayments, &key, "toss-double-click", 12_000);
    let histories = app.client.histories();
    let (first, second) = tokio::join!(histories.create(&input), histories.create(&input));
    let (won, lost) = match (first, second) {
        (Ok(history), Err(error)) | (Err(error), Ok(history)) => (history, error),
        other => panic!("expected one success and one refusal, got {other:?}"),
    };
    assert_eq!(won.data["status"], "DONE");
    assert_eq!(lost.code_str(), Some("DUPLICATE"), "{lost}");
}

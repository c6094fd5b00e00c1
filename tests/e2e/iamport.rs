use crate::common::*;
use payments::core::records::{
    CancelCreate, Password, RefundAccount, ReservationCreate, Vendor, VendorCode,
};
use payments::core::vendor::iamport::IamportPayment;

#[tokio::test]
async fn card_payment_is_verified_recorded_and_read_back_over_compat() {
    let app = spawn_app_with(Wire::Compat).await;
    let uid = app.iamport_card("imp-card-1", 12_000).await;
    let created = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "imp-card-1", 12_000))
        .await
        .unwrap();
    let typed: IamportPayment = serde_json::from_value(created.data.clone()).unwrap();
    assert_eq!(typed.status, "paid");
    assert_eq!(typed.imp_uid, uid);
    let read = app
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
    assert_eq!(read, created);
}

#[tokio::test]
async fn card_cancel_and_partial_cancels() {
    let app = spawn_app().await;
    let uid = app.iamport_card("imp-cancel-1", 10_000).await;
    app.client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "imp-cancel-1", 10_000))
        .await
        .unwrap();
    let cancel = |price: i64| CancelCreate {
        source: source("imp-cancel-1"),
        password: PASSWORD.into(),
        price,
        reason: "customer asked".into(),
        account: None,
    };
    let first = app.client.histories().cancel(&cancel(4_000)).await.unwrap();
    assert_eq!(first.data["status"], "paid");
    assert_eq!(first.data["cancel_amount"], 4_000);
    assert_eq!(first.refund, Some(4_000));
    let second = app.client.histories().cancel(&cancel(6_000)).await.unwrap();
    assert_eq!(second.data["status"], "cancelled");
    assert_eq!(second.cancels.len(), 2);
    let over = app.client.histories().cancel(&cancel(1)).await.unwrap_err();
    assert_eq!(over.status().map(|s| s.as_u16()), Some(422));
}

#[tokio::test]
async fn virtual_account_deposit_webhook_then_partial_cancels() {
    let app = spawn_app().await;
    let uid = app.iamport_vbank("imp-vbank-1", 50_000).await;
    let created = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "imp-vbank-1", 50_000))
        .await
        .unwrap();
    assert_eq!(created.paid_at, None);
    app.iamport.deposit(&uid).await.unwrap();
    let received = app.receiver.wait_for(1).await;
    assert_eq!(received[0].1.current.data["status"], "paid");
    assert!(received[0].1.current.paid_at.is_some());

    // A deposited virtual account needs the refund account.
    let without_account = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("imp-vbank-1"),
            password: PASSWORD.into(),
            price: 10_000,
            reason: "refund".into(),
            account: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        without_account.status().map(|s| s.as_u16()),
        Some(422),
        "{without_account}"
    );
    let account = RefundAccount {
        bank: "088".into(),
        account: "110123456789".into(),
        holder: "홍길동".into(),
        mobile: Some("01012345678".into()),
    };
    let partial = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("imp-vbank-1"),
            password: PASSWORD.into(),
            price: 10_000,
            reason: "refund".into(),
            account: Some(account.clone()),
        })
        .await
        .unwrap();
    assert_eq!(partial.refund, Some(10_000));
    let rest = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("imp-vbank-1"),
            password: PASSWORD.into(),
            price: 40_000,
            reason: "refund".into(),
            account: Some(account),
        })
        .await
        .unwrap();
    assert_eq!(rest.data["status"], "cancelled");
}

#[tokio::test]
async fn form_encoded_webhook_is_verified_and_repeats_change_nothing() {
    let app = spawn_app().await;
    let uid = app.iamport_vbank("imp-form-1", 20_000).await;
    app.client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "imp-form-1", 20_000))
        .await
        .unwrap();
    app.iamport.deposit(&uid).await.unwrap();
    app.receiver.wait_for(1).await;
    // The same PG webhook again, form-encoded: the server re-fetches and sees no change.
    for _ in 0..2 {
        let answer: serde_json::Value = app
            .http
            .post(format!("{}/payments/webhooks/iamport", app.server.uri()))
            .form(&[
                ("imp_uid", uid.as_str()),
                ("merchant_uid", "imp-form-1"),
                ("status", "paid"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["outcome"], "received");
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(app.receiver.received().len(), 1);
}

#[tokio::test]
async fn saved_card_reservation_and_again_payment() {
    let app = spawn_app().await;
    app.iamport_save_card("imp-customer-1").await;
    let reservation = app
        .client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::Iamport,
                store_id: STORE.into(),
                uid: "imp-customer-1".into(),
            },
            source: source("imp-customer-1"),
            title: "my card".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert_eq!(reservation.data["customer_uid"], "imp-customer-1");
    let read = app
        .client
        .reservations()
        .get(&accessor("imp-customer-1"))
        .await
        .unwrap();
    assert_eq!(read.id, reservation.id);
    let uid = app
        .iamport_again("imp-customer-1", "imp-sub-1", 7_700)
        .await;
    let history = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "imp-sub-1", 7_700))
        .await
        .unwrap();
    assert_eq!(history.data["customer_uid"], "imp-customer-1");
}

//! The public surface as an embedder uses it, nothing below it: the API mounted in the
//! embedder's own axum app, and a running server's handle read by a test or a tool
//! (its store, its password-check metric) without reaching into the server's state.

use axum::Router;
use axum::routing::get;
use fake_toss::FakeToss;
use payments_client::{Connection, PaymentsClient, RetryPolicy};
use payments_core::records::{Password, PaymentHistoryCreate, Source, Vendor, VendorCode};
use payments_server::PaymentServer;
use std::net::SocketAddr;

const SECRET: &str = "embed-sealed-v2-secret-0123456789";
const PASSWORD: &str = "record-password";

fn client(uri: String) -> PaymentsClient {
    PaymentsClient::new(
        Connection::new(uri)
            .retry(RetryPolicy::none())
            .sealed_v2(SECRET),
    )
    .unwrap()
}

fn input(uid: &str, order: &str) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: Vendor {
            code: VendorCode::TossPayments,
            store_id: "main".into(),
            uid: uid.into(),
        },
        source: Source {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.into(),
        },
        price: 5_000,
        password: PASSWORD.into(),
        webhook_url: None,
    }
}

fn password(password: &str) -> Password {
    Password {
        password: password.into(),
    }
}

#[tokio::test]
async fn the_api_mounts_beside_the_embedders_own_routes() {
    let toss = FakeToss::start().await;
    let app = PaymentServer::builder()
        .sealed_v2_secret(SECRET)
        .toss_store("main", toss.uri(), toss.secret_key())
        .build()
        .unwrap();
    let shop = Router::new()
        .route("/shop/orders", get(|| async { "the shop's own route" }))
        .merge(payments_server::http::router(app));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            shop.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let uri = format!("http://{addr}");

    let own = reqwest::get(format!("{uri}/shop/orders")).await.unwrap();
    assert_eq!(own.text().await.unwrap(), "the shop's own route");
    let payment = toss.pay_by_card("embed-1", 5_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap();
    let client = client(uri);
    let created = client
        .histories()
        .create(&input(uid, "embed-1"))
        .await
        .unwrap();
    let read = client
        .histories()
        .at(created.id, &password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(read.id, created.id);
}

#[tokio::test]
async fn the_handle_shows_the_store_and_counts_password_checks() {
    let toss = FakeToss::start().await;
    let server = PaymentServer::builder()
        .sealed_v2_secret(SECRET)
        .toss_store("main", toss.uri(), toss.secret_key())
        .start()
        .await
        .unwrap();
    let payment = toss.pay_by_card("embed-2", 5_000).unwrap();
    let uid = payment["paymentKey"].as_str().unwrap();
    let client = client(server.uri());
    let created = client
        .histories()
        .create(&input(uid, "embed-2"))
        .await
        .unwrap();

    let stored = server.store().history_by_id(created.id).await.unwrap();
    let stored = stored.expect("the history is in the handle's store");
    assert_eq!(stored.vendor.uid, uid);
    assert!(
        !stored.data_sealed.contains(uid),
        "the PG object is stored sealed"
    );

    let before = server.password_checks();
    client
        .histories()
        .at(created.id, &password(PASSWORD))
        .await
        .unwrap();
    let wrong = client
        .histories()
        .at(created.id, &password("a wrong guess"))
        .await
        .expect_err("a wrong password reads nothing");
    assert_eq!(wrong.code_str(), Some("WRONG_PASSWORD"));
    assert_eq!(
        server.password_checks(),
        before + 2,
        "the right password and the wrong guess were each checked once"
    );
    server.shutdown().await;
}

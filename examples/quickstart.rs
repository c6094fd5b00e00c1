//! The quickstart: boots fake-toss, fake-iamport and the payment server in-process on a
//! temporary SQLite file, then walks a payment's life through the SDK:
//!
//! 1. a Toss card payment is registered (the server verifies it with Toss) and read back;
//! 2. a PortOne virtual account is registered, deposited at the PG, and the server's
//!    verified webhook reaches a small receiver;
//! 3. that payment is cancelled in part, then in full.
//!
//! Run it with `cargo run --example quickstart`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use payments::client::{Connection, PaymentsClient, open_webhook};
use payments::core::envelope::{Envelope, SealedV2Key};
use payments::core::records::{
    Accessor, CancelCreate, PaymentHistoryCreate, RefundAccount, Source, Vendor, VendorCode,
    WebhookHistory,
};
use payments::fake_iamport::FakeIamport;
use payments::fake_toss::FakeToss;
use payments::server::PaymentServer;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

const SECRET: &str = "quickstart-sealed-v2-secret";
const PASSWORD: &str = "only-this-record-knows";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The merchant's webhook endpoint: verify, then hand the record on.
async fn webhook(
    State((envelope, sender)): State<(Envelope, mpsc::UnboundedSender<WebhookHistory>)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    match open_webhook(
        &envelope,
        "POST",
        "/webhooks/payments",
        &headers,
        &body,
        chrono::Utc::now(),
    ) {
        Ok(history) => {
            let _ = sender.send(history);
            StatusCode::OK
        }
        Err(error) => error.status(),
    }
}

fn source(id: &str) -> Source {
    Source {
        schema: "shop".into(),
        table: "orders".into(),
        id: id.into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The PGs, as in-process fakes of their real APIs.
    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    let (imp_key, imp_secret) = iamport.credentials();
    println!("fake-toss    {}", toss.uri());
    println!("fake-iamport {}", iamport.uri());

    // The payment server, on a temporary SQLite file.
    let dir = tempfile::tempdir()?;
    let database = dir.path().join("payments.sqlite");
    let server = PaymentServer::builder()
        .database(database.to_string_lossy())
        .sealed_v2_secret(SECRET)
        .password_iterations(100_000)
        .toss_store("main", toss.uri(), toss.secret_key())
        .iamport_store("main", iamport.uri(), imp_key.clone(), imp_secret.clone())
        .webhook_retry_schedule(&[Duration::from_millis(100)])
        // The receiver below listens on 127.0.0.1 over plain http; production lists
        // nothing and delivers over https to public addresses only.
        .allow_local_receivers()
        .start()
        .await?;
    println!(
        "server       {} (database {})",
        server.uri(),
        database.display()
    );
    toss.set_webhook_url(format!("{}/payments/webhooks/toss", server.uri()));
    iamport.set_webhook_url(format!("{}/payments/webhooks/iamport", server.uri()));

    // The merchant's webhook receiver.
    let (sender, mut webhooks) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_url = format!("http://{}/webhooks/payments", listener.local_addr()?);
    let envelope = Envelope::SealedV2(SealedV2Key::derive(SECRET));
    let router = axum::Router::new()
        .route("/webhooks/payments", axum::routing::post(webhook))
        .with_state((envelope, sender));
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The merchant's backend talks to the server through the SDK.
    let client = PaymentsClient::new(Connection::new(server.uri()).sealed_v2(SECRET))?;
    let http = reqwest::Client::new();

    println!("\n== 1. A Toss card payment, registered and read back");
    let payment: Value = http
        .post(format!("{}/v1/payments/key-in", toss.uri()))
        .header("Authorization", toss.authorization())
        .json(&json!({
            "method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "30",
            "cardExpirationMonth": "12", "amount": 15000, "orderId": "order-0001",
            "orderName": "Americano x3"
        }))
        .send()
        .await?
        .json()
        .await?;
    let payment_key = payment["paymentKey"]
        .as_str()
        .ok_or("no paymentKey")?
        .to_owned();
    println!("customer paid 15,000 KRW at Toss: paymentKey {payment_key}");
    let history = client
        .histories()
        .create(&PaymentHistoryCreate {
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: "main".into(),
                uid: payment_key.clone(),
            },
            source: source("order-0001"),
            price: 15_000,
            password: PASSWORD.into(),
            webhook_url: Some(receiver_url.clone()),
        })
        .await?;
    println!(
        "server verified it with Toss and recorded history {} (status {}, {})",
        history.id,
        text(&history.data["status"]),
        paid(history.paid_at)
    );
    let read = client
        .histories()
        .get(&Accessor {
            schema: "shop".into(),
            table: "orders".into(),
            id: "order-0001".into(),
            password: PASSWORD.into(),
        })
        .await?;
    assert_eq!(read, history);
    println!(
        "read back by source with its password: {}",
        money(read.price, &read.currency)
    );

    println!("\n== 2. A PortOne virtual account, deposited, and its webhook");
    let token: Value = http
        .post(format!("{}/users/getToken", iamport.uri()))
        .json(&json!({"imp_key": imp_key, "imp_secret": imp_secret}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["response"]["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_owned();
    let vbank: Value = http
        .post(format!("{}/vbanks", iamport.uri()))
        .header("Authorization", token)
        .json(&json!({
            "merchant_uid": "order-0002", "amount": 50000, "vbank_code": "088",
            "vbank_due": chrono::Utc::now().timestamp() + 86_400, "vbank_holder": "홍길동",
            "name": "Textbooks"
        }))
        .send()
        .await?
        .json()
        .await?;
    let imp_uid = vbank["response"]["imp_uid"]
        .as_str()
        .ok_or("no imp_uid")?
        .to_owned();
    println!(
        "virtual account issued: {} {} ({imp_uid})",
        text(&vbank["response"]["vbank_name"]),
        text(&vbank["response"]["vbank_num"])
    );
    client
        .histories()
        .create(&PaymentHistoryCreate {
            vendor: Vendor {
                code: VendorCode::Iamport,
                store_id: "main".into(),
                uid: imp_uid.clone(),
            },
            source: source("order-0002"),
            price: 50_000,
            password: PASSWORD.into(),
            webhook_url: Some(receiver_url.clone()),
        })
        .await?;
    println!("recorded, awaiting the deposit");
    iamport.deposit(&imp_uid).await?;
    println!("customer deposited 50,000 KRW; PortOne notifies the server, which asks PortOne");
    let delivered = tokio::time::timeout(Duration::from_secs(10), webhooks.recv())
        .await?
        .ok_or("receiver closed")?;
    println!(
        "receiver got webhook {}: {} went from {} to {}",
        delivered.id,
        delivered.source.id,
        paid(delivered.previous.paid_at),
        paid(delivered.current.paid_at)
    );

    println!("\n== 3. A partial, then a full cancel");
    let account = RefundAccount {
        bank: "088".into(),
        account: "110123456789".into(),
        holder: "홍길동".into(),
        mobile: Some("01012345678".into()),
    };
    let cancel = |price: i64, reason: &str| CancelCreate {
        source: source("order-0002"),
        password: PASSWORD.into(),
        price,
        reason: reason.into(),
        account: Some(account.clone()),
    };
    let partial = client
        .histories()
        .cancel(&cancel(20_000, "one book returned"))
        .await?;
    println!(
        "partial cancel: refunded {}, PortOne status {}",
        money(partial.refund.unwrap_or(0), &partial.currency),
        text(&partial.data["status"])
    );
    let full = client
        .histories()
        .cancel(&cancel(30_000, "order cancelled"))
        .await?;
    println!(
        "full cancel: refunded {}, PortOne status {}, {}, {} cancels",
        money(full.refund.unwrap_or(0), &full.currency),
        text(&full.data["status"]),
        match full.cancelled_at {
            Some(at) => format!("cancelled at {}", moment(at)),
            None => "not cancelled in full".to_owned(),
        },
        full.cancels.len()
    );
    assert_eq!(full.refund, Some(50_000));

    server.shutdown().await;
    println!("\ndone");
    Ok(())
}

/// `2026-12-01 22:44:20Z`: a moment as a person reads it.
fn moment(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// `paid at 2026-12-01 22:44:20Z`, or `not paid yet`.
fn paid(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    match at {
        Some(at) => format!("paid at {}", moment(at)),
        None => "not paid yet".to_owned(),
    }
}

/// `20,000 KRW`: an amount with thousands separators and its currency.
fn money(amount: i64, currency: &str) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped} {currency}")
}

/// A JSON string without its quotes (`DONE`, not `"DONE"`).
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

//! An online shop. Boots fake-toss, fake-iamport and the payment server in-process,
//! then plays the shop's backend:
//!
//! 1. sign-up verifies the customer's identity with a PortOne certification (OTP
//!    request → the OTP the customer got by SMS → confirm) and the server's
//!    `certifications().verify`; the shop keeps only the CI hash, so a second sign-up by
//!    the same person is refused;
//! 2. an order is placed with price snapshots (`OrderInput::to_order`), so a later price
//!    change does not touch it;
//! 3. the customer pays in the Toss widget (simulated with `__approved: false`) and the
//!    shop completes the payment through the server, which confirms it with Toss;
//! 4. a double click, a client retry and Toss's webhook racing the completion all end
//!    in one paid order: one payment history, confirmed at Toss once;
//! 5. another customer cannot complete someone else's order: the shop checks the
//!    order's owner, and the server refuses a payment of another order (`422
//!    ORDER_MISMATCH`) without touching it.
//!
//! Run it with `cargo run --example shop`.

use payments::client::{Connection, IdempotencyKey, PaymentsClient};
use payments::core::clock::{IdGen, RandomIdGen};
use payments::core::money::{Currency, Money};
use payments::core::order::{Order, Product, ProductId};
use payments::core::records::charges::{CertificationVerify, OrderInput, OrderLineInput};
use payments::core::records::{
    Accessor, PaymentHistory, PaymentHistoryCreate, Source, Vendor, VendorCode,
};
use payments::core::secret::Secret;
use payments::fake_iamport::FakeIamport;
use payments::fake_toss::FakeToss;
use payments::server::PaymentServer;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

const SECRET: &str = "shop-sealed-v2-secret";
const STORE: &str = "main";

type Error = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------
// The shop's backend: members (by CI hash only), orders, and completing a payment.
// ---------------------------------------------------------------------------------

/// Why the shop refused a request.
#[derive(Debug)]
enum ShopError {
    /// This person already has an account.
    AlreadyMember { member: String },
    /// No such order.
    UnknownOrder,
    /// The order belongs to another member.
    NotYourOrder,
    /// The order rules refused the basket.
    Order(payments::core::order::OrderError),
    /// The order id or payment key cannot form an idempotency key.
    Key(payments::client::InvalidIdempotencyKey),
    /// The payment server refused or failed.
    Payments(payments::client::Error),
}

impl std::fmt::Display for ShopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AlreadyMember { member } => {
                write!(f, "this person already has an account ({member})")
            }
            Self::UnknownOrder => f.write_str("no such order"),
            Self::NotYourOrder => f.write_str("this order belongs to another customer"),
            Self::Order(e) => write!(f, "order refused: {e}"),
            Self::Key(e) => write!(f, "idempotency key: {e}"),
            Self::Payments(e) => write!(f, "payment server: {e}"),
        }
    }
}

impl std::error::Error for ShopError {}

impl From<payments::client::Error> for ShopError {
    fn from(error: payments::client::Error) -> Self {
        Self::Payments(error)
    }
}

/// An order as the shop's database keeps it.
struct ShopOrder {
    owner: String,
    order: Order,
    /// The payment history's own password: the shop keeps it, the customer never sees it.
    password: Secret<String>,
    /// The payment history once paid; set once.
    paid: Option<Uuid>,
}

struct Shop {
    client: PaymentsClient,
    ids: Arc<dyn IdGen>,
    /// CI hash → member id. The shop never learns or stores the CI itself.
    members: Mutex<HashMap<String, String>>,
    orders: Mutex<HashMap<String, ShopOrder>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn order_source(order_id: &str) -> Source {
    Source {
        schema: "shop".into(),
        table: "orders".into(),
        id: order_id.into(),
    }
}

impl Shop {
    /// Signs a person up from a finished PortOne certification: the server fetches it
    /// from PortOne and answers a keyed hash of the person's CI; one account per hash.
    async fn sign_up(&self, certification: &str) -> Result<String, ShopError> {
        let person = self
            .client
            .certifications()
            .verify(&CertificationVerify {
                vendor: Vendor {
                    code: VendorCode::Iamport,
                    store_id: STORE.into(),
                    uid: certification.into(),
                },
            })
            .await?;
        println!(
            "  the server verified {} (born {}): CI hash {}…",
            person.name,
            person.birth_date,
            &person.ci_hash[..12]
        );
        let mut members = lock(&self.members);
        if let Some(member) = members.get(&person.ci_hash) {
            return Err(ShopError::AlreadyMember {
                member: member.clone(),
            });
        }
        let member = format!("member-{}", members.len() + 1);
        // Only the hash is kept: name, birth date and phone were needed for this check only.
        members.insert(person.ci_hash, member.clone());
        Ok(member)
    }

    /// Places an order: the lines snapshot each product's id, name and price now.
    fn place_order(&self, member: &str, lines: &[(&Product, i64)]) -> Result<Order, ShopError> {
        let input = OrderInput {
            id: format!(
                "order-{}",
                self.ids.code(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", 12)
            ),
            lines: lines
                .iter()
                .map(|(product, quantity)| OrderLineInput {
                    product: (*product).clone(),
                    quantity: *quantity,
                })
                .collect(),
        };
        let order = input.to_order().map_err(ShopError::Order)?;
        lock(&self.orders).insert(
            order.id().to_string(),
            ShopOrder {
                owner: member.into(),
                order: order.clone(),
                password: format!("history-{}", self.ids.uuid()).into(),
                paid: None,
            },
        );
        Ok(order)
    }

    /// Completes an order with the customer's Toss payment: only the order's owner may,
    /// for the order's own total. The idempotency key is the order and the payment, so a
    /// double click or a retry is the same request; the server confirms with Toss once.
    async fn complete(
        &self,
        member: &str,
        order_id: &str,
        payment_key: &str,
    ) -> Result<PaymentHistory, ShopError> {
        let (price, password) = {
            let orders = lock(&self.orders);
            let order = orders.get(order_id).ok_or(ShopError::UnknownOrder)?;
            if order.owner != member {
                return Err(ShopError::NotYourOrder);
            }
            (order.order.total().amount(), order.password.clone())
        };
        let key = IdempotencyKey::new(format!("shop/{order_id}/complete/{payment_key}"))
            .map_err(ShopError::Key)?;
        let history = self
            .client
            .histories()
            .create_with_key(
                &PaymentHistoryCreate {
                    vendor: Vendor {
                        code: VendorCode::TossPayments,
                        store_id: STORE.into(),
                        uid: payment_key.into(),
                    },
                    source: order_source(order_id),
                    price,
                    password,
                    webhook_url: None,
                },
                &key,
            )
            .await?;
        let mut orders = lock(&self.orders);
        let order = orders.get_mut(order_id).ok_or(ShopError::UnknownOrder)?;
        match order.paid {
            None => order.paid = Some(history.id),
            // A second answer for the same order must name the same payment.
            Some(paid) => assert_eq!(paid, history.id, "two payments recorded for {order_id}"),
        }
        Ok(history)
    }

    fn paid_orders(&self) -> usize {
        lock(&self.orders)
            .values()
            .filter(|o| o.paid.is_some())
            .count()
    }
}

// ---------------------------------------------------------------------------------
// What happens in the customer's browser, against the fakes.
// ---------------------------------------------------------------------------------

/// PortOne SMS certification: request an OTP, read it (the customer's phone), confirm.
async fn certify(
    http: &reqwest::Client,
    iamport: &FakeIamport,
    name: &str,
    phone: &str,
    birth: &str,
) -> Result<String, Error> {
    let (imp_key, imp_secret) = iamport.credentials();
    let token: Value = http
        .post(format!("{}/users/getToken", iamport.uri()))
        .json(&json!({"imp_key": imp_key, "imp_secret": imp_secret}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["response"]["access_token"]
        .as_str()
        .ok_or("no PortOne token")?
        .to_owned();
    let requested: Value = http
        .post(format!("{}/certifications/otp/request", iamport.uri()))
        .header("Authorization", &token)
        .json(&json!({
            "name": name, "phone": phone, "birth": birth, "gender_digit": "2", "carrier": "SKT"
        }))
        .send()
        .await?
        .json()
        .await?;
    let imp_uid = requested["response"]["imp_uid"]
        .as_str()
        .ok_or_else(|| format!("OTP request refused: {requested}"))?
        .to_owned();
    let otp = iamport.otp(&imp_uid).ok_or("no OTP was sent")?;
    let confirmed: Value = http
        .post(format!(
            "{}/certifications/otp/confirm/{imp_uid}",
            iamport.uri()
        ))
        .header("Authorization", &token)
        .json(&json!({ "otp": otp }))
        .send()
        .await?
        .json()
        .await?;
    if confirmed["response"]["certified"] != true {
        return Err(format!("OTP confirmation refused: {confirmed}").into());
    }
    println!("  {name}: SMS OTP {otp} confirmed at PortOne, certification {imp_uid}");
    Ok(imp_uid)
}

/// The Toss payment widget: the customer pays; the payment waits for the merchant's
/// confirmation (`IN_PROGRESS`) — what `__approved: false` simulates on the fake.
async fn pay_in_widget(
    http: &reqwest::Client,
    toss: &FakeToss,
    order: &Order,
) -> Result<String, Error> {
    let response = http
        .post(format!("{}/v1/payments/key-in", toss.uri()))
        .header("Authorization", toss.authorization())
        .json(&json!({
            "method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "30",
            "cardExpirationMonth": "12", "amount": order.total().amount(),
            "orderId": order.id().as_str(), "orderName": order.lines()[0].name(),
            "__approved": false
        }))
        .send()
        .await?;
    let payment: Value = response.json().await?;
    assert_eq!(payment["status"], "IN_PROGRESS", "{payment}");
    Ok(payment["paymentKey"]
        .as_str()
        .ok_or("no paymentKey")?
        .to_owned())
}

fn confirmations(toss: &FakeToss, payment_key: &str) -> usize {
    toss.received_requests()
        .iter()
        .filter(|r| r.path == "/v1/payments/confirm")
        .filter(|r| {
            r.body_json()
                .is_some_and(|b| b["paymentKey"] == payment_key)
        })
        .count()
}

fn product(id: &str, name: &str, price: i64) -> Result<Product, Error> {
    Ok(Product {
        id: ProductId::new(id),
        name: name.into(),
        price: Money::new(price, Currency::Krw)?,
        enabled: true,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    let (imp_key, imp_secret) = iamport.credentials();
    let server = PaymentServer::builder()
        .sealed_v2_secret(SECRET)
        // A demo: far below the production 600,000 so the example runs in a blink.
        .password_iterations(10_000)
        .toss_store(STORE, toss.uri(), toss.secret_key())
        .iamport_store(STORE, iamport.uri(), imp_key, imp_secret)
        .start()
        .await?;
    // Toss's webhooks go to the server, so they race the shop's completions below.
    toss.set_webhook_url(format!("{}/payments/webhooks/toss", server.uri()));
    println!(
        "fake-toss {} · fake-iamport {} · server {}",
        toss.uri(),
        iamport.uri(),
        server.uri()
    );
    let http = reqwest::Client::new();
    let shop = Arc::new(Shop {
        client: PaymentsClient::new(Connection::new(server.uri()).sealed_v2(SECRET))?,
        ids: Arc::new(RandomIdGen),
        members: Mutex::new(HashMap::new()),
        orders: Mutex::new(HashMap::new()),
    });

    println!("\n== 1. Sign-up with identity verification");
    let certification = certify(&http, &iamport, "김민지", "010-2345-6789", "19950412").await?;
    let alice = shop.sign_up(&certification).await?;
    println!("signed up as {alice}");
    // The same person again, weeks later: a fresh certification, the same CI.
    let again = certify(&http, &iamport, "김민지", "010-2345-6789", "19950412").await?;
    assert_ne!(again, certification);
    match shop.sign_up(&again).await {
        Err(ShopError::AlreadyMember { member }) => {
            assert_eq!(member, alice);
            println!("second sign-up by the same person: refused (same CI hash, account {member})");
        }
        other => return Err(format!("a second sign-up was not refused: {other:?}").into()),
    }
    let certification = certify(&http, &iamport, "박서준", "010-9876-5432", "19880721").await?;
    let bob = shop.sign_up(&certification).await?;
    assert_ne!(bob, alice);
    println!("another person signs up as {bob}");

    println!("\n== 2. An order with price snapshots");
    let mut keyboard = product("p-kb", "무선 키보드", 39_000)?;
    let cable = product("p-cable", "USB-C 케이블", 6_500)?;
    let order = shop.place_order(&alice, &[(&keyboard, 1), (&cable, 2)])?;
    for line in order.lines() {
        println!(
            "  {} × {} @ {} = {}",
            line.name(),
            line.quantity(),
            line.unit_price(),
            line.subtotal()
        );
    }
    println!("{alice} ordered {}: total {}", order.id(), order.total());
    keyboard.price = Money::new(45_000, Currency::Krw)?;
    let snapshot = order
        .line_for(&keyboard.id)
        .ok_or("no keyboard line")?
        .unit_price();
    assert_eq!(snapshot, Money::new(39_000, Currency::Krw)?);
    assert_eq!(order.total(), Money::new(52_000, Currency::Krw)?);
    println!(
        "the catalogue raises the keyboard to {}; the order keeps {snapshot}",
        keyboard.price
    );

    println!("\n== 3. The customer pays in the Toss widget; the shop completes it");
    let payment_key = pay_in_widget(&http, &toss, &order).await?;
    println!(
        "widget: paid, waiting for the shop's confirmation (IN_PROGRESS), paymentKey {payment_key}"
    );

    println!("\n== 4. Double click, retry and Toss's webhook: one paid order");
    let order_id = order.id().to_string();
    let (first, second) = tokio::join!(
        shop.complete(&alice, &order_id, &payment_key),
        shop.complete(&alice, &order_id, &payment_key)
    );
    let (first, second) = (first?, second?);
    assert_eq!(first.id, second.id);
    assert_eq!(first.price, 52_000);
    assert_eq!(first.data["status"], "DONE");
    println!(
        "double click: both requests answered history {} (Toss status {})",
        first.id, first.data["status"]
    );
    let retry = shop.complete(&alice, &order_id, &payment_key).await?;
    assert_eq!(retry, first);
    println!("client retry later with the same key: the same history, replayed");
    let delivered = toss
        .wait_for_webhooks(1, Duration::from_secs(5), |w| {
            w.is_delivered() && w.json()["data"]["paymentKey"] == payment_key.as_str()
        })
        .await;
    let webhook = delivered
        .first()
        .ok_or("Toss's webhook never reached the server")?;
    println!(
        "Toss's {} webhook (status {}) reached the server: {:?}",
        webhook.event_type,
        webhook.json()["data"]["status"],
        webhook.outcome
    );
    let password = lock(&shop.orders)
        .get(&order_id)
        .map(|o| o.password.clone())
        .ok_or("order vanished")?;
    let history = shop
        .client
        .histories()
        .get(&Accessor {
            schema: "shop".into(),
            table: "orders".into(),
            id: order_id.clone(),
            password,
        })
        .await?;
    assert_eq!(history.id, first.id);
    assert_eq!(confirmations(&toss, &payment_key), 1);
    let at_toss = toss.payment(&payment_key).ok_or("no payment at Toss")?;
    assert_eq!(at_toss["status"], "DONE");
    assert_eq!(shop.paid_orders(), 1);
    println!(
        "one paid order: history {}, Toss confirmed once, Toss status {}",
        history.id, at_toss["status"]
    );

    println!("\n== 5. Another customer cannot complete someone else's order");
    let unpaid = shop.place_order(&alice, &[(&cable, 1)])?;
    let bobs = shop.place_order(&bob, &[(&cable, 1)])?;
    let bobs_key = pay_in_widget(&http, &toss, &bobs).await?;
    match shop.complete(&bob, unpaid.id().as_str(), &bobs_key).await {
        Err(ShopError::NotYourOrder) => {
            println!("{bob} completes {alice}'s order at the shop: refused (not the owner)")
        }
        other => {
            return Err(format!("the shop let {bob} complete {alice}'s order: {other:?}").into());
        }
    }
    // Even a shop front that forgot the owner check cannot: Toss's payment names Bob's order.
    let attempt = shop
        .client
        .histories()
        .create(&PaymentHistoryCreate {
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: STORE.into(),
                uid: bobs_key.clone(),
            },
            source: order_source(unpaid.id().as_str()),
            price: unpaid.total().amount(),
            password: "not-the-shop's".into(),
            webhook_url: None,
        })
        .await;
    match attempt {
        Err(error)
            if error.status().map(|s| s.as_u16()) == Some(422)
                && error.code_str() == Some("ORDER_MISMATCH") =>
        {
            println!(
                "{bob}'s payment sent straight to the server for {alice}'s order: refused 422 ORDER_MISMATCH ({})",
                error.message().unwrap_or_default()
            );
        }
        other => return Err(format!("expected 422 ORDER_MISMATCH, got {other:?}").into()),
    }
    let untouched = toss.payment(&bobs_key).ok_or("no payment at Toss")?;
    assert_eq!(untouched["status"], "IN_PROGRESS");
    println!(
        "{bob}'s payment is left alone at Toss (status {})",
        untouched["status"]
    );
    let own = shop.complete(&bob, bobs.id().as_str(), &bobs_key).await?;
    assert_eq!(own.data["status"], "DONE");
    assert_eq!(shop.paid_orders(), 2);
    println!("{bob} completes his own order: paid, history {}", own.id);

    server.shutdown().await;
    println!("\nshop: done");
    Ok(())
}

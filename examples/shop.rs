//! An online shop on PortOne V2. Boots fake-portone and the payment server in-process,
//! then plays the shop's backend:
//!
//! 1. sign-up verifies the customer's identity in PortOne's identity-verification window
//!    (fake-portone's `verify_identity`, the `/internal/` route the window would drive)
//!    and the server's `certifications().verify`, which reads
//!    `GET /identity-verifications/{id}` (`VERIFIED` only) and answers a keyed hash of
//!    the CI; the shop keeps only that hash, so a second sign-up by the same person is
//!    refused;
//! 2. an order is placed with price snapshots (`OrderInput::to_order`), so a later price
//!    change does not touch it; its id is the V2 `paymentId`;
//! 3. the customer pays in the PortOne payment window (fake-portone's `checkout`) and the
//!    shop completes the payment through the server, which asks PortOne V2 for it
//!    (`status == PAID`, the paymentId is the order, the amount is the order's total);
//! 4. a double click, a client retry and PortOne's signed `Transaction.Paid` webhook
//!    racing the completion all end in one paid order: one payment history;
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
use payments::fake_portone::{Checkout, FakePortOne, Person, WebhookOutcome};
use payments::server::PaymentServer;
use payments::server::config::PortOneStore;
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
    /// Signs a person up from a finished PortOne V2 identity verification: the server
    /// fetches it from PortOne and answers a keyed hash of the person's CI; one account
    /// per hash.
    async fn sign_up(&self, verification: &str) -> Result<String, ShopError> {
        let person = self
            .client
            .certifications()
            .verify(&CertificationVerify {
                vendor: Vendor {
                    code: VendorCode::PortOne,
                    store_id: STORE.into(),
                    uid: verification.into(),
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

    /// Completes an order with the customer's PortOne payment (the `paymentId` the
    /// browser reports): only the order's owner may, for the order's own total. The
    /// idempotency key is the order and the payment, so a double click or a retry is the
    /// same request; the server records the payment once.
    async fn complete(
        &self,
        member: &str,
        order_id: &str,
        payment_id: &str,
    ) -> Result<PaymentHistory, ShopError> {
        let (price, password) = {
            let orders = lock(&self.orders);
            let order = orders.get(order_id).ok_or(ShopError::UnknownOrder)?;
            if order.owner != member {
                return Err(ShopError::NotYourOrder);
            }
            (order.order.total().amount(), order.password.clone())
        };
        let key = IdempotencyKey::new(format!("shop/{order_id}/complete/{payment_id}"))
            .map_err(ShopError::Key)?;
        let history = self
            .client
            .histories()
            .create_with_key(
                &PaymentHistoryCreate {
                    vendor: Vendor {
                        code: VendorCode::PortOne,
                        store_id: STORE.into(),
                        uid: payment_id.into(),
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

/// PortOne's identity-verification window: the customer verifies; the shop's front end
/// gets the verification id back.
async fn verify_identity(
    portone: &FakePortOne,
    ids: &dyn IdGen,
    name: &str,
    phone: &str,
    birth_date: &str,
) -> Result<String, Error> {
    let id = format!("identity-verification-{}", ids.uuid());
    let verified = portone
        .verify_identity(&id, Person::new(name, phone, birth_date))
        .await?;
    assert_eq!(verified["status"], "VERIFIED", "{verified}");
    println!("  {name}: verified in PortOne's window, identity verification {id}");
    Ok(id)
}

/// PortOne's payment window: the customer pays the order by card under the order's id
/// as `paymentId`; the front end reports that id to the shop.
async fn pay_in_window(portone: &FakePortOne, order: &Order) -> Result<String, Error> {
    let payment = portone
        .checkout(
            order.id().as_str(),
            Checkout::card(order.lines()[0].name(), order.total().amount()),
        )
        .await?;
    assert_eq!(payment["status"], "PAID", "{payment}");
    Ok(order.id().to_string())
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
    let portone = FakePortOne::start().await;
    let server = PaymentServer::builder()
        .sealed_v2_secret(SECRET)
        // A demo: far below the production 600,000 so the example runs in a blink.
        .password_iterations(10_000)
        .portone_store(PortOneStore {
            store_id: STORE.into(),
            base_url: portone.uri(),
            api_secret: portone.api_secret().to_owned().into(),
            portone_store_id: portone.store_id().to_owned(),
            webhook_secret: portone.webhook_secret().to_owned().into(),
        })
        .start()
        .await?;
    // PortOne's signed webhooks go to the server, so they race the completions below.
    portone.set_webhook_url(format!("{}/payments/webhooks/portone", server.uri()));
    println!("fake-portone {} · server {}", portone.uri(), server.uri());
    let ids = RandomIdGen;
    let shop = Arc::new(Shop {
        client: PaymentsClient::new(Connection::new(server.uri()).sealed_v2(SECRET))?,
        ids: Arc::new(RandomIdGen),
        members: Mutex::new(HashMap::new()),
        orders: Mutex::new(HashMap::new()),
    });

    println!("\n== 1. Sign-up with identity verification");
    let verification =
        verify_identity(&portone, &ids, "김민지", "01023456789", "1995-04-12").await?;
    let alice = shop.sign_up(&verification).await?;
    println!("signed up as {alice}");
    // The same person again, weeks later: a fresh verification, the same CI.
    let again = verify_identity(&portone, &ids, "김민지", "01023456789", "1995-04-12").await?;
    assert_ne!(again, verification);
    match shop.sign_up(&again).await {
        Err(ShopError::AlreadyMember { member }) => {
            assert_eq!(member, alice);
            println!("second sign-up by the same person: refused (same CI hash, account {member})");
        }
        other => return Err(format!("a second sign-up was not refused: {other:?}").into()),
    }
    let verification =
        verify_identity(&portone, &ids, "박서준", "01098765432", "1988-07-21").await?;
    let bob = shop.sign_up(&verification).await?;
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

    println!("\n== 3. The customer pays in the PortOne window; the shop completes it");
    let payment_id = pay_in_window(&portone, &order).await?;
    println!("PortOne window: paid (PAID), paymentId {payment_id} = the order id");

    println!("\n== 4. Double click, retry and PortOne's webhook: one paid order");
    let order_id = order.id().to_string();
    // PortOne's Transaction.Paid webhook is on its way to the server while both clicks
    // arrive at the shop.
    let (first, second) = tokio::join!(
        shop.complete(&alice, &order_id, &payment_id),
        shop.complete(&alice, &order_id, &payment_id)
    );
    let (first, second) = (first?, second?);
    assert_eq!(first.id, second.id);
    assert_eq!(first.price, 52_000);
    assert_eq!(first.data["status"], "PAID");
    println!(
        "double click: both requests answered history {} (PortOne status {})",
        first.id, first.data["status"]
    );
    let retry = shop.complete(&alice, &order_id, &payment_id).await?;
    assert_eq!(retry, first);
    println!("client retry later with the same key: the same history, replayed");
    let delivered = portone
        .wait_for_webhooks(1, Duration::from_secs(5), |w| {
            w.event_type == "Transaction.Paid"
                && w.body.contains(payment_id.as_str())
                && matches!(w.outcome, WebhookOutcome::Delivered { .. })
        })
        .await;
    let webhook = delivered
        .first()
        .ok_or("PortOne's webhook never reached the server")?;
    println!(
        "PortOne's signed {} webhook reached the server: {:?}",
        webhook.event_type, webhook.outcome
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
    let at_portone = portone
        .payment(&payment_id)
        .ok_or("no payment at PortOne")?;
    assert_eq!(at_portone["status"], "PAID");
    assert_eq!(at_portone["amount"]["cancelled"], 0);
    assert_eq!(shop.paid_orders(), 1);
    println!(
        "one paid order: history {}, PortOne status {}, nothing cancelled",
        history.id, at_portone["status"]
    );

    println!("\n== 5. Another customer cannot complete someone else's order");
    let unpaid = shop.place_order(&alice, &[(&cable, 1)])?;
    let bobs = shop.place_order(&bob, &[(&cable, 1)])?;
    let bobs_payment = pay_in_window(&portone, &bobs).await?;
    match shop
        .complete(&bob, unpaid.id().as_str(), &bobs_payment)
        .await
    {
        Err(ShopError::NotYourOrder) => {
            println!("{bob} completes {alice}'s order at the shop: refused (not the owner)")
        }
        other => {
            return Err(format!("the shop let {bob} complete {alice}'s order: {other:?}").into());
        }
    }
    // Even a shop front that forgot the owner check cannot: Bob's paymentId is his order.
    let attempt = shop
        .client
        .histories()
        .create(&PaymentHistoryCreate {
            vendor: Vendor {
                code: VendorCode::PortOne,
                store_id: STORE.into(),
                uid: bobs_payment.clone(),
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
    let untouched = portone
        .payment(&bobs_payment)
        .ok_or("no payment at PortOne")?;
    assert_eq!(untouched["status"], "PAID");
    assert_eq!(untouched["amount"]["cancelled"], 0);
    println!(
        "{bob}'s payment is left alone at PortOne (status {}, nothing cancelled)",
        untouched["status"]
    );
    let own = shop
        .complete(&bob, bobs.id().as_str(), &bobs_payment)
        .await?;
    assert_eq!(own.data["status"], "PAID");
    assert_eq!(shop.paid_orders(), 2);
    println!("{bob} completes his own order: paid, history {}", own.id);

    server.shutdown().await;
    println!("\nshop: done");
    Ok(())
}

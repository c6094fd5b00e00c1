//! A coffee ordering app's gifts. Boots fake-toss, fake-iamport and the payment server
//! in-process, then plays the app's backend and a store's POS:
//!
//! 1. a customer buys an Americano gift for a friend: pays by card at PortOne, the app
//!    has the server verify and record the payment, then issues the gift coupon to the
//!    friend with a message;
//! 2. the friend registers in the app, finds the gift, and redeems it at a store; a
//!    second redemption is refused (`409 COUPON_SPENT`), and so is the giver using it
//!    (`403 COUPON_FOREIGN`);
//! 3. forged payment notices are refused: a payment of another order claimed for a gift
//!    (`422 ORDER_MISMATCH`), a tampered amount (`422 AMOUNT_MISMATCH`, and the PG
//!    payment is cancelled), and a forged PortOne webhook that the server checks with
//!    PortOne and ignores.
//!
//! Run it with `cargo run --example gift`.

use payments::client::{Connection, IdempotencyKey, PaymentsClient};
use payments::core::clock::{IdGen, RandomIdGen};
use payments::core::coupon::OwnerId;
use payments::core::money::{Currency, Money};
use payments::core::order::{Order, Product, ProductId};
use payments::core::records::charges::{OrderInput, OrderLineInput};
use payments::core::records::coupons::{
    CouponAccess, CouponRecord, CouponRedeem, CouponRedemption, CouponStatus, CouponValueRecord,
    GiftCreate,
};
use payments::core::records::{Accessor, PaymentHistoryCreate, Source, Vendor, VendorCode};
use payments::core::secret::Secret;
use payments::core::timestamp::Timestamp;
use payments::core::transaction::TransactionStatus;
use payments::fake_iamport::FakeIamport;
use payments::fake_toss::FakeToss;
use payments::server::PaymentServer;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

const SECRET: &str = "gift-sealed-v2-secret";
const STORE: &str = "main";
const CODES: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

type Error = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------
// The ordering app's backend: gift orders, paid by card, fulfilled as gift coupons.
// ---------------------------------------------------------------------------------

/// A gift order as the app's database keeps it.
struct GiftOrder {
    giver: OwnerId,
    recipient: OwnerId,
    message: String,
    /// Fixed when ordered, so a repeated notice sends the very same gift request.
    expires_at: Timestamp,
    order: Order,
    /// The payment history's own password: the app keeps it.
    password: Secret<String>,
    /// The gift, once the payment is verified.
    coupon: Option<CouponRecord>,
}

struct App {
    client: PaymentsClient,
    ids: RandomIdGen,
    /// Members, by the owner id of their verified phone number.
    members: Mutex<Vec<OwnerId>>,
    orders: Mutex<HashMap<String, GiftOrder>>,
}

/// The app's coupon owner id for a phone number: a gift is sent to a number, so the
/// friend need not have the app yet; whoever registers with that number owns it.
fn owner_for_phone(phone: &str) -> OwnerId {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    OwnerId::new(format!("tel:{digits}"))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn gift_source(order_id: &str) -> Source {
    Source {
        schema: "app".into(),
        table: "gift_orders".into(),
        id: order_id.into(),
    }
}

fn input(id: &str, lines: &[(&Product, i64)]) -> OrderInput {
    OrderInput {
        id: id.into(),
        lines: lines
            .iter()
            .map(|(product, quantity)| OrderLineInput {
                product: (*product).clone(),
                quantity: *quantity,
            })
            .collect(),
    }
}

impl App {
    /// Registers a member by their (already verified) phone number.
    fn register(&self, phone: &str) -> OwnerId {
        let member = owner_for_phone(phone);
        let mut members = lock(&self.members);
        if !members.contains(&member) {
            members.push(member.clone());
        }
        member
    }

    /// The gifts sent to `member`, as the server reads them for their owner.
    async fn inbox(&self, member: &OwnerId) -> Result<Vec<CouponRecord>, payments::client::Error> {
        let codes: Vec<_> = lock(&self.orders)
            .values()
            .filter(|o| o.recipient == *member)
            .filter_map(|o| o.coupon.as_ref().map(|c| c.code.clone()))
            .collect();
        let mut gifts = Vec::new();
        for code in codes {
            let access = CouponAccess {
                code,
                owner: member.clone(),
            };
            gifts.push(self.client.coupons().get(&access).await?);
        }
        Ok(gifts)
    }

    /// A member picks a product, a friend's phone number and a message; the app prices
    /// the order.
    fn order_gift(
        &self,
        giver: &OwnerId,
        friend_phone: &str,
        message: &str,
        product: &Product,
    ) -> Result<Order, Error> {
        let id = format!("gift-{}", self.ids.code(CODES, 12));
        let order = input(&id, &[(product, 1)]).to_order()?;
        lock(&self.orders).insert(
            id,
            GiftOrder {
                giver: giver.clone(),
                recipient: owner_for_phone(friend_phone),
                message: message.into(),
                expires_at: chrono::Utc::now() + chrono::Duration::days(90),
                order: order.clone(),
                password: format!("history-{}", self.ids.uuid()).into(),
                coupon: None,
            },
        );
        Ok(order)
    }

    /// The browser's notice after PortOne's checkout: "order `order_id` is paid by
    /// `imp_uid`". Nothing in it is trusted: the server records the payment only if
    /// PortOne says it is this order's, for this order's total; only then is the gift
    /// issued (keyed by the order, so a repeated notice cannot issue twice).
    /// Payment keys name the payment too: a notice naming another payment is a new
    /// request, answered on its own merits.
    async fn payment_notice(
        &self,
        order_id: &str,
        imp_uid: &str,
    ) -> Result<CouponRecord, NoticeError> {
        let (price, password, gift) = {
            let orders = lock(&self.orders);
            let order = orders.get(order_id).ok_or(NoticeError::UnknownOrder)?;
            let gift = GiftCreate {
                value: CouponValueRecord::Product {
                    product_id: order.order.lines()[0].product_id().clone(),
                },
                expires_at: order.expires_at,
                giver: order.giver.clone(),
                recipient: order.recipient.clone(),
                message: order.message.clone(),
            };
            (order.order.total().amount(), order.password.clone(), gift)
        };
        let key = |what: &str| {
            IdempotencyKey::new(format!("app/{order_id}/{what}")).map_err(NoticeError::Key)
        };
        self.client
            .histories()
            .create_with_key(
                &PaymentHistoryCreate {
                    vendor: Vendor {
                        code: VendorCode::Iamport,
                        store_id: STORE.into(),
                        uid: imp_uid.into(),
                    },
                    source: gift_source(order_id),
                    price,
                    password,
                    webhook_url: None,
                },
                &key(&format!("payment/{imp_uid}"))?,
            )
            .await?;
        let coupon = self
            .client
            .coupons()
            .gift_with_key(&gift, &key("gift")?)
            .await?;
        if let Some(order) = lock(&self.orders).get_mut(order_id) {
            order.coupon = Some(coupon.clone());
        }
        Ok(coupon)
    }

    fn gifts_issued(&self) -> usize {
        lock(&self.orders)
            .values()
            .filter(|o| o.coupon.is_some())
            .count()
    }
}

/// Why the app did not issue a gift for a payment notice.
#[derive(Debug)]
enum NoticeError {
    /// No such gift order.
    UnknownOrder,
    /// The order id cannot form an idempotency key.
    Key(payments::client::InvalidIdempotencyKey),
    /// The payment server refused (or failed) to record the payment or issue the gift.
    Payments(payments::client::Error),
}

impl std::fmt::Display for NoticeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownOrder => f.write_str("no such gift order"),
            Self::Key(e) => write!(f, "idempotency key: {e}"),
            Self::Payments(e) => write!(f, "payment server: {e}"),
        }
    }
}

impl std::error::Error for NoticeError {}

impl From<payments::client::Error> for NoticeError {
    fn from(error: payments::client::Error) -> Self {
        Self::Payments(error)
    }
}

/// Expects the server to have refused a payment notice with `status` and `code`.
fn notice_refused(
    result: Result<CouponRecord, NoticeError>,
    status: u16,
    code: &str,
) -> Result<String, Error> {
    match result {
        Err(NoticeError::Payments(error)) => refused(Err::<(), _>(error), status, code),
        other => Err(format!("expected {status} {code}, got {other:?}").into()),
    }
}

/// Expects the server to refuse `result` with `status` and `code`; returns its message.
fn refused<T: std::fmt::Debug>(
    result: Result<T, payments::client::Error>,
    status: u16,
    code: &str,
) -> Result<String, Error> {
    match result {
        Err(error)
            if error.status().map(|s| s.as_u16()) == Some(status)
                && error.code_str() == Some(code) =>
        {
            Ok(error.message().unwrap_or_default().to_owned())
        }
        Err(error) => Err(format!("expected {status} {code}, got {error}").into()),
        Ok(value) => Err(format!("expected {status} {code}, but it succeeded: {value:?}").into()),
    }
}

/// The customer pays at PortOne (a card payment, `paid` at once).
async fn pay_at_portone(
    http: &reqwest::Client,
    iamport: &FakeIamport,
    order_id: &str,
    amount: i64,
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
        .ok_or("no PortOne token")?;
    let paid: Value = http
        .post(format!("{}/subscribe/payments/onetime", iamport.uri()))
        .header("Authorization", token)
        .json(&json!({
            "card_number": "4330-1234-1234-1234", "expiry": "2030-12", "birth": "900101",
            "pwd_2digit": "12", "name": "아메리카노 선물", "merchant_uid": order_id, "amount": amount
        }))
        .send()
        .await?
        .json()
        .await?;
    if paid["response"]["status"] != "paid" {
        return Err(format!("PortOne did not take the payment: {paid}").into());
    }
    Ok(paid["response"]["imp_uid"]
        .as_str()
        .ok_or("no imp_uid")?
        .to_owned())
}

/// The store's POS redeems a coupon for the counter order.
async fn redeem_at_store(
    client: &PaymentsClient,
    coupon: &CouponRecord,
    owner: &OwnerId,
    order: &OrderInput,
) -> Result<CouponRedemption, payments::client::Error> {
    client
        .coupons()
        .redeem(&CouponRedeem {
            code: coupon.code.clone(),
            owner: owner.clone(),
            order: order.clone(),
            password: "pos-receipt-password".into(),
        })
        .await
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
    iamport.set_webhook_url(format!("{}/payments/webhooks/iamport", server.uri()));
    println!(
        "fake-toss {} · fake-iamport {} · server {}",
        toss.uri(),
        iamport.uri(),
        server.uri()
    );
    let http = reqwest::Client::new();
    let app = App {
        client: PaymentsClient::new(Connection::new(server.uri()).sealed_v2(SECRET))?,
        ids: RandomIdGen,
        members: Mutex::new(Vec::new()),
        orders: Mutex::new(HashMap::new()),
    };
    let americano = Product {
        id: ProductId::new("p-americano"),
        name: "아메리카노 (Tall)".into(),
        price: Money::new(4_500, Currency::Krw)?,
        enabled: true,
    };
    let cookie = Product {
        id: ProductId::new("p-cookie"),
        name: "초코칩 쿠키".into(),
        price: Money::new(2_800, Currency::Krw)?,
        enabled: true,
    };
    let giver = app.register("010-1234-5678");
    let friend_phone = "010-9876-5432";
    let friend = owner_for_phone(friend_phone);

    println!("\n== 1. {giver} buys an Americano gift for the friend at {friend_phone}");
    let order = app.order_gift(&giver, friend_phone, "시험 끝난 거 축하해! ☕", &americano)?;
    let order_id = order.id().to_string();
    let imp_uid = pay_at_portone(&http, &iamport, &order_id, order.total().amount()).await?;
    println!(
        "paid {} at PortOne for {order_id}: {imp_uid}",
        order.total()
    );
    let gift = app.payment_notice(&order_id, &imp_uid).await?;
    assert_eq!(gift.status, CouponStatus::Registered);
    assert_eq!(gift.owner.as_ref(), Some(&friend));
    println!(
        "payment verified with PortOne and recorded; gift {}… issued to {friend}",
        &gift.code.to_string()[..5]
    );
    // The browser sends its notice twice (a reload): the same gift, not a second one.
    let again = app.payment_notice(&order_id, &imp_uid).await?;
    assert_eq!(again.code, gift.code);
    assert_eq!(app.gifts_issued(), 1);
    println!("the same notice again: the same gift (issued once)");

    println!("\n== 2. The friend registers in the app, finds the gift and uses it at a store");
    let member = app.register(friend_phone);
    assert_eq!(member, friend);
    let inbox = app.inbox(&member).await?;
    assert_eq!(inbox.len(), 1);
    let note = inbox[0].gift.as_ref().ok_or("the coupon carries no gift")?;
    assert_eq!(note.giver, giver);
    println!(
        "{member} registered; inbox: 1 gift from {} — \"{}\", valid until {}",
        note.giver,
        note.message,
        inbox[0].expires_at.date_naive()
    );
    let counter = input(
        &format!("store-{}", app.ids.code(CODES, 8)),
        &[(&americano, 1), (&cookie, 1)],
    );
    let message = refused(
        redeem_at_store(&app.client, &gift, &giver, &counter).await,
        403,
        "COUPON_FOREIGN",
    )?;
    println!("{giver} tries to use the gift: refused 403 COUPON_FOREIGN ({message})");
    let redemption = redeem_at_store(&app.client, &gift, &member, &counter).await?;
    assert_eq!(redemption.discount, americano.price);
    assert_eq!(redemption.coupon.status, CouponStatus::Redeemed);
    assert_eq!(
        redemption.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    let due = counter
        .to_order()?
        .total()
        .checked_sub(redemption.discount)?;
    assert_eq!(due, cookie.price);
    println!(
        "store: Americano + cookie, gift takes {} off ({}), {due} left to pay at the counter",
        redemption.discount, redemption.transaction.status_message
    );
    let next = input(
        &format!("store-{}", app.ids.code(CODES, 8)),
        &[(&americano, 1)],
    );
    let message = refused(
        redeem_at_store(&app.client, &gift, &member, &next).await,
        409,
        "COUPON_SPENT",
    )?;
    println!("the same gift again: refused 409 COUPON_SPENT ({message})");

    println!("\n== 3. Forged payment notices");
    // (a) A cheap payment of another order, claimed for a new gift.
    let cheap = format!("tip-{}", app.ids.code(CODES, 12));
    let other_uid = pay_at_portone(&http, &iamport, &cheap, 100).await?;
    let forged = app.order_gift(&giver, friend_phone, "공짜 커피?", &americano)?;
    let message = notice_refused(
        app.payment_notice(forged.id().as_str(), &other_uid).await,
        422,
        "ORDER_MISMATCH",
    )?;
    println!(
        "₩100 paid for {cheap}, claimed for gift {}: refused 422 ORDER_MISMATCH ({message})",
        forged.id()
    );
    // (b) The gift's own order paid with a tampered amount.
    let tampered = pay_at_portone(&http, &iamport, forged.id().as_str(), 100).await?;
    let message = notice_refused(
        app.payment_notice(forged.id().as_str(), &tampered).await,
        422,
        "AMOUNT_MISMATCH",
    )?;
    let at_portone = iamport.payment(&tampered).ok_or("no payment at PortOne")?;
    assert_eq!(at_portone["status"], "cancelled");
    println!(
        "₩100 paid for the ₩4,500 gift itself: refused 422 AMOUNT_MISMATCH ({message}); PortOne status now {}",
        at_portone["status"]
    );
    assert_eq!(app.gifts_issued(), 1);
    println!("no gift issued for either");
    // (c) A forged PortOne webhook claiming the real gift payment was cancelled.
    let answer: Value = http
        .post(format!("{}/payments/webhooks/iamport", server.uri()))
        .json(&json!({"imp_uid": imp_uid, "merchant_uid": order_id, "status": "cancelled"}))
        .send()
        .await?
        .json()
        .await?;
    // One answer whatever was found (no oracle); what counts is that nothing changed.
    assert_eq!(answer["outcome"], "received", "{answer}");
    let password = lock(&app.orders)
        .get(&order_id)
        .map(|o| o.password.clone())
        .ok_or("order vanished")?;
    let history = app
        .client
        .histories()
        .get(&Accessor {
            schema: "app".into(),
            table: "gift_orders".into(),
            id: order_id.clone(),
            password,
        })
        .await?;
    assert_eq!(history.cancelled_at, None);
    assert_eq!(history.data["status"], "paid");
    println!(
        "forged webhook \"{imp_uid} cancelled\": the server asked PortOne (still {}) and changed nothing ({})",
        history.data["status"], answer["outcome"]
    );

    server.shutdown().await;
    println!("\ngift: done");
    Ok(())
}

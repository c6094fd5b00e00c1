//! An unmanned school store. Boots fake-toss, fake-iamport and the payment server
//! in-process, then plays a kiosk:
//!
//! 1. a student shows a pay-QR from the school app: a token that expires in 20 seconds
//!    and resolves to the student's saved card (a reservation on the server);
//! 2. the kiosk builds the order — the server refuses a basket with a sold-out
//!    (disabled) product and an empty basket (`422 INVALID_ORDER`) — charges it and
//!    shows the transaction's status and total; a QR shown too late is refused;
//! 3. a second basket is paid with a free-milk coupon and the rest on the card;
//! 4. a teacher recognised by the camera types a payment PIN on a shuffled keypad,
//!    which unlocks the teacher's saved card (a wrong PIN is refused by the server).
//!
//! The pay-QR tokens and the keypad are the kiosk app's own logic and live here; time
//! and randomness are injected (`FixedClock`, `IdGen`) so the expiry is shown by moving
//! the clock, never by waiting. Run it with `cargo run --example kiosk`.

use payments::client::{Connection, IdempotencyKey, PaymentsClient};
use payments::core::clock::{Clock, FixedClock, IdGen, RandomIdGen};
use payments::core::coupon::OwnerId;
use payments::core::money::{Currency, Money};
use payments::core::order::{Product, ProductId};
use payments::core::payment_method::PaymentMethod;
use payments::core::records::charges::{
    Charge, ChargeCreate, OrderInput, OrderLineInput, TransactionAccess,
};
use payments::core::records::coupons::{
    CouponIssue, CouponRedeem, CouponRegister, CouponValueRecord,
};
use payments::core::records::{ReservationCreate, Source, Vendor, VendorCode};
use payments::core::secret::Secret;
use payments::core::timestamp::Timestamp;
use payments::core::transaction::TransactionStatus;
use payments::fake_iamport::FakeIamport;
use payments::fake_toss::FakeToss;
use payments::server::PaymentServer;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const SECRET: &str = "kiosk-sealed-v2-secret";
const STORE: &str = "main";

type Error = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------
// The kiosk app's own pieces: pay-QR tokens and the shuffled PIN keypad.
// ---------------------------------------------------------------------------------

/// A saved card as the school app hands it to the kiosk: the reservation and its
/// password. The password is a `Secret` so it never ends up in a log line.
#[derive(Debug, Clone)]
struct SavedCard {
    reservation: Uuid,
    password: Secret<String>,
}

/// Why a scanned pay-QR was refused.
#[derive(Debug, PartialEq, Eq)]
enum QrError {
    /// No such token, or it was used already (tokens are single-use).
    Unknown,
    /// Shown after its 20 seconds.
    Expired { age_seconds: i64 },
}

/// The pay-QR token store: token → saved card, each usable once and only within `ttl`
/// of its issue. Tokens are unguessable codes from the injected `IdGen`; "now" comes
/// from the injected clock.
struct PayQr {
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    ttl: chrono::Duration,
    tokens: Mutex<HashMap<String, (SavedCard, Timestamp)>>,
}

/// Token alphabet: Crockford base32; 26 symbols = 130 bits.
const TOKEN_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl PayQr {
    fn new(clock: Arc<dyn Clock>, ids: Arc<dyn IdGen>) -> Self {
        Self {
            clock,
            ids,
            ttl: chrono::Duration::seconds(20),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// What the student's phone shows as a QR code.
    fn issue(&self, card: SavedCard) -> String {
        let token = self.ids.code(TOKEN_ALPHABET, 26);
        let now = self.clock.now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        // Forget tokens nobody scanned in time, so the map stays small.
        tokens.retain(|_, (_, issued)| now - *issued < self.ttl);
        tokens.insert(token.clone(), (card, now));
        token
    }

    /// The kiosk scans a token: single use, refused once `ttl` has passed.
    fn scan(&self, token: &str) -> Result<SavedCard, QrError> {
        let (card, issued) = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token)
            .ok_or(QrError::Unknown)?;
        let age = self.clock.now() - issued;
        if age >= self.ttl {
            return Err(QrError::Expired {
                age_seconds: age.num_seconds(),
            });
        }
        Ok(card)
    }
}

/// A PIN keypad whose digits sit in a fresh random order for every entry, so someone
/// watching the shopper's finger learns positions, not the PIN.
struct Keypad {
    /// `layout[position]` is the digit shown at that position.
    layout: [u8; 10],
}

impl Keypad {
    /// A Fisher–Yates shuffle of 0–9 drawing every index from the injected `IdGen`
    /// (`code(alphabet, 1)` picks one symbol of `alphabet` uniformly).
    fn shuffled(ids: &dyn IdGen) -> Self {
        const DIGITS: &[u8; 10] = b"0123456789";
        let mut layout = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        for i in (1..layout.len()).rev() {
            let pick = ids.code(&DIGITS[..=i], 1);
            let j = pick.bytes().next().map_or(0, |b| usize::from(b - b'0'));
            layout.swap(i, j);
        }
        Self { layout }
    }

    /// The screen: positions 0–9 left to right, top to bottom.
    fn render(&self) -> String {
        self.layout.iter().map(|d| format!("[{d}]")).collect()
    }

    /// Where `digit` is on the screen (what the shopper looks for).
    fn position_of(&self, digit: u8) -> Option<usize> {
        self.layout.iter().position(|&d| d == digit)
    }

    /// The PIN the tapped positions spell; `None` for a position off the pad.
    fn read(&self, positions: &[usize]) -> Option<String> {
        positions
            .iter()
            .map(|&p| self.layout.get(p).map(|d| char::from(b'0' + d)))
            .collect()
    }
}

/// The shopper's finger: taps where each digit of `pin` is on this keypad.
fn tap(keypad: &Keypad, pin: &str) -> Vec<usize> {
    pin.bytes()
        .filter_map(|b| keypad.position_of(b.wrapping_sub(b'0')))
        .collect()
}

// ---------------------------------------------------------------------------------
// The store's catalogue and baskets.
// ---------------------------------------------------------------------------------

fn product(id: &str, name: &str, price: i64, enabled: bool) -> Result<Product, Error> {
    Ok(Product {
        id: ProductId::new(id),
        name: name.into(),
        price: Money::new(price, Currency::Krw)?,
        enabled,
    })
}

fn basket(id: &str, lines: &[(&Product, i64)]) -> OrderInput {
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

fn source(table: &str, id: &str) -> Source {
    Source {
        schema: "kiosk".into(),
        table: table.into(),
        id: id.into(),
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

/// A charge as the kiosk sends it: the basket is also the payment history's source.
fn charge_input(order: &OrderInput, method: PaymentMethod, password: &str) -> ChargeCreate {
    ChargeCreate {
        source: source("baskets", &order.id),
        order: order.clone(),
        method,
        password: password.into(),
        webhook_url: None,
    }
}

/// Prints what the kiosk screen shows after a charge and checks it with a read-back.
async fn show(client: &PaymentsClient, charge: &Charge, password: &str) -> Result<(), Error> {
    let record = &charge.transaction;
    println!(
        "  screen: {} — total {} (transaction {})",
        record.status_message,
        record.transaction.total(),
        record.transaction.id()
    );
    let read = client
        .transactions()
        .at(
            record.transaction.id(),
            &TransactionAccess {
                password: password.into(),
            },
        )
        .await?;
    assert_eq!(read.transaction.status(), TransactionStatus::Approved);
    assert_eq!(read.transaction.total(), record.transaction.total());
    assert_eq!(read.history_id, Some(charge.history.id));
    println!(
        "  read back: {} / {} / history {}",
        read.transaction.status(),
        read.transaction.total(),
        charge.history.id
    );
    Ok(())
}

async fn toss_post(
    http: &reqwest::Client,
    toss: &FakeToss,
    path: &str,
    body: Value,
) -> Result<Value, Error> {
    let response = http
        .post(format!("{}{path}", toss.uri()))
        .header("Authorization", toss.authorization())
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        return Err(format!("fake-toss {path}: {status} {body}").into());
    }
    Ok(body)
}

async fn iamport_post(
    http: &reqwest::Client,
    iamport: &FakeIamport,
    path: &str,
    body: Value,
) -> Result<Value, Error> {
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
    let answer: Value = http
        .post(format!("{}{path}", iamport.uri()))
        .header("Authorization", token)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    if answer["code"] != 0 {
        return Err(format!("fake-iamport {path}: {answer}").into());
    }
    Ok(answer["response"].clone())
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
    println!(
        "fake-toss {} · fake-iamport {} · server {}",
        toss.uri(),
        iamport.uri(),
        server.uri()
    );
    let client = PaymentsClient::new(Connection::new(server.uri()).sealed_v2(SECRET))?;
    let http = reqwest::Client::new();
    let ids: Arc<dyn IdGen> = Arc::new(RandomIdGen);
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    let qr = PayQr::new(clock.clone(), ids.clone());

    let milk = product("p-milk", "흰우유 200ml", 1_500, true)?;
    let bread = product("p-bread", "소보로빵", 2_000, true)?;
    let juice = product("p-juice", "사과주스", 1_200, true)?;
    let ramen = product("p-ramen", "컵라면 (품절)", 1_800, false)?;

    println!("\n== 0. A student saved a card in the school app (Toss billing key → reservation)");
    let student = "student-1024";
    let billing = toss_post(
        &http,
        &toss,
        "/v1/billing/authorizations/card",
        json!({
            "cardNumber": "4330123412341234", "cardExpirationYear": "30",
            "cardExpirationMonth": "12", "cardPassword": "12",
            "customerBirthday": "080315", "customerKey": student
        }),
    )
    .await?;
    let billing_key = billing["billingKey"].as_str().ok_or("no billingKey")?;
    // The wallet password lives in the school app's backend, never on the kiosk.
    let wallet_password = format!("wallet-{}", ids.uuid());
    let reservation = client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: STORE.into(),
                uid: billing_key.into(),
            },
            // Toss binds a billing key to customerKey = the reservation's source id.
            source: source("members", student),
            title: "학생증 카드".into(),
            password: wallet_password.as_str().into(),
        })
        .await?;
    println!("saved card: reservation {}", reservation.id);
    let card = SavedCard {
        reservation: reservation.id,
        password: wallet_password.as_str().into(),
    };

    println!("\n== 1. The student shows a pay-QR; the kiosk scans it");
    let token = qr.issue(card.clone());
    println!("phone shows QR token {}… (valid 20 s)", &token[..6]);
    clock.advance(chrono::Duration::seconds(5));
    let scanned = qr
        .scan(&token)
        .map_err(|e| format!("a fresh QR was refused: {e:?}"))?;
    assert_eq!(scanned.reservation, reservation.id);
    println!("scanned after 5 s: saved card {}", scanned.reservation);
    assert_eq!(qr.scan(&token).err(), Some(QrError::Unknown));
    println!("the same QR scanned again: refused (single use)");
    let method = PaymentMethod::saved_card_by_id(scanned.reservation, scanned.password.clone())?;

    println!("\n== 2. The kiosk builds the order and charges it");
    let basket_id = format!("basket-{}", ids.code(TOKEN_ALPHABET, 10));
    let password = format!("receipt-{}", ids.uuid());
    let mut attempt = 0;
    let mut key = |basket: &str| {
        attempt += 1;
        IdempotencyKey::new(format!("kiosk-7/{basket}/{attempt}"))
    };
    let sold_out = basket(&basket_id, &[(&milk, 1), (&ramen, 1)]);
    let message = refused(
        client
            .charges()
            .create(
                &charge_input(&sold_out, method.clone(), &password),
                &key(&basket_id)?,
            )
            .await,
        422,
        "INVALID_ORDER",
    )?;
    println!("basket with a sold-out item: refused 422 INVALID_ORDER ({message})");
    let empty = basket(&basket_id, &[]);
    let message = refused(
        client
            .charges()
            .create(
                &charge_input(&empty, method.clone(), &password),
                &key(&basket_id)?,
            )
            .await,
        422,
        "INVALID_ORDER",
    )?;
    println!("empty basket: refused 422 INVALID_ORDER ({message})");
    let order = basket(&basket_id, &[(&milk, 2), (&bread, 1)]);
    let order_key = key(&basket_id)?;
    let charge = client
        .charges()
        .create(&charge_input(&order, method.clone(), &password), &order_key)
        .await?;
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    assert_eq!(
        charge.transaction.transaction.total(),
        Money::new(5_000, Currency::Krw)?
    );
    assert_eq!(charge.history.price, 5_000);
    println!(
        "milk ×2 + bread: charged {} to the saved card",
        charge.transaction.transaction.total()
    );
    show(&client, &charge, &password).await?;
    // The kiosk lost the answer and retries with the same key: the same charge, not a new one.
    let again = client
        .charges()
        .create(&charge_input(&order, method.clone(), &password), &order_key)
        .await?;
    assert_eq!(
        again.transaction.transaction.id(),
        charge.transaction.transaction.id()
    );
    println!("a retry with the same key answers the same transaction (charged once)");

    println!("\n   A QR shown too late");
    let late = qr.issue(card.clone());
    clock.advance(chrono::Duration::seconds(21));
    match qr.scan(&late) {
        Err(QrError::Expired { age_seconds: 21 }) => {
            println!(
                "scanned after 21 s: refused (expired: 20 s is the limit); the phone shows a fresh QR"
            );
        }
        other => {
            return Err(format!("a 21-second-old QR was not refused as expired: {other:?}").into());
        }
    }

    println!("\n== 3. A second basket, paid with a coupon and the card");
    let coupon = client
        .coupons()
        .issue(&CouponIssue {
            value: CouponValueRecord::Product {
                product_id: milk.id.clone(),
            },
            expires_at: chrono::Utc::now() + chrono::Duration::days(30),
            count: None,
        })
        .await?
        .coupons
        .into_iter()
        .next()
        .ok_or("no coupon issued")?;
    let owner = OwnerId::new(student);
    client
        .coupons()
        .register(&CouponRegister {
            code: coupon.code.clone(),
            owner: owner.clone(),
        })
        .await?;
    println!(
        "the student registered a free-milk coupon {}…",
        &coupon.code.to_string()[..5]
    );
    let second = qr
        .scan(&qr.issue(card.clone()))
        .map_err(|e| format!("QR refused: {e:?}"))?;
    let method = PaymentMethod::saved_card_by_id(second.reservation, second.password)?;
    let basket_id = format!("basket-{}", ids.code(TOKEN_ALPHABET, 10));
    let password = format!("receipt-{}", ids.uuid());
    let full = basket(&basket_id, &[(&milk, 1), (&juice, 1)]);
    let redemption = client
        .coupons()
        .redeem(&CouponRedeem {
            code: coupon.code.clone(),
            owner,
            order: full.clone(),
            password: password.as_str().into(),
        })
        .await?;
    assert_eq!(redemption.discount, milk.price);
    assert_eq!(
        redemption.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    println!(
        "coupon: {} off — screen: {}",
        redemption.discount, redemption.transaction.status_message
    );
    // The card pays what the coupon did not: the basket without the free milk.
    let rest = basket(&basket_id, &[(&juice, 1)]);
    let charge = client
        .charges()
        .create(&charge_input(&rest, method, &password), &key(&basket_id)?)
        .await?;
    assert_eq!(charge.transaction.transaction.total(), juice.price);
    println!(
        "card: {} for the rest",
        charge.transaction.transaction.total()
    );
    show(&client, &charge, &password).await?;
    let paid = redemption
        .discount
        .checked_add(charge.transaction.transaction.total())?;
    assert_eq!(paid, Money::new(2_700, Currency::Krw)?);
    println!(
        "basket total {paid} = coupon {} + card {}",
        redemption.discount, juice.price
    );

    println!("\n== 4. A teacher recognised by the camera pays with a PIN");
    // The teacher's card is saved at PortOne (customer_uid) and kept as a reservation
    // whose password is the teacher's 6-digit payment PIN. The server checks it (PBKDF2)
    // on every charge; six digits are few, so a real kiosk also caps wrong tries.
    let teacher = "teacher-7";
    let pin = "482916";
    iamport_post(
        &http,
        &iamport,
        &format!("/subscribe/customers/{teacher}"),
        json!({
            "card_number": "4330-1234-1234-1234", "expiry": "2030-12",
            "birth": "800101", "pwd_2digit": "12"
        }),
    )
    .await?;
    let teacher_card = client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::Iamport,
                store_id: STORE.into(),
                uid: teacher.into(),
            },
            source: source("members", teacher),
            title: "교직원 카드".into(),
            password: pin.into(),
        })
        .await?;
    // Face recognition is the camera vendor's; here a face is the template it answers.
    let faces: HashMap<&str, Source> =
        HashMap::from([("face-template-7f3a", source("members", teacher))]);
    let recognised = faces
        .get("face-template-7f3a")
        .ok_or("face not enrolled")?
        .clone();
    println!(
        "camera: recognised {} (card {})",
        recognised.id, teacher_card.id
    );

    let basket_id = format!("basket-{}", ids.code(TOKEN_ALPHABET, 10));
    let password = format!("receipt-{}", ids.uuid());
    let order = basket(&basket_id, &[(&bread, 2)]);
    let keypad = Keypad::shuffled(ids.as_ref());
    println!("keypad: {}", keypad.render());
    let typo = tap(&keypad, "482917");
    let entered = keypad.read(&typo).ok_or("a tap off the keypad")?;
    let method = PaymentMethod::saved_card_by_source(recognised.clone(), entered.into())?;
    let message = refused(
        client
            .charges()
            .create(&charge_input(&order, method, &password), &key(&basket_id)?)
            .await,
        403,
        "WRONG_PASSWORD",
    )?;
    println!("taps {typo:?} (one digit wrong): refused 403 WRONG_PASSWORD ({message})");
    let keypad = Keypad::shuffled(ids.as_ref());
    println!("keypad, reshuffled: {}", keypad.render());
    let taps = tap(&keypad, pin);
    let entered = keypad.read(&taps).ok_or("a tap off the keypad")?;
    let method = PaymentMethod::saved_card_by_source(recognised, entered.into())?;
    let charge = client
        .charges()
        .create(&charge_input(&order, method, &password), &key(&basket_id)?)
        .await?;
    assert_eq!(charge.history.vendor.code, VendorCode::Iamport);
    assert_eq!(
        charge.transaction.transaction.total(),
        Money::new(4_000, Currency::Krw)?
    );
    println!(
        "taps {taps:?}: the PIN unlocked the card; charged {}",
        charge.transaction.transaction.total()
    );
    show(&client, &charge, &password).await?;

    server.shutdown().await;
    println!("\nkiosk: done");
    Ok(())
}

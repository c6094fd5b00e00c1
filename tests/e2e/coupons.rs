//! Coupon and gift scenarios: issue, register, redeem, gift and read through the sealed
//! routes; every refusal's code; guessing slowed down; concurrent redemptions of one
//! coupon with exactly one winner; the redemption's transaction and its event.
//!
//! The scenarios talk to the routes through a small local caller ([`Api`]) that seals
//! requests and opens answers itself, in either envelope, so they pin the raw wire (the
//! SDK's `coupons()` group is a thin typed layer over the same calls).

use crate::common::*;
use fake_iamport::FakeIamport;
use fake_toss::FakeToss;
use payments::core::clock::{Clock, FixedClock};
use payments::core::envelope::{Binding, Envelope, TIMESTAMP_HEADER};
use payments::core::records::charges::{TransactionKind, TransactionRecord};
use payments::core::records::coupons::{
    CouponRecord, CouponRedemption, CouponStatus, CouponsIssued,
};
use payments::core::transaction::{TransactionEvent, TransactionStatus};
use payments::server::ServerHandle;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

/// One answer: status, `Retry-After`, and the body (opened when sealed).
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }

    #[track_caller]
    fn refused(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.body);
        assert_eq!(self.body["status"], status);
    }
}

/// Calls sealed routes with either envelope, as any client of the wire would.
struct Api {
    http: reqwest::Client,
    base: String,
    envelope: Envelope,
}

impl Api {
    fn new(server: &ServerHandle, wire: Wire) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: server.uri(),
            envelope: envelope(wire),
        }
    }

    /// An [`Api`] whose connections come from `source` (another loopback address, so
    /// the server sees another caller).
    fn from_address(server: &ServerHandle, wire: Wire, source: std::net::IpAddr) -> Self {
        Self {
            http: reqwest::Client::builder()
                .local_address(source)
                .build()
                .unwrap(),
            ..Self::new(server, wire)
        }
    }

    async fn call(&self, method: Method, path: &str, body: &Value, key: Option<&str>) -> Answer {
        let timestamp_ms = chrono::Utc::now().timestamp_millis();
        let plaintext = serde_json::to_vec(body).unwrap();
        let sealed = self.envelope.seal(
            &plaintext,
            &Binding {
                method: method.as_str(),
                path,
                timestamp_ms,
                idempotency_key: key,
            },
        );
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("content-type", self.envelope.kind().content_type())
            .body(sealed);
        if matches!(self.envelope, Envelope::SealedV2(_)) {
            request = request.header(TIMESTAMP_HEADER, timestamp_ms.to_string());
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        let answer_ts = response
            .headers()
            .get(TIMESTAMP_HEADER)
            .map(|v| v.to_str().unwrap().parse::<i64>().unwrap())
            .unwrap_or(0);
        let text = response.text().await.unwrap();
        let body = if (200..300).contains(&status) {
            let json = self
                .envelope
                .open(
                    &text,
                    &Binding {
                        method: method.as_str(),
                        path,
                        timestamp_ms: answer_ts,
                        idempotency_key: None,
                    },
                )
                .expect("a sealed answer bound to this request");
            serde_json::from_slice(&json).unwrap()
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("plain JSON error body: {text}"))
        };
        Answer {
            status,
            retry_after,
            body,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, &body, None).await
    }

    async fn issue(&self, value: Value, expires_at: &str, count: Option<u32>) -> CouponsIssued {
        let mut body = json!({"value": value, "expires_at": expires_at});
        if let Some(count) = count {
            body["count"] = json!(count);
        }
        serde_json::from_value(self.post("/payments/coupons", body).await.expect(201)).unwrap()
    }

    async fn register(&self, code: &str, owner: &str) -> Answer {
        self.post(
            "/payments/coupons/register",
            json!({"code": code, "owner": owner}),
        )
        .await
    }

    async fn get(&self, code: &str, owner: &str) -> Answer {
        self.call(
            Method::PATCH,
            "/payments/coupons/get",
            &json!({"code": code, "owner": owner}),
            None,
        )
        .await
    }

    async fn redeem(&self, code: &str, owner: &str, order: Value) -> Answer {
        self.post("/payments/coupons/redeem", redeem_body(code, owner, order))
            .await
    }
}

fn redeem_body(code: &str, owner: &str, order: Value) -> Value {
    json!({"code": code, "owner": owner, "order": order, "password": PASSWORD})
}

fn krw(amount: i64) -> Value {
    json!({"type": "amount", "amount": {"amount": amount, "currency": "KRW"}})
}

fn product(id: &str) -> Value {
    json!({"type": "product", "product_id": id})
}

/// An order of `quantity` × `product` at `price` won.
fn order(id: &str, product: &str, price: i64, quantity: i64) -> Value {
    json!({"id": id, "lines": [{
        "product": {"id": product, "name": product, "price": {"amount": price, "currency": "KRW"}, "enabled": true},
        "quantity": quantity
    }]})
}

fn in_days(days: i64) -> String {
    payments::core::timestamp::format(&(chrono::Utc::now() + chrono::Duration::days(days)))
}

/// A server (and its fakes) with an injected clock, on a temporary SQLite file.
struct CouponServer {
    server: ServerHandle,
    _toss: FakeToss,
    _iamport: FakeIamport,
    _dir: tempfile::TempDir,
}

async fn coupon_server(clock: Arc<FixedClock>) -> CouponServer {
    let dir = tempfile::tempdir().unwrap();
    let database = dir
        .path()
        .join("payments.sqlite")
        .to_string_lossy()
        .into_owned();
    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    CouponServer {
        server: server_builder(&toss, &iamport, &database)
            .clock(clock)
            .start()
            .await
            .unwrap(),
        _toss: toss,
        _iamport: iamport,
        _dir: dir,
    }
}

#[tokio::test]
async fn coupons_are_issued_registered_redeemed_once_and_read_back() {
    let app = spawn_app().await;
    let api = Api::new(&app.server, Wire::SealedV2);

    let issued = api.issue(krw(3_000), &in_days(30), Some(3)).await;
    assert_eq!(issued.coupons.len(), 3);
    let mut codes: Vec<String> = issued.coupons.iter().map(|c| c.code.to_string()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 3, "distinct codes");
    let coupon = &issued.coupons[0];
    assert_eq!(
        (coupon.status, coupon.owner.clone()),
        (CouponStatus::Issued, None)
    );
    let code = coupon.code.to_string();
    assert_eq!(code.len(), 23, "four groups of five: {code}");

    // A code typed in lower case with spaces is the same code.
    let typed = code.to_lowercase().replace('-', " ");
    let registered: CouponRecord =
        serde_json::from_value(api.register(&typed, "member-1").await.expect(200)).unwrap();
    assert_eq!(registered.status, CouponStatus::Registered);
    assert_eq!(
        registered.owner.as_ref().map(|o| o.as_str()),
        Some("member-1")
    );
    assert!(registered.registered_at.is_some());

    let read: CouponRecord =
        serde_json::from_value(api.get(&code, "member-1").await.expect(200)).unwrap();
    assert_eq!(read, registered);

    // 2 × 1,000 won: the 3,000 won coupon is capped at the order's total.
    let redeemed = api
        .redeem(&code, "member-1", order("order-1", "cookie", 1_000, 2))
        .await
        .expect(200);
    let redemption: CouponRedemption = serde_json::from_value(redeemed).unwrap();
    assert_eq!(redemption.discount.amount(), 2_000);
    assert_eq!(redemption.coupon.status, CouponStatus::Redeemed);
    assert_eq!(
        redemption.coupon.order_id.as_ref().map(|o| o.as_str()),
        Some("order-1")
    );
    let transaction = &redemption.transaction;
    assert_eq!(transaction.kind, TransactionKind::Coupon);
    assert_eq!(
        transaction.transaction.status(),
        TransactionStatus::Approved
    );
    assert_eq!(transaction.transaction.total(), redemption.discount);
    assert_eq!(transaction.transaction.order_id().as_str(), "order-1");

    // The transaction is stored and readable with the redemption's password.
    let path = format!("/payments/transactions/{}", transaction.transaction.id());
    let stored = api
        .call(Method::PATCH, &path, &json!({"password": PASSWORD}), None)
        .await
        .expect(200);
    let stored: TransactionRecord = serde_json::from_value(stored).unwrap();
    assert_eq!(&stored, transaction);
    api.call(Method::PATCH, &path, &json!({"password": "not it"}), None)
        .await
        .refused(403, "WRONG_PASSWORD");

    // Once only.
    api.redeem(&code, "member-1", order("order-2", "cookie", 1_000, 2))
        .await
        .refused(409, "COUPON_SPENT");
    let after: CouponRecord =
        serde_json::from_value(api.get(&code, "member-1").await.expect(200)).unwrap();
    assert_eq!(after, redemption.coupon);
    assert_eq!(after.registered_at, registered.registered_at);

    // The other coupons of the batch are untouched.
    let other: CouponRecord = serde_json::from_value(
        api.register(
            &codes.iter().find(|c| **c != code).unwrap().clone(),
            "member-2",
        )
        .await
        .expect(200),
    )
    .unwrap();
    assert_eq!(other.status, CouponStatus::Registered);
}

#[tokio::test]
async fn gifts_arrive_registered_to_their_recipient_with_the_message() {
    let app = spawn_app_with(Wire::Compat).await;
    let api = Api::new(&app.server, Wire::Compat);
    let gift = api
        .post(
            "/payments/coupons/gift",
            json!({
                "value": product("americano"), "expires_at": in_days(7),
                "giver": "member-1", "recipient": "member-2", "message": "커피 한 잔 하세요"
            }),
        )
        .await
        .expect(201);
    let gift: CouponRecord = serde_json::from_value(gift).unwrap();
    assert_eq!(gift.status, CouponStatus::Registered);
    assert_eq!(gift.owner.as_ref().map(|o| o.as_str()), Some("member-2"));
    let note = gift.gift.clone().unwrap();
    assert_eq!(
        (note.giver.as_str(), note.message.as_str()),
        ("member-1", "커피 한 잔 하세요")
    );
    let code = gift.code.to_string();

    // Only the recipient reads or uses it; registering it again is refused.
    api.get(&code, "member-1")
        .await
        .refused(403, "COUPON_FOREIGN");
    let read: CouponRecord =
        serde_json::from_value(api.get(&code, "member-2").await.expect(200)).unwrap();
    assert_eq!(read, gift);
    api.register(&code, "member-2")
        .await
        .refused(409, "COUPON_ALREADY_REGISTERED");
    api.redeem(
        &code,
        "member-1",
        order("gift-order-0", "americano", 4_000, 1),
    )
    .await
    .refused(403, "COUPON_FOREIGN");

    // One americano of two is free.
    let redeemed = api
        .redeem(
            &code,
            "member-2",
            order("gift-order-1", "americano", 4_000, 2),
        )
        .await
        .expect(200);
    assert_eq!(
        redeemed["discount"],
        json!({"amount": 4000, "currency": "KRW"})
    );
    assert_eq!(redeemed["coupon"]["gift"]["message"], "커피 한 잔 하세요");

    api.post(
        "/payments/coupons/gift",
        json!({"value": krw(1_000), "expires_at": in_days(7), "giver": "m", "recipient": "m", "message": ""}),
    )
    .await
    .refused(422, "GIFT_TO_SELF");
}

#[tokio::test]
async fn every_refusal_has_its_own_code_and_status() {
    // An injected clock moves coupons past their expiry and guessers past their lock;
    // compat requests carry no timestamp, so the server's clock may stand still.
    let now = chrono::Utc::now();
    let clock = Arc::new(FixedClock::new(now));
    let server = coupon_server(clock.clone()).await;
    let api = Api::new(&server.server, Wire::Compat);
    let expiry = payments::core::timestamp::format(&(now + chrono::Duration::hours(1)));
    let issued = api.issue(product("latte"), &expiry, Some(4)).await;
    let code = |n: usize| issued.coupons[n].code.to_string();

    // Unknown code.
    api.register("ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ", "member-1")
        .await
        .refused(404, "COUPON_NOT_FOUND");
    // Unregistered.
    api.redeem(&code(0), "member-1", order("o-1", "latte", 5_000, 1))
        .await
        .refused(422, "COUPON_NOT_REGISTERED");
    api.get(&code(0), "member-1")
        .await
        .refused(422, "COUPON_NOT_REGISTERED");
    // Already registered.
    api.register(&code(0), "member-1").await.expect(200);
    api.register(&code(0), "member-1")
        .await
        .refused(409, "COUPON_ALREADY_REGISTERED");
    api.register(&code(0), "member-9")
        .await
        .refused(409, "COUPON_ALREADY_REGISTERED");
    // Someone else's.
    api.redeem(&code(0), "member-2", order("o-1", "latte", 5_000, 1))
        .await
        .refused(403, "COUPON_FOREIGN");
    // Not for this order: another product, or an amount coupon in another currency.
    api.redeem(&code(0), "member-1", order("o-1", "mocha", 5_000, 1))
        .await
        .refused(422, "COUPON_NOT_APPLICABLE");
    let dollars = api
        .issue(
            json!({"type": "amount", "amount": {"amount": 500, "currency": "USD"}}),
            &expiry,
            None,
        )
        .await;
    let dollar_code = dollars.coupons[0].code.to_string();
    api.register(&dollar_code, "member-1").await.expect(200);
    api.redeem(&dollar_code, "member-1", order("o-1", "latte", 5_000, 1))
        .await
        .refused(422, "COUPON_NOT_APPLICABLE");
    // Spent.
    api.redeem(&code(0), "member-1", order("o-1", "latte", 5_000, 1))
        .await
        .expect(200);
    api.redeem(&code(0), "member-1", order("o-2", "latte", 5_000, 1))
        .await
        .refused(409, "COUPON_SPENT");
    api.register(&code(0), "member-1")
        .await
        .refused(409, "COUPON_SPENT");
    // Expired: registered or not, an hour later it is no longer usable.
    api.register(&code(1), "member-1").await.expect(200);
    clock.advance(chrono::Duration::hours(1));
    api.redeem(&code(1), "member-1", order("o-3", "latte", 5_000, 1))
        .await
        .refused(422, "COUPON_EXPIRED");
    api.register(&code(2), "member-1")
        .await
        .refused(422, "COUPON_EXPIRED");

    // Bad input names its field.
    api.post(
        "/payments/coupons",
        json!({"value": krw(1_000), "expires_at": in_days(1), "count": 0}),
    )
    .await
    .refused(400, "INVALID_FIELD");
    let too_many = api
        .post(
            "/payments/coupons",
            json!({"value": krw(1_000), "expires_at": in_days(1), "count": 1001}),
        )
        .await;
    too_many.refused(400, "INVALID_FIELD");
    assert!(
        too_many.body["message"]
            .as_str()
            .unwrap()
            .starts_with("count"),
        "{}",
        too_many.body
    );
    api.post(
        "/payments/coupons",
        json!({"value": krw(0), "expires_at": in_days(1)}),
    )
    .await
    .refused(400, "INVALID_FIELD");
    let past = payments::core::timestamp::format(&(now - chrono::Duration::days(1)));
    api.post(
        "/payments/coupons",
        json!({"value": krw(1_000), "expires_at": past}),
    )
    .await
    .refused(400, "INVALID_FIELD");
    // A compat body that does not decode gets the one compat refusal (no padding oracle);
    // the same body over sealed-v2 names the field (tests/e2e/failures.rs).
    api.register("not a code", "member-1")
        .await
        .refused(400, "UNDECRYPTABLE");
    api.register(&code(3), "")
        .await
        .refused(400, "INVALID_FIELD");
}

#[tokio::test]
async fn guessing_codes_is_slowed_down_per_caller_and_a_right_code_always_passes() {
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    let server = coupon_server(clock.clone()).await;
    let api = Api::new(&server.server, Wire::Compat);
    let expiry = payments::core::timestamp::format(&(clock.now() + chrono::Duration::days(1)));
    let issued = api.issue(krw(1_000), &expiry, Some(2)).await;
    let real = |n: usize| issued.coupons[n].code.to_string();

    for n in 0..5 {
        let guess = format!("ABCDE-FGHJK-MNPQR-STVW{}", n);
        api.register(&guess, "guesser")
            .await
            .refused(404, "COUPON_NOT_FOUND");
    }
    // Locked: this caller's wrong codes are refused with Retry-After, under any owner.
    let locked = api.register("ABCDE-FGHJK-MNPQR-STVWX", "guesser").await;
    locked.refused(429, "TOO_MANY_ATTEMPTS");
    assert_eq!(locked.retry_after, Some(60));
    let read = api.get("ABCDE-FGHJK-MNPQR-STVWX", "someone-else").await;
    read.refused(429, "TOO_MANY_ATTEMPTS");
    assert!(read.retry_after.is_some());
    // A right code is answered all the same: holding it is no guess.
    let registered = api.register(&real(0), "guesser").await.expect(200);
    assert_eq!(registered["owner"], "guesser");
    api.get(&real(0), "guesser").await.expect(200);

    // After the lock, wrong codes count again; the next lock is twice as long.
    clock.advance(chrono::Duration::seconds(30));
    assert_eq!(
        api.get("ABCDE-FGHJK-MNPQR-STVWX", "guesser")
            .await
            .retry_after,
        Some(30)
    );
    clock.advance(chrono::Duration::seconds(30));
    for n in 0..5 {
        let guess = format!("ABCDE-FGHJK-MNPQR-STVW{}", n);
        api.get(&guess, "guesser")
            .await
            .refused(404, "COUPON_NOT_FOUND");
    }
    let locked = api.get("ABCDE-FGHJK-MNPQR-STVWX", "guesser").await;
    assert_eq!(locked.retry_after, Some(120));
    api.register(&real(1), "guesser").await.expect(200);
}

#[tokio::test]
async fn a_guesser_naming_a_victims_owner_id_does_not_lock_the_victim_out() {
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    let server = coupon_server(clock.clone()).await;
    let attacker = Api::new(&server.server, Wire::Compat);
    let victim = Api::from_address(&server.server, Wire::Compat, [127, 0, 0, 2].into());
    let expiry = payments::core::timestamp::format(&(clock.now() + chrono::Duration::days(1)));
    let code = attacker.issue(krw(1_000), &expiry, None).await.coupons[0]
        .code
        .to_string();
    // The attacker guesses under the victim's owner id until it is locked.
    for n in 0..6 {
        let guess = format!("ABCDE-FGHJK-MNPQR-STVW{}", n);
        attacker.register(&guess, "victim").await;
    }
    attacker
        .register("ABCDE-FGHJK-MNPQR-STVWX", "victim")
        .await
        .refused(429, "TOO_MANY_ATTEMPTS");
    // The victim, calling from its own address, mistypes and is told so, then registers.
    victim
        .register("ABCDE-FGHJK-MNPQR-STVWX", "victim")
        .await
        .refused(404, "COUPON_NOT_FOUND");
    let registered = victim.register(&code, "victim").await.expect(200);
    assert_eq!(registered["owner"], "victim");
    victim.get(&code, "victim").await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_coupon_have_exactly_one_winner_and_one_event() {
    // A production-like PBKDF2 cost holds every request between its read of the coupon
    // and its write for a while, so the requests really overlap: without the version
    // check they would all win.
    let events = EventSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir
        .path()
        .join("payments.sqlite")
        .to_string_lossy()
        .into_owned();
    let (toss, iamport) = (FakeToss::start().await, FakeIamport::start().await);
    let server = server_builder(&toss, &iamport, &database)
        .password_iterations(100_000)
        .event_url(events.url.clone())
        .start()
        .await
        .unwrap();
    let api = Arc::new(Api::new(&server, Wire::SealedV2));
    let code = api.issue(krw(1_000), &in_days(1), None).await.coupons[0]
        .code
        .to_string();
    api.register(&code, "member-1").await.expect(200);

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let api = api.clone();
        let code = code.clone();
        tasks.spawn(async move {
            api.redeem(
                &code,
                "member-1",
                order(&format!("race-{n}"), "cake", 6_000, 1),
            )
            .await
        });
    }
    let mut winners = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        if answer.status == 200 {
            winners.push(answer.body);
        } else {
            answer.refused(409, "COUPON_SPENT");
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption wins");
    let redemption: CouponRedemption = serde_json::from_value(winners.remove(0)).unwrap();
    let transaction = redemption.transaction.transaction.clone();
    assert_eq!(transaction.status(), TransactionStatus::Approved);
    assert_eq!(transaction.total().amount(), 1_000);

    // Exactly one transaction was stored, for the winner's order only.
    let store = server.store();
    let mut stored = 0;
    for n in 0..20 {
        stored += store
            .transactions_by_order(TransactionKind::Coupon, &format!("race-{n}"))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(stored, 1);

    // Its Approved event reaches the merchant's event URL.
    let events = events.wait_for(1).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.transaction.transaction.id(), transaction.id());
    assert_eq!(event.transaction.kind, TransactionKind::Coupon);
    match &event.event {
        TransactionEvent::Approved {
            transaction_id,
            amount,
            ..
        } => {
            assert_eq!(*transaction_id, transaction.id());
            assert_eq!(amount.amount(), 1_000);
        }
        other => panic!("expected an Approved event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_redemption_retried_with_its_key_is_answered_again_not_refused() {
    let app = spawn_app().await;
    let api = Api::new(&app.server, Wire::SealedV2);
    let code = api.issue(krw(500), &in_days(1), None).await.coupons[0]
        .code
        .to_string();
    api.register(&code, "member-1").await.expect(200);
    let body = redeem_body(&code, "member-1", order("idem-order", "tea", 3_000, 1));
    let first = api
        .call(
            Method::POST,
            "/payments/coupons/redeem",
            &body,
            Some("order-idem/coupon"),
        )
        .await
        .expect(200);
    let again = api
        .call(
            Method::POST,
            "/payments/coupons/redeem",
            &body,
            Some("order-idem/coupon"),
        )
        .await
        .expect(200);
    assert_eq!(first, again);
    // Without the key the same request is a second redemption, and refused.
    api.redeem(&code, "member-1", order("idem-order", "tea", 3_000, 1))
        .await
        .refused(409, "COUPON_SPENT");
}
#[tokio::test]
async fn the_sdk_drives_every_coupon_route() {
    use payments::core::coupon::OwnerId;
    use payments::core::money::{Currency, Money};
    use payments::core::order::Product;
    use payments::core::records::charges::{OrderInput, OrderLineInput, TransactionAccess};
    use payments::core::records::coupons::{
        CouponAccess, CouponIssue, CouponRedeem, CouponRegister, CouponValueRecord, GiftCreate,
    };

    let app = spawn_app().await;
    let coupons = app.client.coupons();
    let krw = |amount| Money::new(amount, Currency::Krw).unwrap();
    let expires_at = chrono::Utc::now() + chrono::Duration::days(1);
    let issued = coupons
        .issue(&CouponIssue {
            value: CouponValueRecord::Amount { amount: krw(700) },
            expires_at,
            count: Some(2),
        })
        .await
        .unwrap();
    assert_eq!(issued.coupons.len(), 2);
    let code = issued.coupons[0].code.clone();
    let owner = OwnerId::new("sdk-member");
    let registered = coupons
        .register(&CouponRegister {
            code: code.clone(),
            owner: owner.clone(),
        })
        .await
        .unwrap();
    assert_eq!(registered.status, CouponStatus::Registered);
    let order = OrderInput {
        id: "sdk-order".into(),
        lines: vec![OrderLineInput {
            product: Product {
                id: "bagel".into(),
                name: "Bagel".into(),
                price: krw(2_500),
                enabled: true,
            },
            quantity: 1,
        }],
    };
    let input = CouponRedeem {
        code: code.clone(),
        owner: owner.clone(),
        order,
        password: PASSWORD.into(),
    };
    let key = payments::client::IdempotencyKey::new("sdk-order/coupon").unwrap();
    let redemption = coupons.redeem_with_key(&input, &key).await.unwrap();
    assert_eq!(redemption.discount, krw(700));
    assert_eq!(
        coupons.redeem_with_key(&input, &key).await.unwrap(),
        redemption
    );
    let error = coupons.redeem(&input).await.unwrap_err();
    assert_eq!(error.code_str(), Some("COUPON_SPENT"));
    let read = coupons.get(&CouponAccess { code, owner }).await.unwrap();
    assert_eq!(read, redemption.coupon);
    let transaction = app
        .client
        .transactions()
        .at(
            redemption.transaction.transaction.id(),
            &TransactionAccess {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(transaction, redemption.transaction);
    let gift = coupons
        .gift(&GiftCreate {
            value: CouponValueRecord::Product {
                product_id: "bagel".into(),
            },
            expires_at,
            giver: OwnerId::new("a"),
            recipient: OwnerId::new("b"),
            message: "for you".into(),
        })
        .await
        .unwrap();
    assert_eq!(gift.owner, Some(OwnerId::new("b")));
}

//! Coupons and gifts: issue, gift, register, redeem and read, over the core rules of
//! [`payments_core::coupon`].
//!
//! - **Codes are bearer secrets.** A row is found by [`code_hash`]: SHA-256 of the
//!   canonical code under a fixed domain prefix. A code carries 100 bits from the CSPRNG,
//!   so reversing the hash is a 2^100 search even with the database in hand; a keyed
//!   HMAC would add nothing against that and would tie every lookup to a key that
//!   rotates (the data keys do). The coupon itself (code, value, owner, gift message,
//!   state) is sealed at rest with the data keys, bound to its hash.
//! - **Redemption is atomic and happens once.** The coupon's new state, its transaction
//!   (kind `coupon`, total = the discount, approved at once) and the transaction's
//!   `Approved` event go to the store in one SQL transaction, conditional on the coupon's
//!   version: of concurrent redemptions exactly one writes, the others read the coupon
//!   again and are refused as spent.
//! - **Guessing is slowed down.** Every unknown code (and every code of another owner)
//!   counts against the *caller* (the connection's source, see
//!   [`Caller`](crate::http::caller::Caller)) in
//!   [`GuessGuard`](crate::guess_guard::GuessGuard); past its threshold the caller's wrong
//!   codes are refused for an exponentially growing time. Not the owner the request
//!   names: anyone could name a victim's owner id and lock the victim out. And a right
//!   code is never refused, locked or not: it proves the caller holds the coupon, and a
//!   shop's backend, one caller for all its customers, must not lock out the customer
//!   who has the code because another one typed wrong.

use crate::app::App;
use crate::errors::{FieldError, Internal};
use crate::store::coupons::StoredCoupon;
use crate::store::{StoreError, TransactionWrite};
use crate::{transactions, validate};
use payments_core::coupon::{Coupon, CouponCode, CouponError, CouponValue, OwnerId};
use payments_core::records::charges::TransactionKind;
use payments_core::records::coupons::{
    CouponAccess, CouponIssue, CouponRecord, CouponRedeem, CouponRedemption, CouponRegister,
    CouponStatus, CouponValueRecord, CouponsIssued, GiftCreate, MAX_ISSUE_COUNT,
};
use payments_core::timestamp::{self, Timestamp};
use payments_core::transaction::TransactionError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Longest gift message, in characters.
pub const MAX_MESSAGE_LEN: usize = 1_000;

/// How often a write re-reads a coupon that changed under it before giving up. Each
/// retry sees the other writer's result, so one retry normally settles it.
const MAX_RACES: usize = 8;

/// The lookup key of a code: hex SHA-256 of `payments-coupon-code:v1:` and the canonical
/// code (see the module docs for why it is not keyed).
pub fn code_hash(code: &CouponCode) -> String {
    let mut digest = Sha256::new();
    digest.update(b"payments-coupon-code:v1:");
    digest.update(code.as_str().as_bytes());
    digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The sealed body of a stored coupon. `registered_at` is kept beside the coupon
/// because the domain state forgets it once the coupon is redeemed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Body {
    coupon: Coupon,
    #[serde(with = "payments_core::timestamp::option")]
    registered_at: Option<Timestamp>,
}

impl Body {
    fn record(&self) -> CouponRecord {
        CouponRecord::new(&self.coupon, self.registered_at)
    }
}

fn context(code_hash: &str) -> String {
    format!("coupon:{code_hash}")
}

fn seal(app: &App, hash: &str, body: &Body, version: i64) -> StoredCoupon {
    StoredCoupon {
        code_hash: hash.to_owned(),
        status: CouponStatus::from(body.coupon.state()),
        body_sealed: app.data_keys.seal_json(&context(hash), body),
        issued_at: body.coupon.issued_at(),
        expires_at: body.coupon.expires_at(),
        version,
    }
}

fn open(app: &App, stored: &StoredCoupon) -> Result<Body, Internal> {
    app.data_keys
        .open_json(&context(&stored.code_hash), &stored.body_sealed)
        .map_err(Internal::new)
}

/// Why a coupon was not issued, gifted, registered, redeemed or read.
#[derive(Debug, thiserror::Error)]
pub enum CouponsError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The order breaks a core rule.
    #[error("order: {0}")]
    InvalidOrder(String),
    /// No coupon has this code (counted as a guess).
    #[error("code: no coupon has this code")]
    NotFound,
    /// The coupon belongs to another owner (counted as a guess).
    #[error("owner: the coupon belongs to another owner")]
    Foreign,
    /// The caller sent too many wrong codes: its wrong codes are refused for this many
    /// seconds (a right code is still answered).
    #[error("code: too many unknown coupon codes from this caller; retry after {0} s")]
    Locked(u64),
    /// The coupon kept changing while the request ran.
    #[error("the coupon kept changing while this request ran; retry")]
    Busy,
    /// The coupon applies but there is nothing to discount (a zero price).
    #[error("order: there is nothing for this coupon to discount (a zero price)")]
    NothingToDiscount,
    /// A core coupon rule refused.
    #[error(transparent)]
    Refused(#[from] CouponError),
    /// The transaction rules refuse the redemption.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed value did not open, or hashing failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// A wrong code (unknown, or another owner's) from `caller`: while the caller's lock
/// lasts it is refused as [`CouponsError::Locked`] (and not counted again); otherwise it
/// is counted and `error` passed on. Only wrong codes come here: a right one is answered
/// whatever the caller's lock.
fn miss(app: &App, caller: &str, error: CouponsError) -> CouponsError {
    let now = app.clock.now();
    if let Err(lockout) = app.coupon_guard.check(caller, now) {
        return CouponsError::Locked(lockout.retry_after_secs(now));
    }
    if let Some(lockout) = app.coupon_guard.record_miss(caller, now) {
        tracing::warn!(%caller, until = %timestamp::format(&lockout.until), "coupon guessing: caller's wrong codes refused for a while");
    }
    error
}

fn owner(field: &str, owner: &OwnerId) -> Result<(), FieldError> {
    validate::text(field, owner.as_str())
}

fn value(input: CouponValueRecord) -> Result<CouponValue, FieldError> {
    if let CouponValueRecord::Product { product_id } = &input {
        validate::text("value.product_id", product_id.as_str())?;
    }
    Ok(input.into())
}

/// Issues `count` (default 1, at most 1000) unregistered coupons, all stored or none.
///
/// # Errors
/// `400 INVALID_FIELD` for a count outside `1..=1000`, an empty product id, a zero
/// amount or an expiry not in the future; `500` for a store failure.
pub async fn issue(app: Arc<App>, input: CouponIssue) -> Result<CouponsIssued, CouponsError> {
    let count = input.count.unwrap_or(1);
    if !(1..=MAX_ISSUE_COUNT).contains(&count) {
        return Err(FieldError::new(
            "count",
            format!("must be 1 to {MAX_ISSUE_COUNT}, got {count}"),
        )
        .into());
    }
    let value = value(input.value)?;
    let now = app.clock.now();
    let mut rows = Vec::with_capacity(count as usize);
    let mut coupons = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let coupon = Coupon::issue(app.ids.as_ref(), value.clone(), now, input.expires_at)?;
        let body = Body {
            coupon,
            registered_at: None,
        };
        rows.push(seal(&app, &code_hash(body.coupon.code()), &body, 0));
        coupons.push(body.record());
    }
    app.store.insert_coupons(&rows).await?;
    tracing::info!(count, "coupons issued");
    Ok(CouponsIssued { coupons })
}

/// Issues a coupon straight to its recipient, registered to them now, with the giver
/// and message.
///
/// # Errors
/// `400 INVALID_FIELD` for an empty or overlong giver, recipient or product id, a
/// message over 1000 characters, a zero amount or an expiry not in the future; `422
/// GIFT_TO_SELF` when the giver is the recipient.
pub async fn gift(app: Arc<App>, input: GiftCreate) -> Result<CouponRecord, CouponsError> {
    owner("giver", &input.giver)?;
    owner("recipient", &input.recipient)?;
    if input.message.chars().count() > MAX_MESSAGE_LEN {
        return Err(FieldError::new(
            "message",
            format!("must be at most {MAX_MESSAGE_LEN} characters"),
        )
        .into());
    }
    let value = value(input.value)?;
    let now = app.clock.now();
    let (coupon, event) = Coupon::gift(
        app.ids.as_ref(),
        value,
        input.giver,
        input.recipient,
        input.message,
        now,
        input.expires_at,
    )?;
    let body = Body {
        coupon,
        registered_at: Some(now),
    };
    app.store
        .insert_coupons(&[seal(&app, &code_hash(body.coupon.code()), &body, 0)])
        .await?;
    tracing::info!(?event, "coupon gifted");
    Ok(body.record())
}

/// Registers an issued coupon to `owner`.
///
/// # Errors
/// `404 COUPON_NOT_FOUND` (counted as a guess by `caller`); `409
/// COUPON_ALREADY_REGISTERED` (counted as a guess when another owner holds it); `429
/// TOO_MANY_ATTEMPTS` instead of those two while `caller` is locked out; `409
/// COUPON_SPENT`; `422 COUPON_EXPIRED`; `400 INVALID_FIELD` for an empty owner.
pub async fn register(
    app: Arc<App>,
    input: CouponRegister,
    caller: String,
) -> Result<CouponRecord, CouponsError> {
    owner("owner", &input.owner)?;
    let hash = code_hash(&input.code);
    for _ in 0..MAX_RACES {
        let Some(row) = app.store.coupon_by_hash(&hash).await? else {
            return Err(miss(&app, &caller, CouponsError::NotFound));
        };
        let mut body = open(&app, &row)?;
        let holder = body.coupon.owner().cloned();
        let now = app.clock.now();
        let event = match body.coupon.register(input.owner.clone(), now) {
            Ok(event) => event,
            Err(refusal @ CouponError::AlreadyRegistered { .. })
                if holder.as_ref().is_some_and(|h| *h != input.owner) =>
            {
                return Err(miss(&app, &caller, refusal.into()));
            }
            Err(refusal) => return Err(refusal.into()),
        };
        body.registered_at = Some(now);
        if app
            .store
            .update_coupon(&seal(&app, &hash, &body, row.version), None, &[])
            .await?
        {
            tracing::info!(?event, "coupon registered");
            return Ok(body.record());
        }
    }
    Err(CouponsError::Busy)
}

/// Redeems a registered coupon, once, for an order: records a transaction of kind
/// `coupon` (total = the discount, approved at once, readable with `password`) and its
/// `Approved` event in the same store transaction as the coupon's new state.
///
/// # Errors
/// `404 COUPON_NOT_FOUND` and `403 COUPON_FOREIGN` (both counted as guesses by
/// `caller`, and `429 TOO_MANY_ATTEMPTS` while it is locked out); `409 COUPON_SPENT` (also for every loser of concurrent
/// redemptions); `422 COUPON_NOT_REGISTERED`, `COUPON_EXPIRED`, `COUPON_NOT_APPLICABLE`
/// (product not in the order, another currency, or nothing to discount),
/// `INVALID_ORDER`; `400 INVALID_FIELD` for an empty owner or a bad password.
pub async fn redeem(
    app: Arc<App>,
    input: CouponRedeem,
    caller: String,
) -> Result<CouponRedemption, CouponsError> {
    owner("owner", &input.owner)?;
    validate::password("password", input.password.expose())?;
    let order = input
        .order
        .to_order()
        .map_err(|e| CouponsError::InvalidOrder(e.to_string()))?;
    let hash = code_hash(&input.code);
    // Hashed only once a redemption is possible (and once across the retries).
    let mut password_hash: Option<String> = None;
    for _ in 0..MAX_RACES {
        let Some(row) = app.store.coupon_by_hash(&hash).await? else {
            return Err(miss(&app, &caller, CouponsError::NotFound));
        };
        let mut body = open(&app, &row)?;
        // Ownership first: a stranger learns nothing about the coupon's state.
        if body
            .coupon
            .owner()
            .is_some_and(|holder| *holder != input.owner)
        {
            return Err(miss(&app, &caller, CouponsError::Foreign));
        }
        let now = app.clock.now();
        let redemption = body.coupon.redeem(&input.owner, &order, now)?;
        if redemption.discount.is_zero() {
            return Err(CouponsError::NothingToDiscount);
        }
        let password_hash = match &password_hash {
            Some(hash) => hash.clone(),
            None => password_hash
                .insert(app.hash_password(input.password.expose()))
                .clone(),
        };
        let mut transaction =
            transactions::pending(&app, order.id().as_str(), redemption.discount)?;
        let approved = transaction
            .approve(redemption.discount, now)
            .map_err(Internal::new)?;
        let record = transactions::record(
            transaction,
            TransactionKind::Coupon,
            None,
            Some(order.clone()),
        );
        let row_write =
            TransactionWrite::Insert(transactions::stored(&app, &record, &password_hash, now, 0));
        let messages = transactions::event_messages(&app, vec![approved], &record);
        let sealed = seal(&app, &hash, &body, row.version);
        if app
            .store
            .update_coupon(&sealed, Some(&row_write), &messages)
            .await?
        {
            tracing::info!(event = ?redemption.event, transaction = %record.transaction.id(), "coupon redeemed");
            return Ok(CouponRedemption {
                coupon: body.record(),
                discount: redemption.discount,
                transaction: record,
            });
        }
    }
    Err(CouponsError::Busy)
}

/// Reads a coupon as its owner.
///
/// # Errors
/// `404 COUPON_NOT_FOUND` and `403 COUPON_FOREIGN` (both counted as guesses by
/// `caller`, and `429 TOO_MANY_ATTEMPTS` while it is locked out); `422
/// COUPON_NOT_REGISTERED` for a coupon nobody owns yet (only an owner reads a coupon:
/// register it first); `400 INVALID_FIELD` for an empty owner.
pub async fn get(
    app: Arc<App>,
    input: CouponAccess,
    caller: String,
) -> Result<CouponRecord, CouponsError> {
    owner("owner", &input.owner)?;
    let Some(row) = app.store.coupon_by_hash(&code_hash(&input.code)).await? else {
        return Err(miss(&app, &caller, CouponsError::NotFound));
    };
    let body = open(&app, &row)?;
    match body.coupon.owner() {
        None => Err(CouponError::NotRegistered {
            code: input.code.clone(),
        }
        .into()),
        Some(holder) if *holder != input.owner => Err(miss(&app, &caller, CouponsError::Foreign)),
        Some(_) => Ok(body.record()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod service {
        use super::super::*;
        use crate::PaymentServer;
        use crate::http::ApiError;
        use chrono::Duration;
        use payments_core::clock::{FixedClock, SequentialIdGen};
        use payments_core::money::{Currency, Money};
        use payments_core::order::{Product, ProductId};
        use payments_core::records::charges::{OrderInput, OrderLineInput};
        use payments_core::transaction::TransactionStatus;

        /// The caller of every request but the guessing test's.
        const CALLER: &str = "127.0.0.1";

        fn t0() -> Timestamp {
            timestamp::parse("2026-11-21T00:00:00.000Z").unwrap()
        }

        fn app(database: &str) -> (Arc<App>, Arc<FixedClock>) {
            let clock = Arc::new(FixedClock::new(t0()));
            let app = PaymentServer::builder()
                .database(database)
                .sealed_v2_secret("coupon unit tests 0123456789")
                .password_iterations(1_000)
                .clock(clock.clone())
                .ids(Arc::new(SequentialIdGen::default()))
                .build()
                .unwrap();
            (app, clock)
        }

        /// The status and code a refusal is answered with.
        fn answer(error: CouponsError) -> (u16, &'static str) {
            let error = ApiError::from(error);
            (error.status.as_u16(), error.code.as_str())
        }

        fn krw(amount: i64) -> Money {
            Money::new(amount, Currency::Krw).unwrap()
        }

        fn order(id: &str, product: &str, price: i64) -> OrderInput {
            OrderInput {
                id: id.into(),
                lines: vec![OrderLineInput {
                    product: Product {
                        id: ProductId::new(product),
                        name: product.into(),
                        price: krw(price),
                        enabled: true,
                    },
                    quantity: 2,
                }],
            }
        }

        async fn registered(app: &Arc<App>, value: CouponValueRecord, owner: &str) -> CouponCode {
            let issued = issue(
                app.clone(),
                CouponIssue {
                    value,
                    expires_at: t0() + Duration::days(1),
                    count: None,
                },
            )
            .await
            .unwrap();
            let code = issued.coupons[0].code.clone();
            register(
                app.clone(),
                CouponRegister {
                    code: code.clone(),
                    owner: OwnerId::new(owner),
                },
                CALLER.into(),
            )
            .await
            .unwrap();
            code
        }

        fn redeem_input(code: &CouponCode, owner: &str, order: OrderInput) -> CouponRedeem {
            CouponRedeem {
                code: code.clone(),
                owner: OwnerId::new(owner),
                order,
                password: "pw".into(),
            }
        }

        #[tokio::test]
        async fn a_product_coupon_discounts_one_unit_and_records_an_approved_transaction() {
            let (app, _) = app(":memory:");
            let code = registered(
                &app,
                CouponValueRecord::Product {
                    product_id: "latte".into(),
                },
                "u1",
            )
            .await;
            let wrong = redeem(
                app.clone(),
                redeem_input(&code, "u1", order("o-0", "mocha", 4_500)),
                CALLER.into(),
            )
            .await
            .unwrap_err();
            assert_eq!(answer(wrong), (422, "COUPON_NOT_APPLICABLE"));

            let done = redeem(
                app.clone(),
                redeem_input(&code, "u1", order("o-1", "latte", 4_500)),
                CALLER.into(),
            )
            .await
            .unwrap();
            assert_eq!(done.discount, krw(4_500));
            assert_eq!(done.coupon.status, CouponStatus::Redeemed);
            assert_eq!(
                done.coupon.registered_at,
                Some(t0()),
                "kept after redemption"
            );
            let transaction = &done.transaction.transaction;
            assert_eq!(transaction.status(), TransactionStatus::Approved);
            assert_eq!(transaction.total(), krw(4_500));
            assert_eq!(done.transaction.kind, TransactionKind::Coupon);
            // Readable with the redemption's password only.
            let read = transactions::get(&app, transaction.id(), "pw")
                .await
                .unwrap();
            assert_eq!(read, done.transaction);
            assert!(
                transactions::get(&app, transaction.id(), "other")
                    .await
                    .is_err()
            );
        }

        #[tokio::test]
        async fn an_expired_coupon_is_refused_and_stays_registered() {
            let (app, clock) = app(":memory:");
            let value = CouponValueRecord::Amount { amount: krw(1_000) };
            let code = registered(&app, value, "u1").await;
            clock.advance(Duration::days(1));
            let refused = redeem(
                app.clone(),
                redeem_input(&code, "u1", order("o-1", "latte", 4_500)),
                CALLER.into(),
            )
            .await
            .unwrap_err();
            assert_eq!(answer(refused), (422, "COUPON_EXPIRED"));
            let read = get(
                app.clone(),
                CouponAccess {
                    code,
                    owner: OwnerId::new("u1"),
                },
                CALLER.into(),
            )
            .await
            .unwrap();
            assert_eq!(read.status, CouponStatus::Registered);
        }

        #[tokio::test]
        async fn wrong_guesses_lock_the_caller_until_the_clock_moves_on() {
            let (app, clock) = app(":memory:");
            let unknown = CouponCode::parse("ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ").unwrap();
            let attempt = |owner: &str, caller: &str| {
                register(
                    app.clone(),
                    CouponRegister {
                        code: unknown.clone(),
                        owner: OwnerId::new(owner),
                    },
                    caller.into(),
                )
            };
            for _ in 0..5 {
                let refused = attempt("victim", "eve").await.unwrap_err();
                assert_eq!(answer(refused).1, "COUPON_NOT_FOUND");
            }
            // Eve is locked, whichever owner she names; the victim, calling from
            // elsewhere, is not.
            let locked = attempt("victim", "eve").await.unwrap_err();
            assert_eq!(answer(locked), (429, "TOO_MANY_ATTEMPTS"));
            let locked = attempt("anyone", "eve").await.unwrap_err();
            assert_eq!(answer(locked), (429, "TOO_MANY_ATTEMPTS"));
            let typo = attempt("victim", "victim-phone").await.unwrap_err();
            assert_eq!(answer(typo).1, "COUPON_NOT_FOUND");
            // A right code is answered even to the locked caller.
            let value = CouponValueRecord::Amount { amount: krw(1_000) };
            let issued = issue(
                app.clone(),
                CouponIssue {
                    value,
                    expires_at: t0() + Duration::days(1),
                    count: None,
                },
            )
            .await
            .unwrap();
            register(
                app.clone(),
                CouponRegister {
                    code: issued.coupons[0].code.clone(),
                    owner: OwnerId::new("victim"),
                },
                "eve".into(),
            )
            .await
            .expect("a right code is never refused");
            clock.advance(Duration::seconds(61));
            let refused = attempt("victim", "eve").await.unwrap_err();
            assert_eq!(answer(refused).1, "COUPON_NOT_FOUND");
        }

        #[tokio::test]
        async fn concurrent_redemptions_on_a_file_database_have_one_winner() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("coupons.sqlite");
            let (app, _) = app(path.to_str().unwrap());
            let code =
                registered(&app, CouponValueRecord::Amount { amount: krw(1_000) }, "u1").await;
            let attempts = (0..12).map(|n| {
                let app = app.clone();
                let input = redeem_input(&code, "u1", order(&format!("o-{n}"), "latte", 4_500));
                tokio::spawn(redeem(app, input, CALLER.into()))
            });
            let mut won = 0;
            for attempt in futures::future::join_all(attempts).await {
                match attempt.unwrap() {
                    Ok(_) => won += 1,
                    Err(error) => assert_eq!(answer(error).1, "COUPON_SPENT"),
                }
            }
            assert_eq!(won, 1);
            let orders: usize = futures::future::join_all((0..12).map(|n| {
                let app = app.clone();
                async move {
                    app.store
                        .transactions_by_order(TransactionKind::Coupon, &format!("o-{n}"))
                        .await
                        .unwrap()
                        .len()
                }
            }))
            .await
            .into_iter()
            .sum();
            assert_eq!(orders, 1, "exactly one transaction");
        }
    }

    #[test]
    fn code_hashes_are_stable_and_ignore_the_typed_form() {
        let typed = CouponCode::parse("abcde-fghjk-mnpqr-stvwx").unwrap();
        let canonical = CouponCode::parse("ABCDEFGHJKMNPQRSTVWX").unwrap();
        assert_eq!(code_hash(&typed), code_hash(&canonical));
        assert_eq!(code_hash(&typed).len(), 64);
        assert!(!code_hash(&typed).contains("ABCDE"));
        let other = CouponCode::parse("ABCDEFGHJKMNPQRSTVWZ").unwrap();
        assert_ne!(code_hash(&typed), code_hash(&other));
    }
}

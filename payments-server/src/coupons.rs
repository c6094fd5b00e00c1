//! Coupons and gifts: issue, gift, register, redeem and read, over the core rules of
//! [`payments_core::coupon`], plus [`GuessGuard`], which slows down an owner who guesses
//! codes.
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
//!   counts against the owner in [`GuessGuard`]; past its threshold the owner is refused
//!   `429 TOO_MANY_ATTEMPTS` for an exponentially growing lock.

use crate::app::App;
use crate::error::ApiError;
use crate::store::TransactionWrite;
use crate::store::coupons::StoredCoupon;
use crate::{transactions, validate};
use axum::http::StatusCode;
use chrono::Duration;
use payments_core::coupon::{Coupon, CouponCode, CouponError, CouponValue, OwnerId};
use payments_core::records::charges::TransactionKind;
use payments_core::records::coupons::{
    CouponAccess, CouponIssue, CouponRecord, CouponRedeem, CouponRedemption, CouponRegister,
    CouponStatus, CouponValueRecord, CouponsIssued, GiftCreate, MAX_ISSUE_COUNT,
};
use payments_core::timestamp::{self, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

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
        status: CouponStatus::from(body.coupon.state()).as_str().to_owned(),
        body_sealed: app.data_keys.seal_json(&context(hash), body),
        issued_at: body.coupon.issued_at(),
        expires_at: body.coupon.expires_at(),
        version,
    }
}

fn open(app: &App, stored: &StoredCoupon) -> Result<Body, ApiError> {
    app.data_keys
        .open_json(&context(&stored.code_hash), &stored.body_sealed)
        .map_err(ApiError::internal)
}

/// The answer to a coupon refusal: each [`CouponError`] has its own code.
///
/// `404 COUPON_NOT_FOUND` is not among them (the core never sees an unknown code); the
/// others: `422 COUPON_EXPIRED`, `422 COUPON_NOT_REGISTERED`, `403 COUPON_FOREIGN`, `409
/// COUPON_SPENT`, `422 COUPON_NOT_APPLICABLE` (product not in the order, or another
/// currency), `409 COUPON_ALREADY_REGISTERED`, `422 GIFT_TO_SELF`, `400 INVALID_FIELD`
/// for a zero amount, an expiry not in the future or an empty owner, and `500` for a
/// broken code generator.
pub fn error(error: CouponError) -> ApiError {
    let message = error.to_string();
    match error {
        CouponError::Code(cause) => {
            ApiError::internal(format!("the code generator is broken: {cause}"))
        }
        CouponError::ZeroAmount => {
            ApiError::bad_request("INVALID_FIELD", format!("value.amount: {message}"))
        }
        CouponError::InvalidExpiry { issued_at, .. } => ApiError::bad_request(
            "INVALID_FIELD",
            format!(
                "expires_at: must be after now ({})",
                timestamp::format(&issued_at)
            ),
        ),
        CouponError::EmptyOwner { .. } => ApiError::bad_request("INVALID_FIELD", message),
        CouponError::GiftToSelf => {
            ApiError::unprocessable("GIFT_TO_SELF", format!("recipient: {message}"))
        }
        CouponError::Expired { .. } => ApiError::unprocessable("COUPON_EXPIRED", message),
        CouponError::AlreadyRegistered { .. } => {
            ApiError::new(StatusCode::CONFLICT, "COUPON_ALREADY_REGISTERED", message)
        }
        CouponError::NotRegistered { .. } => ApiError::unprocessable(
            "COUPON_NOT_REGISTERED",
            format!("{message}: register it first"),
        ),
        CouponError::ForeignOwner { .. } => foreign(),
        CouponError::AlreadyRedeemed { .. } => {
            ApiError::new(StatusCode::CONFLICT, "COUPON_SPENT", message)
        }
        CouponError::ProductNotInOrder { .. } | CouponError::CurrencyMismatch { .. } => {
            ApiError::unprocessable("COUPON_NOT_APPLICABLE", format!("order: {message}"))
        }
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "COUPON_NOT_FOUND",
        "code: no coupon has this code",
    )
}

fn foreign() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "COUPON_FOREIGN",
        "owner: the coupon belongs to another owner",
    )
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "COUPON_BUSY",
        "the coupon kept changing while this request ran; retry",
    )
}

/// `429 TOO_MANY_ATTEMPTS` for a locked-out owner (the HTTP layer adds `Retry-After`).
fn locked(lockout: Lockout, now: Timestamp) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_ATTEMPTS",
        format!(
            "owner: too many unknown coupon codes; retry after {} s",
            lockout.retry_after_secs(now)
        ),
    )
}

/// Refuses an owner the guard has locked out.
///
/// # Errors
/// `429 TOO_MANY_ATTEMPTS` while the owner's lock lasts.
pub fn check_guard(app: &App, owner: &OwnerId) -> Result<(), ApiError> {
    let now = app.clock.now();
    app.coupon_guard
        .check(owner.as_str(), now)
        .map_err(|lockout| locked(lockout, now))
}

/// Counts a wrong guess against `owner` and passes `error` on.
fn miss(app: &App, owner: &OwnerId, error: ApiError) -> ApiError {
    if let Some(lockout) = app
        .coupon_guard
        .record_miss(owner.as_str(), app.clock.now())
    {
        tracing::warn!(%owner, until = %timestamp::format(&lockout.until), "coupon guessing: owner locked out");
    }
    error
}

fn owner(field: &str, owner: &OwnerId) -> Result<(), ApiError> {
    validate::text(field, owner.as_str())
}

fn value(input: CouponValueRecord) -> Result<CouponValue, ApiError> {
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
pub async fn issue(app: Arc<App>, input: CouponIssue) -> Result<CouponsIssued, ApiError> {
    let count = input.count.unwrap_or(1);
    if !(1..=MAX_ISSUE_COUNT).contains(&count) {
        return Err(ApiError::bad_request(
            "INVALID_FIELD",
            format!("count: must be 1 to {MAX_ISSUE_COUNT}, got {count}"),
        ));
    }
    let value = value(input.value)?;
    let now = app.clock.now();
    let mut rows = Vec::with_capacity(count as usize);
    let mut coupons = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let coupon =
            Coupon::issue(app.ids.as_ref(), value.clone(), now, input.expires_at).map_err(error)?;
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
pub async fn gift(app: Arc<App>, input: GiftCreate) -> Result<CouponRecord, ApiError> {
    owner("giver", &input.giver)?;
    owner("recipient", &input.recipient)?;
    if input.message.chars().count() > MAX_MESSAGE_LEN {
        return Err(ApiError::bad_request(
            "INVALID_FIELD",
            format!("message: must be at most {MAX_MESSAGE_LEN} characters"),
        ));
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
    )
    .map_err(error)?;
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
/// `429 TOO_MANY_ATTEMPTS` for a locked-out owner; `404 COUPON_NOT_FOUND` (counted as a
/// guess); `409 COUPON_ALREADY_REGISTERED` (counted as a guess when another owner holds
/// it); `409 COUPON_SPENT`; `422 COUPON_EXPIRED`; `400 INVALID_FIELD` for an empty
/// owner.
pub async fn register(app: Arc<App>, input: CouponRegister) -> Result<CouponRecord, ApiError> {
    owner("owner", &input.owner)?;
    check_guard(&app, &input.owner)?;
    let hash = code_hash(&input.code);
    for _ in 0..MAX_RACES {
        let Some(row) = app.store.coupon_by_hash(&hash).await? else {
            return Err(miss(&app, &input.owner, not_found()));
        };
        let mut body = open(&app, &row)?;
        let holder = body.coupon.owner().cloned();
        let now = app.clock.now();
        let event = match body.coupon.register(input.owner.clone(), now) {
            Ok(event) => event,
            Err(refusal @ CouponError::AlreadyRegistered { .. })
                if holder.as_ref().is_some_and(|h| *h != input.owner) =>
            {
                return Err(miss(&app, &input.owner, error(refusal)));
            }
            Err(refusal) => return Err(error(refusal)),
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
    Err(busy())
}

/// Redeems a registered coupon, once, for an order: records a transaction of kind
/// `coupon` (total = the discount, approved at once, readable with `password`) and its
/// `Approved` event in the same store transaction as the coupon's new state.
///
/// # Errors
/// `429 TOO_MANY_ATTEMPTS`; `404 COUPON_NOT_FOUND` and `403 COUPON_FOREIGN` (both
/// counted as guesses); `409 COUPON_SPENT` (also for every loser of concurrent
/// redemptions); `422 COUPON_NOT_REGISTERED`, `COUPON_EXPIRED`, `COUPON_NOT_APPLICABLE`
/// (product not in the order, another currency, or nothing to discount),
/// `INVALID_ORDER`; `400 INVALID_FIELD` for an empty owner or a bad password.
pub async fn redeem(app: Arc<App>, input: CouponRedeem) -> Result<CouponRedemption, ApiError> {
    owner("owner", &input.owner)?;
    validate::password("password", input.password.expose())?;
    let order = input
        .order
        .to_order()
        .map_err(|e| ApiError::unprocessable("INVALID_ORDER", format!("order: {e}")))?;
    check_guard(&app, &input.owner)?;
    let hash = code_hash(&input.code);
    // Hashed only once a redemption is possible, so a guesser cannot make the server
    // run PBKDF2 for free.
    let mut password_hash: Option<String> = None;
    for _ in 0..MAX_RACES {
        let Some(row) = app.store.coupon_by_hash(&hash).await? else {
            return Err(miss(&app, &input.owner, not_found()));
        };
        let mut body = open(&app, &row)?;
        // Ownership first: a stranger learns nothing about the coupon's state.
        if body
            .coupon
            .owner()
            .is_some_and(|holder| *holder != input.owner)
        {
            return Err(miss(&app, &input.owner, foreign()));
        }
        let now = app.clock.now();
        let redemption = body
            .coupon
            .redeem(&input.owner, &order, now)
            .map_err(error)?;
        if redemption.discount.is_zero() {
            return Err(ApiError::unprocessable(
                "COUPON_NOT_APPLICABLE",
                "order: there is nothing for this coupon to discount (a zero price)",
            ));
        }
        let password_hash = match &password_hash {
            Some(hash) => hash.clone(),
            None => password_hash
                .insert(app.hash_password(input.password.expose()).await?)
                .clone(),
        };
        let mut transaction =
            transactions::pending(&app, order.id().as_str(), redemption.discount)?;
        let approved = transaction
            .approve(redemption.discount, now)
            .map_err(ApiError::internal)?;
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
            app.messages_written(&messages);
            tracing::info!(event = ?redemption.event, transaction = %record.transaction.id(), "coupon redeemed");
            return Ok(CouponRedemption {
                coupon: body.record(),
                discount: redemption.discount,
                transaction: record,
            });
        }
    }
    Err(busy())
}

/// Reads a coupon as its owner.
///
/// # Errors
/// `429 TOO_MANY_ATTEMPTS`; `404 COUPON_NOT_FOUND` and `403 COUPON_FOREIGN` (both
/// counted as guesses); `422 COUPON_NOT_REGISTERED` for a coupon nobody owns yet (only
/// an owner reads a coupon: register it first); `400 INVALID_FIELD` for an empty owner.
pub async fn get(app: Arc<App>, input: CouponAccess) -> Result<CouponRecord, ApiError> {
    owner("owner", &input.owner)?;
    check_guard(&app, &input.owner)?;
    let Some(row) = app.store.coupon_by_hash(&code_hash(&input.code)).await? else {
        return Err(miss(&app, &input.owner, not_found()));
    };
    let body = open(&app, &row)?;
    match body.coupon.owner() {
        None => Err(error(CouponError::NotRegistered {
            code: input.code.clone(),
        })),
        Some(holder) if *holder != input.owner => Err(miss(&app, &input.owner, foreign())),
        Some(_) => Ok(body.record()),
    }
}

/// How [`GuessGuard`] counts and locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessPolicy {
    /// Wrong guesses within `window` that lock an owner out.
    pub threshold: usize,
    /// The sliding window the guesses are counted in.
    pub window: Duration,
    /// The first lock; each further lock doubles it.
    pub base_lock: Duration,
    /// The longest lock.
    pub max_lock: Duration,
    /// An owner with no wrong guess for this long (and no lock) is forgotten, and with
    /// them their lock count.
    pub forget_after: Duration,
    /// The most owners tracked at once; past it the least suspicious are evicted.
    pub max_owners: usize,
}

impl Default for GuessPolicy {
    /// 5 wrong guesses in 10 minutes lock an owner for 1 minute, then 2, 4, … up to a
    /// day; forgotten after a quiet day; at most 10 000 owners tracked.
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::minutes(10),
            base_lock: Duration::minutes(1),
            max_lock: Duration::days(1),
            forget_after: Duration::days(1),
            max_owners: 10_000,
        }
    }
}

/// An owner's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// When the lock ends.
    pub until: Timestamp,
}

impl Lockout {
    /// Whole seconds from `now` until the lock ends, at least 1 (for `Retry-After`).
    pub fn retry_after_secs(&self, now: Timestamp) -> u64 {
        let millis = (self.until - now).num_milliseconds().max(0) as u64;
        millis.div_ceil(1000).max(1)
    }
}

#[derive(Debug)]
struct Suspect {
    /// Wrong guesses in the current window, oldest first (at most `threshold`).
    misses: VecDeque<Timestamp>,
    /// Locks so far: the next lock lasts `base_lock × 2^locks`.
    locks: u32,
    locked_until: Option<Timestamp>,
    last_miss: Timestamp,
}

impl Suspect {
    fn locked_at(&self, now: Timestamp) -> Option<Lockout> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| Lockout { until })
    }

    fn is_stale(&self, now: Timestamp, policy: &GuessPolicy) -> bool {
        self.locked_at(now).is_none() && now - self.last_miss >= policy.forget_after
    }
}

/// Slows down an owner who guesses coupon codes wrong many times: wrong guesses are
/// counted per owner in a sliding window; reaching [`GuessPolicy::threshold`] locks the
/// owner out for [`GuessPolicy::base_lock`], doubling with every further lock up to
/// [`GuessPolicy::max_lock`].
///
/// Time is always an argument (the server passes `app.clock`), so nothing here sleeps
/// or reads a clock. Memory is bounded: only owners with wrong guesses are tracked,
/// quiet ones are forgotten, and past [`GuessPolicy::max_owners`] the least suspicious
/// (unlocked, oldest guess first) are evicted.
#[derive(Debug)]
pub struct GuessGuard {
    policy: GuessPolicy,
    suspects: Mutex<HashMap<String, Suspect>>,
}

impl Default for GuessGuard {
    fn default() -> Self {
        Self::new(GuessPolicy::default())
    }
}

impl GuessGuard {
    /// A guard with `policy` (a threshold of 0 is taken as 1).
    pub fn new(policy: GuessPolicy) -> Self {
        Self {
            policy: GuessPolicy {
                threshold: policy.threshold.max(1),
                max_owners: policy.max_owners.max(1),
                ..policy
            },
            suspects: Mutex::new(HashMap::new()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &GuessPolicy {
        &self.policy
    }

    fn suspects(&self) -> std::sync::MutexGuard<'_, HashMap<String, Suspect>> {
        // The map holds no invariant a panic elsewhere could break half-way.
        self.suspects.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `owner` may try a code at `now`.
    ///
    /// # Errors
    /// The owner's [`Lockout`] while it lasts.
    pub fn check(&self, owner: &str, now: Timestamp) -> Result<(), Lockout> {
        let mut suspects = self.suspects();
        match suspects.get(owner) {
            Some(suspect) if suspect.is_stale(now, &self.policy) => {
                suspects.remove(owner);
                Ok(())
            }
            Some(suspect) => suspect.locked_at(now).map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    /// Counts a wrong guess by `owner` at `now`; returns the lock it started, if any.
    pub fn record_miss(&self, owner: &str, now: Timestamp) -> Option<Lockout> {
        let policy = self.policy;
        let mut suspects = self.suspects();
        if suspects
            .get(owner)
            .is_some_and(|s| s.is_stale(now, &policy))
        {
            suspects.remove(owner);
        }
        if !suspects.contains_key(owner) && suspects.len() >= policy.max_owners {
            evict(&mut suspects, now, &policy);
        }
        let suspect = suspects.entry(owner.to_owned()).or_insert_with(|| Suspect {
            misses: VecDeque::new(),
            locks: 0,
            locked_until: None,
            last_miss: now,
        });
        suspect.last_miss = now;
        while suspect
            .misses
            .front()
            .is_some_and(|first| now - *first >= policy.window)
        {
            suspect.misses.pop_front();
        }
        suspect.misses.push_back(now);
        if suspect.misses.len() < policy.threshold {
            return None;
        }
        // A lock starts: the window starts afresh after it.
        suspect.misses.clear();
        let factor = 1i32 << suspect.locks.min(20);
        let lock = policy
            .base_lock
            .checked_mul(factor)
            .map_or(policy.max_lock, |lock| lock.min(policy.max_lock));
        suspect.locks = suspect.locks.saturating_add(1);
        let until = now + lock;
        suspect.locked_until = Some(until);
        Some(Lockout { until })
    }

    /// How many owners are tracked now.
    pub fn tracked(&self) -> usize {
        self.suspects().len()
    }
}

/// Makes room: forgets stale owners, then, if still full, the least suspicious eighth
/// (unlocked before locked, oldest wrong guess first), so a flood of new owners costs
/// one scan per eighth of the capacity rather than one per owner.
fn evict(suspects: &mut HashMap<String, Suspect>, now: Timestamp, policy: &GuessPolicy) {
    suspects.retain(|_, suspect| !suspect.is_stale(now, policy));
    if suspects.len() < policy.max_owners {
        return;
    }
    let mut ranked: Vec<(bool, Timestamp, String)> = suspects
        .iter()
        .map(|(owner, s)| (s.locked_at(now).is_some(), s.last_miss, owner.clone()))
        .collect();
    let drop = (policy.max_owners / 8).max(1).min(ranked.len());
    ranked.select_nth_unstable(drop - 1);
    for (_, _, owner) in ranked.into_iter().take(drop) {
        suspects.remove(&owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        timestamp::parse("2026-11-21T00:00:00.000Z").unwrap()
    }

    fn policy() -> GuessPolicy {
        GuessPolicy {
            threshold: 3,
            window: Duration::minutes(10),
            base_lock: Duration::minutes(1),
            max_lock: Duration::minutes(5),
            forget_after: Duration::hours(1),
            max_owners: 16,
        }
    }

    #[test]
    fn the_threshold_locks_and_the_lock_ends() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        assert_eq!(guard.record_miss("eve", now), None);
        assert_eq!(guard.record_miss("eve", now + Duration::seconds(1)), None);
        assert!(guard.check("eve", now + Duration::seconds(2)).is_ok());
        let lock = guard
            .record_miss("eve", now + Duration::seconds(2))
            .expect("third miss locks");
        assert_eq!(lock.until, now + Duration::seconds(62));
        let refused = guard.check("eve", now + Duration::seconds(3)).unwrap_err();
        assert_eq!(refused.retry_after_secs(now + Duration::seconds(3)), 59);
        assert_eq!(
            refused.retry_after_secs(now + Duration::milliseconds(61_500)),
            1
        );
        // Someone else is not affected.
        assert!(guard.check("bob", now + Duration::seconds(3)).is_ok());
        // The lock ends exactly when it says.
        assert!(guard.check("eve", now + Duration::seconds(61)).is_err());
        assert!(guard.check("eve", now + Duration::seconds(62)).is_ok());
    }

    #[test]
    fn misses_outside_the_window_do_not_count() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        guard.record_miss("eve", now);
        guard.record_miss("eve", now + Duration::minutes(5));
        // The first miss left the window: two misses in it, no lock.
        assert_eq!(guard.record_miss("eve", now + Duration::minutes(10)), None);
        assert!(guard.check("eve", now + Duration::minutes(10)).is_ok());
        assert!(
            guard
                .record_miss("eve", now + Duration::minutes(11))
                .is_some()
        );
    }

    #[test]
    fn locks_grow_exponentially_up_to_the_cap() {
        let guard = GuessGuard::new(policy());
        let mut now = t0();
        let mut locks = Vec::new();
        for _ in 0..5 {
            guard.record_miss("eve", now);
            guard.record_miss("eve", now);
            let lock = guard.record_miss("eve", now).unwrap();
            locks.push((lock.until - now).num_minutes());
            now = lock.until;
            assert!(guard.check("eve", now).is_ok());
        }
        assert_eq!(locks, vec![1, 2, 4, 5, 5]);
    }

    #[test]
    fn a_quiet_owner_is_forgotten_with_their_lock_count() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        for _ in 0..3 {
            guard.record_miss("eve", now);
        }
        for _ in 0..3 {
            guard.record_miss("eve", now + Duration::minutes(1));
        }
        assert_eq!(guard.tracked(), 1);
        let later = now + Duration::hours(2);
        assert!(guard.check("eve", later).is_ok());
        assert_eq!(guard.tracked(), 0);
        guard.record_miss("eve", later);
        guard.record_miss("eve", later);
        let lock = guard.record_miss("eve", later).unwrap();
        assert_eq!(
            lock.until - later,
            Duration::minutes(1),
            "back to the first lock"
        );
    }

    #[test]
    fn memory_stays_bounded_and_locked_owners_are_kept() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        for _ in 0..3 {
            guard.record_miss("eve", now);
        }
        for n in 0..1_000 {
            guard.record_miss(&format!("owner-{n}"), now + Duration::milliseconds(n));
            assert!(guard.tracked() <= 16);
        }
        assert!(
            guard.check("eve", now + Duration::seconds(2)).is_err(),
            "the locked owner survives eviction"
        );
        // The most recent owners are still tracked.
        assert!(guard.tracked() >= 8);
    }

    mod service {
        use super::super::*;
        use crate::PaymentServer;
        use payments_core::clock::{FixedClock, SequentialIdGen};
        use payments_core::money::{Currency, Money};
        use payments_core::order::{Product, ProductId};
        use payments_core::records::charges::{OrderInput, OrderLineInput};
        use payments_core::transaction::TransactionStatus;

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
            )
            .await
            .unwrap_err();
            assert_eq!(
                (wrong.status.as_u16(), wrong.code),
                (422, "COUPON_NOT_APPLICABLE")
            );

            let done = redeem(
                app.clone(),
                redeem_input(&code, "u1", order("o-1", "latte", 4_500)),
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
            )
            .await
            .unwrap_err();
            assert_eq!(
                (refused.status.as_u16(), refused.code),
                (422, "COUPON_EXPIRED")
            );
            let read = get(
                app.clone(),
                CouponAccess {
                    code,
                    owner: OwnerId::new("u1"),
                },
            )
            .await
            .unwrap();
            assert_eq!(read.status, CouponStatus::Registered);
        }

        #[tokio::test]
        async fn wrong_guesses_lock_the_owner_until_the_clock_moves_on() {
            let (app, clock) = app(":memory:");
            let unknown = CouponCode::parse("ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ").unwrap();
            let attempt = || {
                register(
                    app.clone(),
                    CouponRegister {
                        code: unknown.clone(),
                        owner: OwnerId::new("eve"),
                    },
                )
            };
            for _ in 0..5 {
                assert_eq!(attempt().await.unwrap_err().code, "COUPON_NOT_FOUND");
            }
            let locked = attempt().await.unwrap_err();
            assert_eq!(
                (locked.status.as_u16(), locked.code),
                (429, "TOO_MANY_ATTEMPTS")
            );
            clock.advance(Duration::seconds(61));
            assert_eq!(attempt().await.unwrap_err().code, "COUPON_NOT_FOUND");
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
                tokio::spawn(redeem(app, input))
            });
            let mut won = 0;
            for attempt in futures::future::join_all(attempts).await {
                match attempt.unwrap() {
                    Ok(_) => won += 1,
                    Err(error) => assert_eq!(error.code, "COUPON_SPENT"),
                }
            }
            assert_eq!(won, 1);
            let orders: usize = futures::future::join_all((0..12).map(|n| {
                let app = app.clone();
                async move {
                    app.store
                        .transactions_by_order("coupon", &format!("o-{n}"))
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

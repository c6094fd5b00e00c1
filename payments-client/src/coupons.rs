//! [`Coupons`]: the coupon and gift routes (`/payments/coupons…`, `docs/coupons.md`).

use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::transport::{Body, Inner, Kind};
use http::Method;
use payments_core::records::coupons::{
    CouponAccess, CouponIssue, CouponRecord, CouponRedeem, CouponRedemption, CouponRegister,
    CouponsIssued, GiftCreate,
};

/// The coupon routes; get one from [`PaymentsClient::coupons`](crate::PaymentsClient::coupons).
///
/// Writes without a key are never retried (a second attempt could issue twice or
/// answer `409 COUPON_SPENT` for the caller's own redemption); the `*_with_key` methods
/// retry with the same `Idempotency-Key`, so the server does the work once and replays
/// its answer.
#[derive(Debug, Clone, Copy)]
pub struct Coupons<'a> {
    inner: &'a Inner,
}

impl<'a> Coupons<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/coupons` (sealed): issues `count` (default 1, at most 1000)
    /// unregistered coupons of one value and expiry. Never retried; see
    /// [`issue_with_key`](Self::issue_with_key).
    ///
    /// # Errors
    /// [`Error::Server`] `400 INVALID_FIELD` for a count outside `1..=1000`, a zero
    /// amount, an empty product id or an expiry not in the future; the other variants
    /// of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_core::money::{Currency, Money};
    /// use payments_client::records::coupons::{CouponIssue, CouponValueRecord};
    /// let issued = client
    ///     .coupons()
    ///     .issue(&CouponIssue {
    ///         value: CouponValueRecord::Amount { amount: Money::new(1_000, Currency::Krw).expect("positive") },
    ///         expires_at: chrono::Utc::now() + chrono::Duration::days(30),
    ///         count: Some(10),
    ///     })
    ///     .await?;
    /// for coupon in &issued.coupons {
    ///     println!("{}", coupon.code); // hand these out: they are bearer secrets
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn issue(&self, input: &CouponIssue) -> Result<CouponsIssued, Error> {
        self.write("/payments/coupons", input, None).await
    }

    /// [`issue`](Self::issue) with an `Idempotency-Key`: retried on transport errors,
    /// timeouts and `502`/`503`/`504` with the same key, so the coupons are issued once.
    ///
    /// # Errors
    /// As [`issue`](Self::issue), after the retries; `422 IDEMPOTENCY_MISMATCH` when the
    /// key was used before with a different input.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::coupons::CouponIssue) -> Result<(), payments_client::Error> {
    /// let key = payments_client::IdempotencyKey::new("campaign-7/batch-1").expect("a valid key");
    /// let issued = client.coupons().issue_with_key(&input, &key).await?;
    /// # let _ = issued; Ok(()) }
    /// ```
    pub async fn issue_with_key(
        &self,
        input: &CouponIssue,
        key: &IdempotencyKey,
    ) -> Result<CouponsIssued, Error> {
        self.write("/payments/coupons", input, Some(key)).await
    }

    /// `POST /payments/coupons/gift` (sealed): issues a coupon straight to its
    /// recipient (registered to them), with the giver and a message. Never retried; see
    /// [`gift_with_key`](Self::gift_with_key).
    ///
    /// # Errors
    /// [`Error::Server`] `422 GIFT_TO_SELF`, `400 INVALID_FIELD` (empty giver or
    /// recipient, a message over 1000 characters, a zero amount, an expiry not in the
    /// future); the other variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_core::coupon::OwnerId;
    /// use payments_client::records::coupons::{CouponValueRecord, GiftCreate};
    /// let gift = client
    ///     .coupons()
    ///     .gift(&GiftCreate {
    ///         value: CouponValueRecord::Product { product_id: "americano".into() },
    ///         expires_at: chrono::Utc::now() + chrono::Duration::days(30),
    ///         giver: OwnerId::new("member-1"),
    ///         recipient: OwnerId::new("member-2"),
    ///         message: "Coffee is on me".into(),
    ///     })
    ///     .await?;
    /// # let _ = gift; Ok(()) }
    /// ```
    pub async fn gift(&self, input: &GiftCreate) -> Result<CouponRecord, Error> {
        self.write("/payments/coupons/gift", input, None).await
    }

    /// [`gift`](Self::gift) with an `Idempotency-Key`, retried like
    /// [`issue_with_key`](Self::issue_with_key): the gift is made once.
    ///
    /// # Errors
    /// As [`gift`](Self::gift), after the retries; `422 IDEMPOTENCY_MISMATCH`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::coupons::GiftCreate) -> Result<(), payments_client::Error> {
    /// let key = payments_client::IdempotencyKey::random();
    /// let gift = client.coupons().gift_with_key(&input, &key).await?;
    /// # let _ = gift; Ok(()) }
    /// ```
    pub async fn gift_with_key(
        &self,
        input: &GiftCreate,
        key: &IdempotencyKey,
    ) -> Result<CouponRecord, Error> {
        self.write("/payments/coupons/gift", input, Some(key)).await
    }

    /// `POST /payments/coupons/register` (sealed): binds an issued coupon to its owner.
    /// Never retried; see [`register_with_key`](Self::register_with_key).
    ///
    /// # Errors
    /// [`Error::Server`] `404 COUPON_NOT_FOUND`, `409 COUPON_ALREADY_REGISTERED`, `409
    /// COUPON_SPENT`, `422 COUPON_EXPIRED`, `429 TOO_MANY_ATTEMPTS` (a wrong code after
    /// too many from this caller: wait `Retry-After` seconds; a right code is answered); the other variants of
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_core::coupon::{CouponCode, OwnerId};
    /// use payments_client::records::coupons::CouponRegister;
    /// let code = CouponCode::parse("7k3qm 2xh9p 0abcd efgh1").expect("a code");
    /// let coupon = client
    ///     .coupons()
    ///     .register(&CouponRegister { code, owner: OwnerId::new("member-1") })
    ///     .await?;
    /// # let _ = coupon; Ok(()) }
    /// ```
    pub async fn register(&self, input: &CouponRegister) -> Result<CouponRecord, Error> {
        self.write("/payments/coupons/register", input, None).await
    }

    /// [`register`](Self::register) with an `Idempotency-Key`: a retry after a lost
    /// answer gets the first answer instead of `409 COUPON_ALREADY_REGISTERED`.
    ///
    /// # Errors
    /// As [`register`](Self::register), after the retries; `422 IDEMPOTENCY_MISMATCH`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::coupons::CouponRegister) -> Result<(), payments_client::Error> {
    /// let key = payments_client::IdempotencyKey::random();
    /// let coupon = client.coupons().register_with_key(&input, &key).await?;
    /// # let _ = coupon; Ok(()) }
    /// ```
    pub async fn register_with_key(
        &self,
        input: &CouponRegister,
        key: &IdempotencyKey,
    ) -> Result<CouponRecord, Error> {
        self.write("/payments/coupons/register", input, Some(key))
            .await
    }

    /// `POST /payments/coupons/redeem` (sealed): uses a registered coupon, once, for an
    /// order. The answer carries the discount and the approved transaction (kind
    /// `coupon`), readable later with `input.password` through
    /// [`PaymentsClient::transactions`](crate::PaymentsClient::transactions). Never
    /// retried; see [`redeem_with_key`](Self::redeem_with_key).
    ///
    /// # Errors
    /// [`Error::Server`] `404 COUPON_NOT_FOUND`, `403 COUPON_FOREIGN`, `409
    /// COUPON_SPENT`, `422 COUPON_NOT_REGISTERED` / `COUPON_EXPIRED` /
    /// `COUPON_NOT_APPLICABLE` / `INVALID_ORDER`, `429 TOO_MANY_ATTEMPTS`;
    /// [`Error::OutcomeUnknown`] when no answer came (read the coupon back with
    /// [`get`](Self::get)); the other variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, order: payments_client::records::charges::OrderInput) -> Result<(), payments_client::Error> {
    /// use payments_core::coupon::{CouponCode, OwnerId};
    /// use payments_client::records::coupons::CouponRedeem;
    /// let redemption = client
    ///     .coupons()
    ///     .redeem(&CouponRedeem {
    ///         code: CouponCode::parse("7K3QM-2XH9P-0ABCD-EFGH1").expect("a code"),
    ///         owner: OwnerId::new("member-1"),
    ///         order,
    ///         password: "transaction password".into(),
    ///     })
    ///     .await?;
    /// println!("{} off, transaction {}", redemption.discount, redemption.transaction.transaction.id());
    /// # Ok(()) }
    /// ```
    pub async fn redeem(&self, input: &CouponRedeem) -> Result<CouponRedemption, Error> {
        self.write("/payments/coupons/redeem", input, None).await
    }

    /// [`redeem`](Self::redeem) with an `Idempotency-Key`: retried with the same key, so
    /// a redemption whose answer was lost is answered again instead of `409
    /// COUPON_SPENT`.
    ///
    /// # Errors
    /// As [`redeem`](Self::redeem), after the retries; `422 IDEMPOTENCY_MISMATCH`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::coupons::CouponRedeem) -> Result<(), payments_client::Error> {
    /// let key = payments_client::IdempotencyKey::new("order-42/coupon").expect("a valid key");
    /// let redemption = client.coupons().redeem_with_key(&input, &key).await?;
    /// # let _ = redemption; Ok(()) }
    /// ```
    pub async fn redeem_with_key(
        &self,
        input: &CouponRedeem,
        key: &IdempotencyKey,
    ) -> Result<CouponRedemption, Error> {
        self.write("/payments/coupons/redeem", input, Some(key))
            .await
    }

    /// `PATCH /payments/coupons/get` (sealed): reads a coupon as its owner. Retried per
    /// the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// [`Error::Server`] `404 COUPON_NOT_FOUND`, `403 COUPON_FOREIGN`, `422
    /// COUPON_NOT_REGISTERED` (nobody owns it yet), `429 TOO_MANY_ATTEMPTS`; the other
    /// variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, code: payments_core::coupon::CouponCode) -> Result<(), payments_client::Error> {
    /// use payments_core::coupon::OwnerId;
    /// use payments_client::records::coupons::CouponAccess;
    /// let coupon = client
    ///     .coupons()
    ///     .get(&CouponAccess { code, owner: OwnerId::new("member-1") })
    ///     .await?;
    /// println!("{:?} until {}", coupon.status, coupon.expires_at);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, input: &CouponAccess) -> Result<CouponRecord, Error> {
        self.inner
            .call(
                Method::PATCH,
                "/payments/coupons/get",
                Body::Sealed,
                Some(input),
                Kind::Idempotent,
            )
            .await
    }

    async fn write<I, T>(
        &self,
        path: &str,
        input: &I,
        key: Option<&IdempotencyKey>,
    ) -> Result<T, Error>
    where
        I: serde::Serialize + Sync,
        T: serde::de::DeserializeOwned,
    {
        self.inner
            .call(
                Method::POST,
                path,
                Body::Sealed,
                Some(input),
                Kind::Write(key),
            )
            .await
    }
}

//! [`Charges`], [`Transactions`] and [`Certifications`]: the routes the server adds for
//! taking payments itself (`docs/protocol.md`).

use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::transport::{Body, Inner, Kind};
use http::Method;
use payments_core::records::charges::{
    CertificationVerify, Charge, ChargeCreate, TransactionAccess, TransactionRecord,
    VerifiedIdentity,
};
use uuid::Uuid;

/// The charge route; get one from [`PaymentsClient::charges`](crate::PaymentsClient::charges).
#[derive(Debug, Clone, Copy)]
pub struct Charges<'a> {
    inner: &'a Inner,
}

impl<'a> Charges<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/charges` (sealed): charges an order to a saved card at whichever
    /// PG holds it. The key is required: the server passes it on to the PG, and every
    /// retry (transport errors, timeouts, `502`/`503`/`504`) sends the same key, so the
    /// card is charged at most once. Identical concurrent calls get the same answer.
    ///
    /// # Errors
    /// [`Error::Server`] `402 PAYMENT_DECLINED` (the PG's code and message; the failed
    /// transaction is recorded), `422 INVALID_ORDER` (no lines, a quantity below 1, a
    /// disabled product), `404`/`403` for the reservation, `422 RESERVATION_DELETED`
    /// when its billing key was deleted at the PG, `409 DUPLICATE` for an order already
    /// paid; [`Error::OutcomeUnknown`] when no answer came — retry with the same key, the
    /// server will not charge twice (at PortOne V2 the order id is the `paymentId`, paid
    /// once).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::charges::ChargeCreate) -> Result<(), payments_client::Error> {
    /// use payments_client::IdempotencyKey;
    /// let key = IdempotencyKey::new("kiosk-7/basket-42").expect("a valid key");
    /// let charge = client.charges().create(&input, &key).await?;
    /// println!("{}: {}", charge.transaction.status_message, charge.transaction.transaction.total());
    /// # Ok(()) }
    /// ```
    pub async fn create(
        &self,
        input: &ChargeCreate,
        key: &IdempotencyKey,
    ) -> Result<Charge, Error> {
        self.inner
            .call(
                Method::POST,
                "/payments/charges",
                Body::Sealed,
                Some(input),
                Kind::Write(Some(key)),
            )
            .await
    }
}

/// The transaction route; get one from
/// [`PaymentsClient::transactions`](crate::PaymentsClient::transactions).
#[derive(Debug, Clone, Copy)]
pub struct Transactions<'a> {
    inner: &'a Inner,
}

impl<'a> Transactions<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `PATCH /payments/transactions/{id}` (sealed): reads an approval attempt — status,
    /// status message and total, what a kiosk screen shows — with the password given when
    /// it was made (the charge's or the recorded payment's).
    ///
    /// # Errors
    /// [`Error::Server`] `404` for an unknown id, `403` for a wrong password.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, id: uuid::Uuid) -> Result<(), payments_client::Error> {
    /// use payments_client::records::charges::TransactionAccess;
    /// let record = client.transactions().at(id, &TransactionAccess { password: "pw".into() }).await?;
    /// println!("{}", record.status_message);
    /// # Ok(()) }
    /// ```
    pub async fn at(
        &self,
        id: Uuid,
        access: &TransactionAccess,
    ) -> Result<TransactionRecord, Error> {
        self.inner
            .call(
                Method::PATCH,
                &format!("/payments/transactions/{id}"),
                Body::Sealed,
                Some(access),
                Kind::Idempotent,
            )
            .await
    }
}

/// The identity-verification route; get one from
/// [`PaymentsClient::certifications`](crate::PaymentsClient::certifications).
#[derive(Debug, Clone, Copy)]
pub struct Certifications<'a> {
    inner: &'a Inner,
}

impl<'a> Certifications<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/certifications` (sealed): has the server fetch a PG certification
    /// and answer the verified name, birth date and phone with a keyed hash of the
    /// person's CI (never the CI). The server accepts each certification once, and only
    /// within its `[identity] max_age_ms` of the person completing it, so this call is
    /// not retried: after a lost answer, have the person certify again.
    ///
    /// # Errors
    /// [`Error::Server`] `404 VENDOR_NOT_FOUND` for an unknown certification, `422
    /// NOT_CERTIFIED` for an unfinished one (PortOne V2: `READY` or `FAILED`), `409
    /// CERTIFICATION_USED` for one accepted before, `422 CERTIFICATION_EXPIRED` for one
    /// completed too long ago, `400 UNKNOWN_STORE`.
    ///
    /// The `uid` is PortOne V1's `imp_uid` (`VendorCode::Iamport`) or PortOne V2's
    /// identity verification id (`VendorCode::PortOne`, below).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::{Vendor, VendorCode};
    /// use payments_client::records::charges::CertificationVerify;
    /// let person = client
    ///     .certifications()
    ///     .verify(&CertificationVerify {
    ///         vendor: Vendor { code: VendorCode::PortOne, store_id: "main".into(), uid: "identity-verification-1".into() },
    ///     })
    ///     .await?;
    /// println!("{} born {}, CI hash {}", person.name, person.birth_date, person.ci_hash);
    /// # Ok(()) }
    /// ```
    pub async fn verify(&self, input: &CertificationVerify) -> Result<VerifiedIdentity, Error> {
        self.inner
            .call(
                Method::POST,
                "/payments/certifications",
                Body::Sealed,
                Some(input),
                // Accepted once: a blind retry of a request that was answered would be
                // refused as a second use.
                Kind::Write(None),
            )
            .await
    }
}

//! [`Charges`], [`Transactions`], [`Certifications`]: the routes this project adds
//! beyond the base spec (`docs/protocol.md`): charging a saved card, reading the
//! resulting transaction, and verifying a person's identity certification.

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

    /// `POST /payments/charges` (sealed, `201`): charges a saved card (a reservation)
    /// for an order. The server requires an `Idempotency-Key` and passes it on to the
    /// PG, so the key is a parameter here: the call is retried on transport errors,
    /// timeouts, `502`/`503`/`504` and `409 IDEMPOTENCY_IN_FLIGHT`, always with this
    /// key, and the card is charged at most once. Store the key with the order and reuse
    /// it if you retry later.
    ///
    /// # Errors
    /// [`Error::Server`] `402 PAYMENT_DECLINED` (the message starts with the PG's code),
    /// `422 INVALID_ORDER`, `409 DUPLICATE` for an order already paid, `404`/`403` for
    /// the reservation, `504 VENDOR_TIMEOUT` (outcome unknown: retry with the same key);
    /// [`Error::OutcomeUnknown`]; the other variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_core::records::charges::ChargeCreate) -> Result<(), payments_client::Error> {
    /// use payments_client::IdempotencyKey;
    /// let key = IdempotencyKey::new("order-0001/charge").expect("a valid key");
    /// let charge = client.charges().create(&input, &key).await?;
    /// println!("{}: {}", charge.history.id, charge.transaction.status_message);
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

    /// `PATCH /payments/transactions/{id}` (sealed): reads a transaction with the
    /// password of its history (for a coupon, the owner id that redeemed it). Retried
    /// per the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// [`Error::Server`] `404 NOT_FOUND`, `403 WRONG_PASSWORD`; the other variants of
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, id: uuid::Uuid) -> Result<(), payments_client::Error> {
    /// use payments_core::records::charges::TransactionAccess;
    /// let record = client
    ///     .transactions()
    ///     .at(id, &TransactionAccess { password: "record password".into() })
    ///     .await?;
    /// println!("{}", record.status_message);
    /// # Ok(()) }
    /// ```
    pub async fn at(
        &self,
        id: Uuid,
        access: &TransactionAccess,
    ) -> Result<TransactionRecord, Error> {
        let path = format!("/payments/transactions/{id}");
        self.inner
            .call(
                Method::PATCH,
                &path,
                Body::Sealed,
                Some(access),
                Kind::Idempotent,
            )
            .await
    }
}

/// The identity-certification route; get one from
/// [`PaymentsClient::certifications`](crate::PaymentsClient::certifications).
#[derive(Debug, Clone, Copy)]
pub struct Certifications<'a> {
    inner: &'a Inner,
}

impl<'a> Certifications<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/certifications` (sealed): asks the server to verify a PG
    /// identity certification (PortOne `imp_uid`) and answers the verified identity,
    /// with only a keyed hash of the person's CI. A lookup that changes nothing, so it
    /// is retried like a read.
    ///
    /// # Errors
    /// [`Error::Server`] `404 VENDOR_NOT_FOUND` for an unknown certification, `400
    /// UNKNOWN_STORE`, `502`; the other variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_core::records::charges::CertificationVerify;
    /// use payments_core::records::{Vendor, VendorCode};
    /// let identity = client
    ///     .certifications()
    ///     .verify(&CertificationVerify {
    ///         vendor: Vendor { code: VendorCode::Iamport, store_id: "main".into(), uid: "imp_cert_1".into() },
    ///     })
    ///     .await?;
    /// println!("{} born {}", identity.name, identity.birth_date);
    /// # Ok(()) }
    /// ```
    pub async fn verify(&self, input: &CertificationVerify) -> Result<VerifiedIdentity, Error> {
        self.inner
            .call(
                Method::POST,
                "/payments/certifications",
                Body::Sealed,
                Some(input),
                Kind::Idempotent,
            )
            .await
    }
}

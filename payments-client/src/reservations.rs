//! [`Reservations`]: the billing-key routes (`/payments/reservations…`).

use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::transport::{Body, Inner, Kind};
use http::Method;
use payments_core::records::{Accessor, Password, PaymentReservation, ReservationCreate};
use uuid::Uuid;

/// The billing-key reservation routes; get one from
/// [`PaymentsClient::reservations`](crate::PaymentsClient::reservations).
#[derive(Debug, Clone, Copy)]
pub struct Reservations<'a> {
    inner: &'a Inner,
}

impl<'a> Reservations<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/reservations` (sealed): asks the server to verify a billing key
    /// with its PG and record it. Never retried; see
    /// [`create_with_key`](Self::create_with_key).
    ///
    /// # Errors
    /// [`Error::Server`] `409` when the source or billing key already holds a
    /// reservation, `422 RESERVATION_DELETED` for a PortOne V2 key deleted at PortOne,
    /// `502` when the PG failed; [`Error::OutcomeUnknown`] when no answer came; the other
    /// variants of [`Error`].
    ///
    /// The `uid` is the PG's billing key: PortOne V1's `customer_uid`, PortOne V2's
    /// `billingKey` (`VendorCode::PortOne`, below), Toss's `billingKey`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::{ReservationCreate, Source, Vendor, VendorCode};
    /// let reservation = client
    ///     .reservations()
    ///     .create(&ReservationCreate {
    ///         vendor: Vendor { code: VendorCode::PortOne, store_id: "main".into(), uid: "billing-key-…".into() },
    ///         source: Source { schema: "shop".into(), table: "members".into(), id: "member-1".into() },
    ///         title: "my card".into(),
    ///         password: "record password".into(),
    ///     })
    ///     .await?;
    /// # let _ = reservation; Ok(()) }
    /// ```
    pub async fn create(&self, input: &ReservationCreate) -> Result<PaymentReservation, Error> {
        self.create_inner(input, None).await
    }

    /// [`create`](Self::create) with an `Idempotency-Key`: retried on transport errors,
    /// timeouts and `502`/`503`/`504`, every attempt with the same key.
    ///
    /// # Errors
    /// As [`create`](Self::create), after the retries; `422 IDEMPOTENCY_MISMATCH` when
    /// the key was used before with a different input.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::ReservationCreate) -> Result<(), payments_client::Error> {
    /// use payments_client::IdempotencyKey;
    /// let key = IdempotencyKey::new("member-1/card").expect("a valid key");
    /// let reservation = client.reservations().create_with_key(&input, &key).await?;
    /// # let _ = reservation; Ok(()) }
    /// ```
    pub async fn create_with_key(
        &self,
        input: &ReservationCreate,
        key: &IdempotencyKey,
    ) -> Result<PaymentReservation, Error> {
        self.create_inner(input, Some(key)).await
    }

    async fn create_inner(
        &self,
        input: &ReservationCreate,
        key: Option<&IdempotencyKey>,
    ) -> Result<PaymentReservation, Error> {
        self.inner
            .call(
                Method::POST,
                "/payments/reservations",
                Body::Sealed,
                Some(input),
                Kind::Write(key),
            )
            .await
    }

    /// `PATCH /payments/reservations/get` (sealed): reads the reservation of a source,
    /// with its password. Retried per the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// [`Error::Server`] `404 NOT_FOUND`, `403 WRONG_PASSWORD`; the other variants of
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Accessor;
    /// let reservation = client
    ///     .reservations()
    ///     .get(&Accessor {
    ///         schema: "shop".into(),
    ///         table: "members".into(),
    ///         id: "member-1".into(),
    ///         password: "record password".into(),
    ///     })
    ///     .await?;
    /// # let _ = reservation; Ok(()) }
    /// ```
    pub async fn get(&self, accessor: &Accessor) -> Result<PaymentReservation, Error> {
        self.inner
            .call(
                Method::PATCH,
                "/payments/reservations/get",
                Body::Sealed,
                Some(accessor),
                Kind::Idempotent,
            )
            .await
    }

    /// `PATCH /payments/reservations/{id}` (sealed): reads a reservation by its id, with
    /// its password. Retried per the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// [`Error::Server`] `404 NOT_FOUND`, `403 WRONG_PASSWORD`; the other variants of
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, id: uuid::Uuid) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Password;
    /// let reservation = client.reservations().at(id, &Password { password: "pw".into() }).await?;
    /// # let _ = reservation; Ok(()) }
    /// ```
    pub async fn at(&self, id: Uuid, password: &Password) -> Result<PaymentReservation, Error> {
        let path = format!("/payments/reservations/{id}");
        self.inner
            .call(
                Method::PATCH,
                &path,
                Body::Sealed,
                Some(password),
                Kind::Idempotent,
            )
            .await
    }
}

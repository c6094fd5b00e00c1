//! [`Histories`]: the payment-history routes (`/payments/histories…`).

use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::transport::{Body, Inner, Kind};
use http::Method;
use payments_core::records::{
    Accessor, CancelCreate, Password, PaymentHistory, PaymentHistoryCreate,
};
use uuid::Uuid;

/// The payment-history routes; get one from
/// [`PaymentsClient::histories`](crate::PaymentsClient::histories).
#[derive(Debug, Clone, Copy)]
pub struct Histories<'a> {
    inner: &'a Inner,
}

impl<'a> Histories<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/histories` (sealed): asks the server to verify a PG payment with
    /// its PG and record it. Never retried: without a key a second attempt could be a
    /// second record, so use [`create_with_key`](Self::create_with_key) to retry.
    ///
    /// # Errors
    /// [`Error::Server`] `409` when the source or vendor uid already holds a history,
    /// `422` when the PG's amount or order id differ (the server cancels a wrong amount),
    /// `402` when the PG declined, `502` when the PG failed; [`Error::OutcomeUnknown`]
    /// when no answer came (the payment may be recorded: read it back with
    /// [`get`](Self::get)); the other variants of [`Error`].
    ///
    /// The `uid` is the PG's payment id: Toss's `paymentKey`, PortOne V1's `imp_uid`, or
    /// PortOne V2's `paymentId` — the merchant's own id, which must then be `source.id`
    /// (the second example).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::{PaymentHistoryCreate, Source, Vendor, VendorCode};
    /// let history = client
    ///     .histories()
    ///     .create(&PaymentHistoryCreate {
    ///         vendor: Vendor { code: VendorCode::TossPayments, store_id: "main".into(), uid: "paymentKey".into() },
    ///         source: Source { schema: "shop".into(), table: "orders".into(), id: "order-1".into() },
    ///         price: 10_000,
    ///         password: "record password".into(),
    ///         webhook_url: Some("https://shop.example/hooks/payments".into()),
    ///     })
    ///     .await?;
    /// let v2 = client
    ///     .histories()
    ///     .create(&PaymentHistoryCreate {
    ///         vendor: Vendor { code: VendorCode::PortOne, store_id: "main".into(), uid: "order-2".into() },
    ///         source: Source { schema: "shop".into(), table: "orders".into(), id: "order-2".into() },
    ///         price: 4_500,
    ///         password: "record password".into(),
    ///         webhook_url: None,
    ///     })
    ///     .await?;
    /// # let _ = (history, v2); Ok(()) }
    /// ```
    pub async fn create(&self, input: &PaymentHistoryCreate) -> Result<PaymentHistory, Error> {
        self.create_inner(input, None).await
    }

    /// [`create`](Self::create) with an `Idempotency-Key`: retried on transport errors,
    /// timeouts and `502`/`503`/`504`, every attempt with the same key, so the server
    /// records the payment at most once. Reuse the key when you retry later yourself.
    ///
    /// # Errors
    /// As [`create`](Self::create), after the retries; `422 IDEMPOTENCY_MISMATCH` when
    /// the key was used before with a different input.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::PaymentHistoryCreate) -> Result<(), payments_client::Error> {
    /// use payments_client::IdempotencyKey;
    /// let key = IdempotencyKey::new("order-1/pay").expect("a valid key");
    /// let history = client.histories().create_with_key(&input, &key).await?;
    /// # let _ = history; Ok(()) }
    /// ```
    pub async fn create_with_key(
        &self,
        input: &PaymentHistoryCreate,
        key: &IdempotencyKey,
    ) -> Result<PaymentHistory, Error> {
        self.create_inner(input, Some(key)).await
    }

    async fn create_inner(
        &self,
        input: &PaymentHistoryCreate,
        key: Option<&IdempotencyKey>,
    ) -> Result<PaymentHistory, Error> {
        self.inner
            .call(
                Method::POST,
                "/payments/histories",
                Body::Sealed,
                Some(input),
                Kind::Write(key),
            )
            .await
    }

    /// `PATCH /payments/histories/get` (sealed): reads the history of a source, with its
    /// password. Retried per the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// [`Error::Server`] `404 NOT_FOUND` when the source holds no history, `403
    /// WRONG_PASSWORD`; the other variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Accessor;
    /// let history = client
    ///     .histories()
    ///     .get(&Accessor {
    ///         schema: "shop".into(),
    ///         table: "orders".into(),
    ///         id: "order-1".into(),
    ///         password: "record password".into(),
    ///     })
    ///     .await?;
    /// # let _ = history; Ok(()) }
    /// ```
    pub async fn get(&self, accessor: &Accessor) -> Result<PaymentHistory, Error> {
        self.inner
            .call(
                Method::PATCH,
                "/payments/histories/get",
                Body::Sealed,
                Some(accessor),
                Kind::Idempotent,
            )
            .await
    }

    /// `PATCH /payments/histories/{id}` (sealed): reads a history by its id, with its
    /// password. Retried per the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// [`Error::Server`] `404 NOT_FOUND`, `403 WRONG_PASSWORD`; the other variants of
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, id: uuid::Uuid) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Password;
    /// let history = client.histories().at(id, &Password { password: "pw".into() }).await?;
    /// # let _ = history; Ok(()) }
    /// ```
    pub async fn at(&self, id: Uuid, password: &Password) -> Result<PaymentHistory, Error> {
        let path = format!("/payments/histories/{id}");
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

    /// `PUT /payments/histories/cancel` (sealed): cancels all or part of a payment and
    /// returns the updated history. Sent under a fresh random `Idempotency-Key` (the
    /// server requires one over sealed-v2, so a replayed cancel refunds once), and
    /// retried under it within this call; to retry across calls or restarts, keep your own
    /// key and use [`cancel_with_key`](Self::cancel_with_key).
    ///
    /// # Errors
    /// [`Error::Server`] `404`, `403 WRONG_PASSWORD`, `400`/`422` for a price above what
    /// is left, `502` when the PG failed; [`Error::OutcomeUnknown`] when no answer came
    /// (the cancel may be done: read the history back); the other variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::{CancelCreate, Source};
    /// let history = client
    ///     .histories()
    ///     .cancel(&CancelCreate {
    ///         source: Source { schema: "shop".into(), table: "orders".into(), id: "order-1".into() },
    ///         password: "record password".into(),
    ///         price: 3_000,
    ///         reason: "customer request".into(),
    ///         account: None,
    ///     })
    ///     .await?;
    /// # let _ = history; Ok(()) }
    /// ```
    pub async fn cancel(&self, input: &CancelCreate) -> Result<PaymentHistory, Error> {
        self.cancel_inner(input, &IdempotencyKey::random()).await
    }

    /// [`cancel`](Self::cancel) with an `Idempotency-Key`: retried like
    /// [`create_with_key`](Self::create_with_key), so a partial cancel is applied once.
    ///
    /// # Errors
    /// As [`cancel`](Self::cancel), after the retries; `422 IDEMPOTENCY_MISMATCH` when
    /// the key was used before with a different input.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::CancelCreate) -> Result<(), payments_client::Error> {
    /// use payments_client::IdempotencyKey;
    /// let key = IdempotencyKey::random(); // store it with the refund request to reuse it
    /// let history = client.histories().cancel_with_key(&input, &key).await?;
    /// # let _ = history; Ok(()) }
    /// ```
    pub async fn cancel_with_key(
        &self,
        input: &CancelCreate,
        key: &IdempotencyKey,
    ) -> Result<PaymentHistory, Error> {
        self.cancel_inner(input, key).await
    }

    async fn cancel_inner(
        &self,
        input: &CancelCreate,
        key: &IdempotencyKey,
    ) -> Result<PaymentHistory, Error> {
        self.inner
            .call(
                Method::PUT,
                "/payments/histories/cancel",
                Body::Sealed,
                Some(input),
                Kind::Write(Some(key)),
            )
            .await
    }
}

//! [`PaymentsClient`]: the entry point. It holds one HTTP connection pool and the derived
//! keys behind an `Arc`, so clone it freely (per request, per task).

use crate::connection::{ConfigError, Connection};
use crate::histories::Histories;
use crate::monitors::Monitors;
use crate::redelivery::{Events, Webhooks};
use crate::reservations::Reservations;
use crate::transport::Inner;
use payments_core::envelope::Envelope;
use std::sync::Arc;

/// A client of `payments-server`: `Send + Sync`, cheap to clone, one typed method per
/// route, grouped as the routes are.
#[derive(Clone)]
pub struct PaymentsClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for PaymentsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl PaymentsClient {
    /// Checks the connection and builds the client.
    ///
    /// # Errors
    /// [`ConfigError`] when the base URL is not an `http`/`https` URL without query, no
    /// envelope was chosen, the compat key or IV has the wrong length, an extra header
    /// cannot be sent, or the HTTP client cannot be built.
    ///
    /// ```
    /// use payments_client::{Connection, PaymentsClient, ConfigError};
    /// let client = PaymentsClient::new(
    ///     Connection::new("https://payments.internal.example").sealed_v2("the shared secret"),
    /// )?;
    /// assert!(matches!(
    ///     PaymentsClient::new(Connection::new("https://payments.internal.example")),
    ///     Err(ConfigError::NoEnvelope)
    /// ));
    /// # let _ = client;
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn new(connection: Connection) -> Result<Self, ConfigError> {
        Ok(Self {
            inner: Arc::new(Inner::new(connection)?),
        })
    }

    /// The payment histories: `create`, `get` (by source), `at` (by id), `cancel`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Password;
    /// let history = client
    ///     .histories()
    ///     .at(uuid::Uuid::nil(), &Password { password: "pw".into() })
    ///     .await?;
    /// # let _ = history; Ok(()) }
    /// ```
    pub fn histories(&self) -> Histories<'_> {
        Histories::new(&self.inner)
    }

    /// The billing-key reservations: `create`, `get` (by source), `at` (by id).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Password;
    /// let reservation = client
    ///     .reservations()
    ///     .at(uuid::Uuid::nil(), &Password { password: "pw".into() })
    ///     .await?;
    /// # let _ = reservation; Ok(()) }
    /// ```
    pub fn reservations(&self) -> Reservations<'_> {
        Reservations::new(&self.inner)
    }

    /// Charging saved cards: `create` (with a required idempotency key).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::charges::ChargeCreate) -> Result<(), payments_client::Error> {
    /// let key = payments_client::IdempotencyKey::random();
    /// let charge = client.charges().create(&input, &key).await?;
    /// # let _ = charge; Ok(()) }
    /// ```
    pub fn charges(&self) -> crate::charges::Charges<'_> {
        crate::charges::Charges::new(&self.inner)
    }

    /// Coupons and gifts: `issue`, `gift`, `register`, `redeem`, `get` (each write also
    /// `*_with_key`).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, access: payments_client::records::coupons::CouponAccess) -> Result<(), payments_client::Error> {
    /// let coupon = client.coupons().get(&access).await?;
    /// # let _ = coupon; Ok(()) }
    /// ```
    pub fn coupons(&self) -> crate::coupons::Coupons<'_> {
        crate::coupons::Coupons::new(&self.inner)
    }

    /// Approval attempts (charges, coupons, recorded payments): `at` (by id).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::charges::TransactionAccess;
    /// let record = client
    ///     .transactions()
    ///     .at(uuid::Uuid::nil(), &TransactionAccess { password: "pw".into() })
    ///     .await?;
    /// # let _ = record; Ok(()) }
    /// ```
    pub fn transactions(&self) -> crate::charges::Transactions<'_> {
        crate::charges::Transactions::new(&self.inner)
    }

    /// Identity verification with PG certifications: `verify`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, input: payments_client::records::charges::CertificationVerify) -> Result<(), payments_client::Error> {
    /// let person = client.certifications().verify(&input).await?;
    /// # let _ = person; Ok(()) }
    /// ```
    pub fn certifications(&self) -> crate::charges::Certifications<'_> {
        crate::charges::Certifications::new(&self.inner)
    }

    /// The server's monitors: `health`, `performance`, `system`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// client.monitors().health().await?;
    /// # Ok(()) }
    /// ```
    pub fn monitors(&self) -> Monitors<'_> {
        Monitors::new(&self.inner)
    }

    /// The server's webhook routes: `redeliver`, and `failed` (what gave up).
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Password;
    /// let redelivery = client
    ///     .webhooks()
    ///     .redeliver(uuid::Uuid::nil(), &Password { password: "pw".into() })
    ///     .await?;
    /// # let _ = redelivery; Ok(()) }
    /// ```
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks::new(&self.inner)
    }

    /// Merchant events: `redeliver`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// let redelivery = client.events().redeliver(uuid::Uuid::nil()).await?;
    /// # let _ = redelivery; Ok(()) }
    /// ```
    pub fn events(&self) -> Events<'_> {
        Events::new(&self.inner)
    }

    /// The envelope this client seals with: hand it to
    /// [`open_webhook`](crate::open_webhook) (or the `axum` extractor) so webhooks are
    /// opened with the same, already derived keys.
    ///
    /// ```
    /// use payments_client::{Connection, PaymentsClient};
    /// use payments_core::envelope::EnvelopeKind;
    /// let client = PaymentsClient::new(
    ///     Connection::new("https://payments.internal.example").sealed_v2("secret"),
    /// )?;
    /// assert_eq!(client.envelope().kind(), EnvelopeKind::SealedV2);
    /// # Ok::<(), payments_client::ConfigError>(())
    /// ```
    pub fn envelope(&self) -> &Envelope {
        self.inner.envelope()
    }

    /// The base URL requests go under.
    ///
    /// ```
    /// use payments_client::{Connection, PaymentsClient};
    /// let client = PaymentsClient::new(Connection::new("https://host/api").sealed_v2("secret"))?;
    /// assert_eq!(client.base_url().as_str(), "https://host/api");
    /// # Ok::<(), payments_client::ConfigError>(())
    /// ```
    pub fn base_url(&self) -> &url::Url {
        self.inner.base_url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<PaymentsClient>();
    }
}

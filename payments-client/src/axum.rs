//! Receiving webhooks in an `axum` app (feature `axum`): the [`VerifiedWebhook`] (and
//! [`VerifiedEvent`]) extractor opens and verifies the webhook with a [`WebhookVerifier`] taken from the
//! router's state, and refuses anything else with the right status and a JSON
//! `{status, code, message}` body.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use payments_client::axum::{VerifiedWebhook, WebhookVerifier};
//!
//! # fn app(client: &payments_client::PaymentsClient) -> Router {
//! Router::new()
//!     .route("/hooks/payments", post(|VerifiedWebhook(hook): VerifiedWebhook| async move {
//!         println!("{} is now {:?}", hook.source.id, hook.current.cancelled_at);
//!     }))
//!     .with_state(WebhookVerifier::from_client(client))
//! # }
//! ```
//!
//! When your app has its own state, implement `FromRef<YourState> for WebhookVerifier`.

use crate::client::PaymentsClient;
use crate::webhook::{WebhookError, open_message, open_webhook};
use ::axum::Json;
use ::axum::body::Bytes;
use ::axum::extract::rejection::BytesRejection;
use ::axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use ::axum::response::{IntoResponse, Response};
use payments_core::clock::{Clock, SystemClock};
use payments_core::envelope::Envelope;
use payments_core::records::charges::EventRecord;
use payments_core::records::{ErrorBody, WebhookHistory};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// What opens webhooks: the envelope (shared, keys derived once) and the clock they are
/// checked against. Cheap to clone; put it in the router's state.
#[derive(Clone)]
pub struct WebhookVerifier {
    envelope: Arc<Envelope>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("envelope", &self.envelope.kind())
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// Opens webhooks with `envelope`, checked against the system clock.
    ///
    /// ```
    /// use payments_client::axum::WebhookVerifier;
    /// use payments_core::envelope::{Envelope, SealedV2Key};
    /// let verifier = WebhookVerifier::new(Envelope::SealedV2(SealedV2Key::derive("secret")));
    /// # let _ = verifier;
    /// ```
    pub fn new(envelope: Envelope) -> Self {
        Self {
            envelope: Arc::new(envelope),
            clock: Arc::new(SystemClock),
        }
    }

    /// Opens webhooks with the client's envelope (no second key derivation).
    ///
    /// ```
    /// use payments_client::{Connection, PaymentsClient, axum::WebhookVerifier};
    /// let client = PaymentsClient::new(Connection::new("http://127.0.0.1:1").sealed_v2("secret"))?;
    /// let verifier = WebhookVerifier::from_client(&client);
    /// # let _ = verifier;
    /// # Ok::<(), payments_client::ConfigError>(())
    /// ```
    pub fn from_client(client: &PaymentsClient) -> Self {
        Self::new(client.envelope().clone())
    }

    /// Checks sealed-v2 timestamps against `clock` instead of the system clock.
    ///
    /// ```
    /// use payments_client::axum::WebhookVerifier;
    /// use payments_core::clock::FixedClock;
    /// use payments_core::envelope::{Envelope, SealedV2Key};
    /// use std::sync::Arc;
    /// let verifier = WebhookVerifier::new(Envelope::SealedV2(SealedV2Key::derive("secret")))
    ///     .with_clock(Arc::new(FixedClock::new(chrono::Utc::now())));
    /// # let _ = verifier;
    /// ```
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// [`open_webhook`] with this verifier's envelope and clock.
    ///
    /// # Errors
    /// As [`open_webhook`].
    ///
    /// ```no_run
    /// # fn run(verifier: payments_client::axum::WebhookVerifier, headers: http::HeaderMap, body: bytes::Bytes) -> Result<(), payments_client::WebhookError> {
    /// let webhook = verifier.verify("POST", "/hooks/payments", &headers, &body)?;
    /// # let _ = webhook; Ok(()) }
    /// ```
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<WebhookHistory, WebhookError> {
        open_webhook(
            &self.envelope,
            method,
            path,
            headers,
            body,
            self.clock.now(),
        )
    }
}

/// An extractor holding a verified [`WebhookHistory`]. Needs a [`WebhookVerifier`] in
/// the state (`WebhookVerifier: FromRef<S>`); binds the request's method and its path as
/// the router saw it before any nesting (`OriginalUri`).
#[derive(Debug, Clone)]
pub struct VerifiedWebhook(pub WebhookHistory);

/// Why [`VerifiedWebhook`] refused a request; answers with a JSON `ErrorBody`.
#[derive(Debug, thiserror::Error)]
pub enum WebhookRejection {
    /// The webhook did not verify or open.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The body could not be read (e.g. over the body limit).
    #[error(transparent)]
    Body(#[from] BytesRejection),
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::Webhook(e) => (e.status(), e.code()),
            Self::Body(e) => (e.status(), crate::ErrorCode::BadRequest),
        };
        let body = ErrorBody::new(status.as_u16(), code, self.to_string());
        (status, Json(body)).into_response()
    }
}

/// Like [`VerifiedWebhook`], for the merchant events the server POSTs to its event URL.
#[derive(Debug, Clone)]
pub struct VerifiedEvent(pub EventRecord);

/// Reads the method, the original path, the headers and the body, and opens them.
async fn verified<T: DeserializeOwned, S>(req: Request, state: &S) -> Result<T, WebhookRejection>
where
    S: Send + Sync,
    WebhookVerifier: FromRef<S>,
{
    let verifier = WebhookVerifier::from_ref(state);
    let method = req.method().as_str().to_owned();
    let path = match req.extensions().get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path().to_owned(),
        None => req.uri().path().to_owned(),
    };
    let headers = req.headers().clone();
    let body = Bytes::from_request(req, state).await?;
    let now = verifier.clock.now();
    Ok(open_message(
        &verifier.envelope,
        &method,
        &path,
        &headers,
        &body,
        now,
    )?)
}

impl<S> FromRequest<S> for VerifiedWebhook
where
    S: Send + Sync,
    WebhookVerifier: FromRef<S>,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        verified(req, state).await.map(Self)
    }
}

impl<S> FromRequest<S> for VerifiedEvent
where
    S: Send + Sync,
    WebhookVerifier: FromRef<S>,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        verified(req, state).await.map(Self)
    }
}

//! [`open_webhook`]: verifies and opens what `payments-server` POSTs to a history's
//! `webhook_url`.
//!
//! The server seals a [`WebhookHistory`] with the envelope the history was created with.
//! `sealed-v2` webhooks carry `X-Payments-Timestamp`, and their tag binds `POST`, the
//! webhook URL's path and that timestamp, so a webhook cannot be forged, replayed to
//! another endpoint or replayed later than five minutes. `compat` webhooks have no tag:
//! anyone holding the key can forge them, which is why the server favours `sealed-v2`.
//! Either way the body only tells you something changed; the webhook's `id` is the same
//! on every delivery, so de-duplicate on it.

use crate::error::ResponseError;
use crate::transport::{read_timestamp, same_media_type};
use http::{HeaderMap, StatusCode, header};
use payments_core::envelope::{Binding, Envelope, EnvelopeError, check_freshness};
use payments_core::records::WebhookHistory;
use payments_core::records::charges::EventRecord;
use payments_core::timestamp::Timestamp;
use serde::de::DeserializeOwned;

/// The header carrying the webhook's id (also the body's `id`), the same on every
/// delivery attempt.
pub const WEBHOOK_ID_HEADER: &str = "x-payments-webhook-id";

/// Why a webhook was refused. [`status`](Self::status) is the answer to give the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The `Content-Type` is not the envelope's.
    #[error("expected content type {expected:?}, got {actual:?}")]
    ContentType {
        /// The envelope's content type.
        expected: &'static str,
        /// What the webhook carried (`None`: no header).
        actual: Option<String>,
    },
    /// A sealed-v2 webhook without `X-Payments-Timestamp`.
    #[error("the sealed-v2 webhook has no X-Payments-Timestamp header")]
    MissingTimestamp,
    /// `X-Payments-Timestamp` is not decimal Unix milliseconds.
    #[error("X-Payments-Timestamp is not decimal Unix milliseconds: {0:?}")]
    InvalidTimestamp(String),
    /// The body is not base64 text.
    #[error("the webhook body is not text")]
    NotText,
    /// The tag does not verify (wrong secret, other path or method, altered body).
    #[error("the webhook is not authentic: {0}")]
    NotAuthentic(#[source] EnvelopeError),
    /// Authentic, but more than five minutes from our clock (a replay, or clock skew).
    #[error("the webhook is stale: {0}")]
    Stale(#[source] EnvelopeError),
    /// The body could not be decrypted (bad base64, bad padding, wrong compat key).
    #[error("the webhook body could not be opened: {0}")]
    Open(#[source] EnvelopeError),
    /// The opened body is not the expected record (`WebhookHistory`, `EventRecord`).
    #[error("the webhook body is not the expected record: {0}")]
    Decode(#[source] serde_json::Error),
}

impl WebhookError {
    /// The status to answer the server with: `415` for a wrong content type, `401` for a
    /// missing or bad timestamp, a bad tag or a stale webhook, `400` otherwise.
    ///
    /// ```
    /// use payments_client::WebhookError;
    /// assert_eq!(WebhookError::MissingTimestamp.status().as_u16(), 401);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ContentType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MissingTimestamp
            | Self::InvalidTimestamp(_)
            | Self::NotAuthentic(_)
            | Self::Stale(_) => StatusCode::UNAUTHORIZED,
            Self::NotText | Self::Open(_) | Self::Decode(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// A stable code for the refusal, in the server's style (`BAD_SIGNATURE`…).
    ///
    /// ```
    /// use payments_client::WebhookError;
    /// assert_eq!(WebhookError::MissingTimestamp.code(), "STALE_TIMESTAMP");
    /// ```
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            Self::ContentType { .. } => ErrorCode::UnsupportedMediaType,
            Self::MissingTimestamp | Self::InvalidTimestamp(_) | Self::Stale(_) => {
                ErrorCode::StaleTimestamp
            }
            Self::NotAuthentic(_) => ErrorCode::BadSignature,
            Self::NotText | Self::Open(_) | Self::Decode(_) => ErrorCode::BadRequest,
        }
    }
}

/// Verifies and opens a webhook as it arrived: `method` and `path` of the request your
/// endpoint received (the path as the server addressed it, without query: behind a
/// proxy that rewrites paths, pass the original), its headers and raw body, and the
/// current time.
///
/// For `sealed-v2`: checks the content type, the tag over `method`, `path` and
/// `X-Payments-Timestamp` (before decrypting), then that the timestamp is within five
/// minutes of `now`. For `compat`: checks the content type and decrypts.
///
/// # Errors
/// [`WebhookError`]; answer the server with its [`status`](WebhookError::status).
///
/// ```no_run
/// use payments_client::open_webhook;
/// use payments_core::envelope::{Envelope, SealedV2Key};
///
/// # fn run(headers: http::HeaderMap, body: bytes::Bytes) -> Result<(), payments_client::WebhookError> {
/// let envelope = Envelope::SealedV2(SealedV2Key::derive("the shared secret")); // once, at start-up
/// let webhook = open_webhook(&envelope, "POST", "/hooks/payments", &headers, &body, chrono::Utc::now())?;
/// println!("{} changed: paid_at {:?}", webhook.source.id, webhook.current.paid_at);
/// # Ok(()) }
/// ```
pub fn open_webhook(
    envelope: &Envelope,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<WebhookHistory, WebhookError> {
    open_message(envelope, method, path, headers, body, now)
}

/// [`open_webhook`] for the merchant events the server POSTs to its configured event
/// URL (`docs/protocol.md`): sealed the same way, carrying an [`EventRecord`].
///
/// # Errors
/// As [`open_webhook`]; [`WebhookError::Decode`] when the body is not an `EventRecord`.
///
/// ```no_run
/// use payments_client::open_event;
/// # fn run(envelope: payments_core::envelope::Envelope, headers: http::HeaderMap, body: bytes::Bytes) -> Result<(), payments_client::WebhookError> {
/// let event = open_event(&envelope, "POST", "/hooks/events", &headers, &body, chrono::Utc::now())?;
/// println!("{}: {}", event.id, event.transaction.status_message);
/// # Ok(()) }
/// ```
pub fn open_event(
    envelope: &Envelope,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<EventRecord, WebhookError> {
    open_message(envelope, method, path, headers, body, now)
}

/// Verifies, opens and decodes one message the server sent out.
pub(crate) fn open_message<T: DeserializeOwned>(
    envelope: &Envelope,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<T, WebhookError> {
    let expected = envelope.kind().content_type();
    let actual = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if !actual
        .as_deref()
        .is_some_and(|a| same_media_type(a, expected))
    {
        return Err(WebhookError::ContentType { expected, actual });
    }
    let text = std::str::from_utf8(body).map_err(|_| WebhookError::NotText)?;
    let plaintext = match envelope {
        Envelope::Compat(key) => key.decrypt(text).map_err(WebhookError::Open)?,
        Envelope::SealedV2(key) => {
            let timestamp_ms = read_timestamp(headers).map_err(|e| match e {
                ResponseError::InvalidTimestamp(text) => WebhookError::InvalidTimestamp(text),
                _ => WebhookError::MissingTimestamp,
            })?;
            let binding = Binding {
                method: &method.to_ascii_uppercase(),
                path,
                timestamp_ms,
                idempotency_key: None,
            };
            let opened = key.open(text, &binding).map_err(|e| match e {
                EnvelopeError::BadTag => WebhookError::NotAuthentic(e),
                other => WebhookError::Open(other),
            })?;
            check_freshness(timestamp_ms, now.timestamp_millis()).map_err(WebhookError::Stale)?;
            opened
        }
    };
    serde_json::from_slice(&plaintext).map_err(WebhookError::Decode)
}

//! [`Error`]: every way a call can end without its record, split by what the caller can
//! do about it.
//!
//! - [`Error::Server`]: the server answered and refused (`status`, `code`, `message`).
//!   Nothing happened; fix the input or report it.
//! - [`Error::Transport`]: the request never left (connection refused, DNS, TLS). Nothing
//!   happened; safe to try again.
//! - [`Error::OutcomeUnknown`]: the request was sent and no answer came (timeout or
//!   connection lost). For a payment this is **not** a failure: the server may have
//!   recorded it. Read the record back, or retry with the same [`IdempotencyKey`].
//! - [`Error::Response`]: the server answered `2xx` but the answer could not be opened or
//!   decoded. For a write, the server did act on it; read the record back.
//!
//! [`IdempotencyKey`]: crate::IdempotencyKey

use http::StatusCode;
use payments_core::envelope::EnvelopeError;
use payments_core::records::ErrorBody;

/// The stable error codes `payments-server` answers with (the `code` of [`ErrorBody`]).
pub mod codes {
    /// `403`: the record's password is wrong.
    pub const WRONG_PASSWORD: &str = "WRONG_PASSWORD";
    /// `404`: no record with that id or source.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// `409`: that source or vendor uid already holds a record.
    pub const DUPLICATE: &str = "DUPLICATE";
    /// `409`: another request with the same idempotency key is still running.
    pub const IDEMPOTENCY_IN_FLIGHT: &str = "IDEMPOTENCY_IN_FLIGHT";
    /// `422`: the idempotency key was used before with a different request.
    pub const IDEMPOTENCY_MISMATCH: &str = "IDEMPOTENCY_MISMATCH";
    /// `422`: the PG's amount differs from the requested price.
    pub const AMOUNT_MISMATCH: &str = "AMOUNT_MISMATCH";
    /// `422`: the PG's order id differs from the source id.
    pub const ORDER_MISMATCH: &str = "ORDER_MISMATCH";
    /// `415`: the request's content type is not the envelope's.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// `413`: the request body is too large.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// `401`: the request's timestamp is too far from the server's clock.
    pub const STALE_TIMESTAMP: &str = "STALE_TIMESTAMP";
    /// `401`: the request's sealed-v2 tag does not verify (wrong secret?).
    pub const BAD_SIGNATURE: &str = "BAD_SIGNATURE";
    /// `402`: the PG declined the payment.
    pub const PAYMENT_DECLINED: &str = "PAYMENT_DECLINED";
    /// `502`: the PG failed or could not be reached.
    pub const VENDOR_ERROR: &str = "VENDOR_ERROR";
    /// `500`: the server failed (details only in its logs).
    pub const INTERNAL: &str = "INTERNAL";
    /// `504`: the PG did not answer in time; it may have acted (outcome unknown).
    pub const VENDOR_TIMEOUT: &str = "VENDOR_TIMEOUT";
    /// `404`: the PG has no payment or billing key with that uid.
    pub const VENDOR_NOT_FOUND: &str = "VENDOR_NOT_FOUND";
    /// `422`: the PG refused the operation (e.g. a cancel).
    pub const VENDOR_REJECTED: &str = "VENDOR_REJECTED";
    /// `422`: a cancel asks for more than is left of the payment.
    pub const CANCEL_EXCEEDS_BALANCE: &str = "CANCEL_EXCEEDS_BALANCE";
    /// `400`: a field of the input is invalid; the message names it.
    pub const INVALID_FIELD: &str = "INVALID_FIELD";
    /// `400`: the `vendor.store_id` is not configured on the server.
    pub const UNKNOWN_STORE: &str = "UNKNOWN_STORE";
    /// `400`: the sealed body could not be opened (wrong key or secret?).
    pub const UNDECRYPTABLE: &str = "UNDECRYPTABLE";
    /// `400`/`401`: a sealed-v2 request without `X-Payments-Timestamp`.
    pub const MISSING_TIMESTAMP: &str = "MISSING_TIMESTAMP";
    /// `400`: `X-Payments-Timestamp` is not decimal Unix milliseconds.
    pub const INVALID_TIMESTAMP: &str = "INVALID_TIMESTAMP";
    /// `400`: the `Idempotency-Key` header is not 1 to 255 visible ASCII characters.
    pub const INVALID_IDEMPOTENCY_KEY: &str = "INVALID_IDEMPOTENCY_KEY";
    /// `415`: the server has the `compat` envelope switched off.
    pub const ENVELOPE_DISABLED: &str = "ENVELOPE_DISABLED";
    /// `503`: the server is up but its database does not answer (`/monitors/health`).
    pub const UNHEALTHY: &str = "UNHEALTHY";
}

/// Why a call ended without its record. See the [module docs](self) for what to do
/// about each variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-`2xx` status.
    #[error("the server refused the request: {0}")]
    Server(ServerError),
    /// The request was not sent (connection refused, DNS, TLS, invalid request); the
    /// server did nothing.
    #[error("the request could not be sent: {0}")]
    Transport(#[source] reqwest::Error),
    /// The request was sent but no complete answer arrived; the server may or may not
    /// have acted on it.
    #[error("no answer ({cause}); the server may or may not have acted on the request")]
    OutcomeUnknown {
        /// Timed out or connection lost.
        cause: UnknownCause,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered `2xx` but the answer could not be opened or decoded.
    #[error("the server's answer could not be read: {0}")]
    Response(#[from] ResponseError),
    /// The request body could not be serialized (a bug: the records always serialize).
    #[error("the request body could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
}

/// Why the outcome of a sent request is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownCause {
    /// The configured timeout elapsed first.
    TimedOut,
    /// The connection failed after the request was (or was being) written.
    ConnectionLost,
}

impl std::fmt::Display for UnknownCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TimedOut => "timed out",
            Self::ConnectionLost => "connection lost",
        })
    }
}

impl Error {
    /// The HTTP status when the server refused the request, `None` otherwise.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(403).unwrap(),
    ///     br#"{"status":403,"code":"WRONG_PASSWORD","message":"m"}"#,
    /// ));
    /// assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Server(e) => Some(e.status()),
            _ => None,
        }
    }

    /// The server's error code (see [`codes`]) when it refused the request with an
    /// [`ErrorBody`], `None` otherwise.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(422).unwrap(),
    ///     br#"{"status":422,"code":"AMOUNT_MISMATCH","message":"m"}"#,
    /// ));
    /// assert_eq!(error.code(), Some(payments_client::error::codes::AMOUNT_MISMATCH));
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Server(e) => e.code(),
            _ => None,
        }
    }

    /// The server's message when it refused the request, `None` otherwise.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(403).unwrap(),
    ///     br#"{"status":403,"code":"WRONG_PASSWORD","message":"wrong password"}"#,
    /// ));
    /// assert_eq!(error.message(), Some("wrong password"));
    /// ```
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Server(e) => Some(e.message()),
            _ => None,
        }
    }

    /// The server's refusal, if that is what this is.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(404).unwrap(),
    ///     br#"{"status":404,"code":"NOT_FOUND","message":"m"}"#,
    /// ));
    /// assert_eq!(error.as_server().map(|e| e.status().as_u16()), Some(404));
    /// ```
    pub fn as_server(&self) -> Option<&ServerError> {
        match self {
            Self::Server(e) => Some(e),
            _ => None,
        }
    }

    /// `409`: the record already exists (`DUPLICATE`) or the same idempotency key is
    /// still being processed (`IDEMPOTENCY_IN_FLIGHT`).
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(409).unwrap(),
    ///     br#"{"status":409,"code":"IDEMPOTENCY_IN_FLIGHT","message":"m"}"#,
    /// ));
    /// assert!(error.is_conflict() && !error.is_duplicate());
    /// ```
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// `409 DUPLICATE`: that source or vendor uid already holds a record.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(409).unwrap(),
    ///     br#"{"status":409,"code":"DUPLICATE","message":"m"}"#,
    /// ));
    /// assert!(error.is_duplicate());
    /// ```
    pub fn is_duplicate(&self) -> bool {
        self.is_conflict() && self.code() == Some(codes::DUPLICATE)
    }

    /// `403 WRONG_PASSWORD`.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(403).unwrap(),
    ///     br#"{"status":403,"code":"WRONG_PASSWORD","message":"m"}"#,
    /// ));
    /// assert!(error.is_wrong_password());
    /// ```
    pub fn is_wrong_password(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN) && self.code() == Some(codes::WRONG_PASSWORD)
    }

    /// `404 NOT_FOUND`: no record with that id or source. A `404` without that code (a
    /// wrong base URL, a proxy) is not "not found".
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(404).unwrap(),
    ///     br#"{"status":404,"code":"NOT_FOUND","message":"m"}"#,
    /// ));
    /// assert!(error.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND) && self.code() == Some(codes::NOT_FOUND)
    }

    /// `402 PAYMENT_DECLINED`: the PG declined.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(402).unwrap(),
    ///     br#"{"status":402,"code":"PAYMENT_DECLINED","message":"m"}"#,
    /// ));
    /// assert!(error.is_declined());
    /// ```
    pub fn is_declined(&self) -> bool {
        self.status() == Some(StatusCode::PAYMENT_REQUIRED)
            || self.code() == Some(codes::PAYMENT_DECLINED)
    }

    /// `422 AMOUNT_MISMATCH` or `ORDER_MISMATCH`: the PG's payment is not the one
    /// requested; the server refused (and, for a wrong amount, cancelled) it.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(422).unwrap(),
    ///     br#"{"status":422,"code":"AMOUNT_MISMATCH","message":"m"}"#,
    /// ));
    /// assert!(error.is_mismatch());
    /// ```
    pub fn is_mismatch(&self) -> bool {
        matches!(
            self.code(),
            Some(codes::AMOUNT_MISMATCH) | Some(codes::ORDER_MISMATCH)
        )
    }

    /// Whether the server may have acted on the request although no record came back:
    /// a timeout, a connection lost after sending, a `504` (a gateway's, or the
    /// server's `VENDOR_TIMEOUT`: the PG may have acted), or `409
    /// IDEMPOTENCY_IN_FLIGHT` (the first attempt is still running). For a payment
    /// this is not a failure: read the record back or retry with the same key.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(504).unwrap(),
    ///     br#"{"status":504,"code":"VENDOR_TIMEOUT","message":"m"}"#,
    /// ));
    /// assert!(error.is_outcome_unknown());
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::OutcomeUnknown { .. } => true,
            Self::Server(e) => {
                e.status() == StatusCode::GATEWAY_TIMEOUT
                    || e.code() == Some(codes::IDEMPOTENCY_IN_FLIGHT)
            }
            _ => false,
        }
    }

    /// Whether the request certainly never reached the server.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(500).unwrap(),
    ///     br#"{"status":500,"code":"INTERNAL","message":"m"}"#,
    /// ));
    /// assert!(!error.is_not_sent()); // it was sent: the server answered
    /// ```
    pub fn is_not_sent(&self) -> bool {
        matches!(self, Self::Transport(_))
    }
}

/// A non-`2xx` answer: the status and, when the body was the server's JSON
/// [`ErrorBody`], its code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    status: StatusCode,
    code: Option<String>,
    message: String,
}

/// How much of a body that is not an [`ErrorBody`] is kept as the message.
const MAX_RAW_MESSAGE: usize = 256;

impl ServerError {
    /// Reads an error answer: the server's [`ErrorBody`] when the body is one, otherwise
    /// (a proxy's HTML page, garbage) no code and the start of the body as the message.
    ///
    /// ```
    /// use payments_client::ServerError;
    /// let proxy = ServerError::from_response(http::StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>");
    /// assert_eq!((proxy.code(), proxy.message()), (None, "<html>Bad Gateway</html>"));
    /// ```
    pub fn from_response(status: StatusCode, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => Self {
                status,
                code: Some(parsed.code),
                message: parsed.message,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let message = if text.is_empty() {
                    "(empty body)".to_owned()
                } else if text.chars().count() > MAX_RAW_MESSAGE {
                    let head: String = text.chars().take(MAX_RAW_MESSAGE).collect();
                    format!("{head}…")
                } else {
                    text.to_owned()
                };
                Self {
                    status,
                    code: None,
                    message,
                }
            }
        }
    }

    /// The HTTP status.
    ///
    /// ```
    /// use payments_client::ServerError;
    /// let e = ServerError::from_response(http::StatusCode::CONFLICT, b"");
    /// assert_eq!(e.status(), http::StatusCode::CONFLICT);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The server's code (see [`codes`]); `None` when the body was not an [`ErrorBody`].
    ///
    /// ```
    /// use payments_client::ServerError;
    /// let e = ServerError::from_response(http::StatusCode::NOT_FOUND, br#"{"status":404,"code":"NOT_FOUND","message":"no history"}"#);
    /// assert_eq!(e.code(), Some("NOT_FOUND"));
    /// ```
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The server's message, or the start of the body when it was not an [`ErrorBody`].
    ///
    /// ```
    /// use payments_client::ServerError;
    /// let e = ServerError::from_response(http::StatusCode::NOT_FOUND, br#"{"status":404,"code":"NOT_FOUND","message":"no history"}"#);
    /// assert_eq!(e.message(), "no history");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} {code}: {}", self.status.as_u16(), self.message),
            None => write!(
                f,
                "{} (not a payments-server error body): {}",
                self.status.as_u16(),
                self.message
            ),
        }
    }
}

impl std::error::Error for ServerError {}

/// Why a `2xx` answer could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The answer's `Content-Type` is not the envelope's.
    #[error("expected content type {expected:?}, got {actual:?}")]
    ContentType {
        /// The envelope's content type.
        expected: &'static str,
        /// What the answer carried (`None`: no header).
        actual: Option<String>,
    },
    /// A sealed-v2 answer without `X-Payments-Timestamp`.
    #[error("the sealed-v2 answer has no X-Payments-Timestamp header")]
    MissingTimestamp,
    /// An `X-Payments-Timestamp` that is not decimal Unix milliseconds.
    #[error("the answer's X-Payments-Timestamp is not decimal Unix milliseconds: {0:?}")]
    InvalidTimestamp(String),
    /// The body is not ASCII base64 text.
    #[error("the sealed answer's body is not text")]
    NotText,
    /// The envelope refused the body: bad tag, stale timestamp, bad padding, not base64.
    #[error("the answer could not be opened: {0}")]
    Open(#[source] EnvelopeError),
    /// The opened body is not the expected JSON record.
    #[error("the answer is not the expected record: {0}")]
    Decode(#[source] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_servers_error_body() {
        let e = ServerError::from_response(
            StatusCode::FORBIDDEN,
            br#"{"status":403,"code":"WRONG_PASSWORD","message":"wrong password"}"#,
        );
        assert_eq!(e.code(), Some("WRONG_PASSWORD"));
        assert_eq!(e.message(), "wrong password");
        assert_eq!(e.to_string(), "403 WRONG_PASSWORD: wrong password");
        assert!(Error::Server(e).is_wrong_password());
    }

    #[test]
    fn keeps_the_start_of_a_garbage_body() {
        let long = "x".repeat(1000);
        let e = ServerError::from_response(StatusCode::BAD_GATEWAY, long.as_bytes());
        assert_eq!(e.code(), None);
        assert_eq!(e.message().chars().count(), MAX_RAW_MESSAGE + 1);
        let empty = ServerError::from_response(StatusCode::BAD_GATEWAY, b"  ");
        assert_eq!(empty.message(), "(empty body)");
    }

    #[test]
    fn not_found_needs_the_code() {
        let proxy = Error::Server(ServerError::from_response(StatusCode::NOT_FOUND, b"<html>"));
        assert!(!proxy.is_not_found());
        let real = Error::Server(ServerError::from_response(
            StatusCode::NOT_FOUND,
            br#"{"status":404,"code":"NOT_FOUND","message":"no history"}"#,
        ));
        assert!(real.is_not_found());
    }
}

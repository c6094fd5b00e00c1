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

pub use payments_core::records::ErrorCode;

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

    /// The server's error code when it refused the request with an [`ErrorBody`] whose
    /// code this SDK knows, `None` otherwise (see [`Error::code_str`] for the raw text).
    ///
    /// ```
    /// # use payments_client::{Error, ErrorCode, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(422).unwrap(),
    ///     br#"{"status":422,"code":"AMOUNT_MISMATCH","message":"m"}"#,
    /// ));
    /// assert_eq!(error.code(), Some(ErrorCode::AmountMismatch));
    /// ```
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server(e) => e.code(),
            _ => None,
        }
    }

    /// The server's error code as it was sent, known to this SDK or not; `None` when
    /// the server did not refuse with an [`ErrorBody`].
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(400).unwrap(),
    ///     br#"{"status":400,"code":"SOMETHING_NEW","message":"m"}"#,
    /// ));
    /// assert_eq!((error.code(), error.code_str()), (None, Some("SOMETHING_NEW")));
    /// ```
    pub fn code_str(&self) -> Option<&str> {
        match self {
            Self::Server(e) => e.code_str(),
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
        self.is_conflict() && self.code() == Some(ErrorCode::Duplicate)
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
        self.status() == Some(StatusCode::FORBIDDEN)
            && self.code() == Some(ErrorCode::WrongPassword)
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
        self.status() == Some(StatusCode::NOT_FOUND) && self.code() == Some(ErrorCode::NotFound)
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
            || self.code() == Some(ErrorCode::PaymentDeclined)
    }

    /// `422 RESERVATION_DELETED`: the saved card's billing key was deleted at its PG
    /// (PortOne V2 told the server so); nothing was charged. Ask the customer to register
    /// a card again.
    ///
    /// ```
    /// # use payments_client::{Error, ServerError};
    /// let error = Error::Server(ServerError::from_response(
    ///     http::StatusCode::from_u16(422).unwrap(),
    ///     br#"{"status":422,"code":"RESERVATION_DELETED","message":"m"}"#,
    /// ));
    /// assert!(error.is_reservation_deleted() && !error.is_declined());
    /// ```
    pub fn is_reservation_deleted(&self) -> bool {
        self.code() == Some(ErrorCode::ReservationDeleted)
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
            Some(ErrorCode::AmountMismatch | ErrorCode::OrderMismatch)
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
                    || e.code() == Some(ErrorCode::IdempotencyInFlight)
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

    /// The server's code; `None` when the body was not an [`ErrorBody`] or its code is
    /// not one this SDK knows ([`ServerError::code_str`] has it then).
    ///
    /// ```
    /// use payments_client::{ErrorCode, ServerError};
    /// let e = ServerError::from_response(http::StatusCode::NOT_FOUND, br#"{"status":404,"code":"NOT_FOUND","message":"no history"}"#);
    /// assert_eq!(e.code(), Some(ErrorCode::NotFound));
    /// ```
    pub fn code(&self) -> Option<ErrorCode> {
        self.code.as_deref().and_then(|code| code.parse().ok())
    }

    /// The server's code as sent; `None` when the body was not an [`ErrorBody`].
    ///
    /// ```
    /// use payments_client::ServerError;
    /// let e = ServerError::from_response(http::StatusCode::NOT_FOUND, br#"{"status":404,"code":"NOT_FOUND","message":"no history"}"#);
    /// assert_eq!(e.code_str(), Some("NOT_FOUND"));
    /// ```
    pub fn code_str(&self) -> Option<&str> {
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
        assert_eq!(e.code(), Some(ErrorCode::WrongPassword));
        assert_eq!(e.message(), "wrong password");
        assert_eq!(e.to_string(), "403 WRONG_PASSWORD: wrong password");
        assert!(Error::Server(e).is_wrong_password());
    }

    #[test]
    fn keeps_the_start_of_a_garbage_body() {
        let long = "x".repeat(1000);
        let e = ServerError::from_response(StatusCode::BAD_GATEWAY, long.as_bytes());
        assert_eq!(e.code_str(), None);
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

//! Toss-style errors: an HTTP status plus the `{code, message}` body the real API sends.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// An error as the Toss Payments API reports it: HTTP `status` and a JSON body
/// `{"code": .., "message": ..}`.
///
/// Every failing endpoint of the fake answers with one of these, and the library methods
/// that mirror an endpoint (for example [`crate::FakeToss::deposit`]) return the same value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct TossError {
    /// The HTTP status the fake answers with.
    pub status: u16,
    /// Toss's machine-readable error code, e.g. `NOT_FOUND_PAYMENT`.
    pub code: String,
    /// A human-readable explanation naming the field or state at fault.
    pub message: String,
}

impl TossError {
    /// Builds an error from its parts; `status` must be a valid HTTP status (4xx/5xx).
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// `400 INVALID_REQUEST` for malformed or missing input; `message` names the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_REQUEST", message)
    }

    /// `404 NOT_FOUND_PAYMENT` for an unknown payment key or order id.
    pub fn payment_not_found(what: &str) -> Self {
        Self::new(
            404,
            "NOT_FOUND_PAYMENT",
            format!("존재하지 않는 결제 정보 입니다. (no payment for {what})"),
        )
    }

    /// `401 UNAUTHORIZED_KEY` for a missing or unknown secret key.
    pub fn unauthorized(detail: &str) -> Self {
        Self::new(
            401,
            "UNAUTHORIZED_KEY",
            format!("인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다. ({detail})"),
        )
    }

    /// The JSON body `{"code", "message"}` of this error.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code, "message": self.message })
    }
}

impl TossError {
    /// The answer this error is: its status and its JSON body.
    pub(crate) fn answer(&self) -> (StatusCode, bytes::Bytes) {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.body().to_string().into())
    }
}

impl IntoResponse for TossError {
    fn into_response(self) -> Response {
        let (status, body) = self.answer();
        fake_harness::json_response(status, body)
    }
}

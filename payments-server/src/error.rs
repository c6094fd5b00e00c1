//! [`ApiError`]: every failure a route answers with, as the wire's `{status, code,
//! message}` (plain JSON even on sealed routes). A 500 never carries internals: they go
//! to the log.

use crate::store::{StoreConflict, StoreError};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payments_core::records::ErrorBody;
use payments_core::vendor::GatewayError;

/// A failure answered to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What was wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `400` with a code naming the problem.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `404 NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// `403 WRONG_PASSWORD`.
    pub fn wrong_password() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "WRONG_PASSWORD",
            "the password does not match the record",
        )
    }

    /// `422` with a code naming the problem.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// `500 INTERNAL`: logs the cause, tells the caller nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal server error",
        )
    }

    /// Whether a retry of the same request may succeed (the request had no effect we
    /// know of): such failures are not stored against an idempotency key.
    pub fn is_retryable(&self) -> bool {
        self.status.is_server_error()
    }

    /// The wire body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(conflict) => Self::new(
                StatusCode::CONFLICT,
                "DUPLICATE",
                match conflict {
                    StoreConflict::Source => "source: this source already holds a record",
                    StoreConflict::VendorUid => "vendor.uid: this PG record is already recorded",
                    StoreConflict::OrderHeld => {
                        "order.id: another charge for this order is in progress or done"
                    }
                    StoreConflict::TransactionMoved => {
                        "the order was recorded by another request meanwhile"
                    }
                    StoreConflict::CouponCode => "code: a coupon with this code exists",
                },
            ),
            other => Self::internal(other),
        }
    }
}

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        match error {
            GatewayError::Declined { code, message } => Self::new(
                StatusCode::PAYMENT_REQUIRED,
                "PAYMENT_DECLINED",
                format!("{code}: {message}"),
            ),
            GatewayError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "VENDOR_NOT_FOUND",
                format!("the PG has no such record: {what}"),
            ),
            GatewayError::Rejected { code, message, .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VENDOR_REJECTED",
                format!("the PG refused: {code}: {message}"),
            ),
            GatewayError::OutcomeUnknown(detail) => {
                tracing::warn!(%detail, "PG outcome unknown");
                Self::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "VENDOR_TIMEOUT",
                    "the PG did not answer in time; the outcome is unknown, retry with the same idempotency key",
                )
            }
            GatewayError::Unauthorized(detail) => {
                tracing::error!(%detail, "PG refused the server's credentials");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "VENDOR_ERROR",
                    "the PG refused the server's credentials",
                )
            }
            GatewayError::Unavailable(detail) | GatewayError::Malformed(detail) => {
                tracing::warn!(%detail, "PG failure");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "VENDOR_ERROR",
                    "the PG is unavailable",
                )
            }
        }
    }
}

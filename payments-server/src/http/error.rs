//! [`ApiError`]: every failure a route answers with, as the wire's `{status, code,
//! message}` (plain JSON even on sealed routes), and the one place each use case's error
//! becomes a status and an [`ErrorCode`]. A 500 never carries internals: they go to the
//! log.

use crate::certifications::CertificationError;
use crate::charges::ChargeError;
use crate::coupons::CouponsError;
use crate::errors::{AccessError, FieldError, Internal, UnknownStore};
use crate::histories::HistoryError;
use crate::reservations::ReservationError;
use crate::store::{StoreConflict, StoreError};
use crate::webhooks::intake::IntakeError;
use crate::webhooks::outbox::{ListError, RedeliverError};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use payments_core::coupon::CouponError;
use payments_core::records::{ErrorBody, ErrorCode};
use payments_core::timestamp;
use payments_core::transaction::TransactionError;
use payments_core::vendor::GatewayError;

/// A failure answered to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable machine-readable code.
    pub code: ErrorCode,
    /// What was wrong, for a person.
    pub message: String,
    /// Seconds to wait before trying again, sent as `Retry-After` (a `429`, a `503`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `400` with a code naming the problem.
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `404 NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// `413 PAYLOAD_TOO_LARGE` for a body over `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    }

    /// `503 OVERLOADED` with `Retry-After`: a capacity limit, not a fault.
    pub fn overloaded(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Overloaded,
                message,
            )
        }
    }

    /// `422` with a code naming the problem.
    pub fn unprocessable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// `429 TOO_MANY_ATTEMPTS` with `Retry-After`.
    pub fn too_many(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
                message,
            )
        }
    }

    /// `409` with a code naming the problem.
    fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// `500 INTERNAL`: logs the cause, tells the caller nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal server error",
        )
    }

    /// Whether a retry of the same request may succeed (the request had no effect we
    /// know of): such failures are not stored against an idempotency key. A `429` is
    /// one: the same request succeeds once the lockout ends.
    pub fn is_retryable(&self) -> bool {
        self.status.is_server_error() || self.status == StatusCode::TOO_MANY_REQUESTS
    }

    /// The wire body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.status.as_u16(), self.code, self.message.clone())
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
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

// ---- the failures every use case shares ----------------------------------------------

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::bad_request(ErrorCode::InvalidField, error.to_string())
    }
}

impl From<UnknownStore> for ApiError {
    fn from(error: UnknownStore) -> Self {
        Self::bad_request(ErrorCode::UnknownStore, error.to_string())
    }
}

impl From<Internal> for ApiError {
    fn from(error: Internal) -> Self {
        Self::internal(error)
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::NotFound(what) => Self::not_found(what),
            AccessError::WrongPassword => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::WrongPassword,
                error.to_string(),
            ),
            AccessError::Locked { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::TooManyAttempts,
                    error.to_string(),
                )
            },
            AccessError::Store(error) => error.into(),
            AccessError::Internal(error) => error.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(conflict) => Self::conflict(
                ErrorCode::Duplicate,
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
                ErrorCode::PaymentDeclined,
                format!("{code}: {message}"),
            ),
            GatewayError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::VendorNotFound,
                format!("the PG has no such record: {what}"),
            ),
            GatewayError::Rejected { code, message, .. } => Self::unprocessable(
                ErrorCode::VendorRejected,
                format!("the PG refused: {code}: {message}"),
            ),
            GatewayError::OutcomeUnknown(detail) => {
                tracing::warn!(%detail, "PG outcome unknown");
                Self::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    ErrorCode::VendorTimeout,
                    "the PG did not answer in time; the outcome is unknown, retry with the same idempotency key",
                )
            }
            GatewayError::Unauthorized(detail) => {
                // The detail names the store and the setting, never a secret; the caller
                // holds an envelope key, so it is the operator (or their backend).
                tracing::error!(%detail, "PG refused the server's credentials");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    ErrorCode::VendorCredentials,
                    detail,
                )
            }
            GatewayError::Unavailable(detail) | GatewayError::Malformed(detail) => {
                tracing::warn!(%detail, "PG failure");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    ErrorCode::VendorError,
                    "the PG is unavailable",
                )
            }
        }
    }
}

impl From<TransactionError> for ApiError {
    fn from(error: TransactionError) -> Self {
        Self::unprocessable(ErrorCode::InvalidTransaction, error.to_string())
    }
}

// ---- each use case --------------------------------------------------------------------

impl From<HistoryError> for ApiError {
    fn from(error: HistoryError) -> Self {
        let message = error.to_string();
        match error {
            HistoryError::Invalid(e) => e.into(),
            HistoryError::UnknownStore(e) => e.into(),
            HistoryError::Access(e) => e.into(),
            HistoryError::SourceTaken | HistoryError::PaymentRecorded => {
                Self::conflict(ErrorCode::Duplicate, message)
            }
            HistoryError::OrderMismatch { .. } => {
                Self::unprocessable(ErrorCode::OrderMismatch, message)
            }
            HistoryError::AmountMismatch { .. } => {
                Self::unprocessable(ErrorCode::AmountMismatch, message)
            }
            HistoryError::ConfirmRefused { order_differs, .. } => Self::unprocessable(
                if order_differs {
                    ErrorCode::OrderMismatch
                } else {
                    ErrorCode::AmountMismatch
                },
                message,
            ),
            HistoryError::NotPaid(_) => Self::unprocessable(ErrorCode::PaymentNotPaid, message),
            HistoryError::CancelExceedsBalance { .. } => {
                Self::unprocessable(ErrorCode::CancelExceedsBalance, message)
            }
            HistoryError::Transaction(e) => e.into(),
            HistoryError::Gateway(e) => e.into(),
            HistoryError::Store(e) => e.into(),
            HistoryError::Internal(e) => e.into(),
        }
    }
}

impl From<ReservationError> for ApiError {
    fn from(error: ReservationError) -> Self {
        let message = error.to_string();
        match error {
            ReservationError::Invalid(e) => e.into(),
            ReservationError::UnknownStore(e) => e.into(),
            ReservationError::Access(e) => e.into(),
            ReservationError::SourceTaken | ReservationError::KeyTaken => {
                Self::conflict(ErrorCode::Duplicate, message)
            }
            ReservationError::CustomerMismatch => {
                Self::unprocessable(ErrorCode::CustomerMismatch, message)
            }
            ReservationError::Deleted => {
                Self::unprocessable(ErrorCode::ReservationDeleted, message)
            }
            ReservationError::Gateway(e) => e.into(),
            ReservationError::Store(e) => e.into(),
            ReservationError::Internal(e) => e.into(),
        }
    }
}

impl From<ChargeError> for ApiError {
    fn from(error: ChargeError) -> Self {
        let message = error.to_string();
        match error {
            ChargeError::Invalid(e) => e.into(),
            ChargeError::KeyRequired => {
                Self::bad_request(ErrorCode::IdempotencyKeyRequired, message)
            }
            ChargeError::UnsupportedMethod => {
                Self::bad_request(ErrorCode::UnsupportedMethod, message)
            }
            ChargeError::InvalidOrder(_) => Self::unprocessable(ErrorCode::InvalidOrder, message),
            ChargeError::UnsupportedCurrency(_) => {
                Self::unprocessable(ErrorCode::UnsupportedCurrency, message)
            }
            ChargeError::Reservation(e) => e.into(),
            ChargeError::ReservationDeleted(_) => {
                Self::unprocessable(ErrorCode::ReservationDeleted, message)
            }
            ChargeError::UnknownStore(e) => e.into(),
            ChargeError::SourceTaken | ChargeError::OrderPaid(_) | ChargeError::InFlight(_) => {
                Self::conflict(ErrorCode::Duplicate, message)
            }
            ChargeError::LostRace(conflict) => StoreError::Conflict(conflict).into(),
            ChargeError::Declined { .. } => Self::new(
                StatusCode::PAYMENT_REQUIRED,
                ErrorCode::PaymentDeclined,
                message,
            ),
            ChargeError::VendorMismatch => {
                Self::new(StatusCode::BAD_GATEWAY, ErrorCode::VendorMismatch, message)
            }
            ChargeError::Transaction(e) => e.into(),
            ChargeError::History(e) => e.into(),
            ChargeError::Gateway(e) => e.into(),
            ChargeError::Store(e) => e.into(),
            ChargeError::Internal(e) => e.into(),
        }
    }
}

impl From<CertificationError> for ApiError {
    fn from(error: CertificationError) -> Self {
        let message = error.to_string();
        match error {
            CertificationError::Invalid(e) => e.into(),
            CertificationError::UnknownStore(e) => e.into(),
            CertificationError::NotCertified => {
                Self::unprocessable(ErrorCode::NotCertified, message)
            }
            CertificationError::Incomplete(_) => {
                Self::new(StatusCode::BAD_GATEWAY, ErrorCode::VendorError, message)
            }
            CertificationError::AlreadyUsed => {
                Self::new(StatusCode::CONFLICT, ErrorCode::CertificationUsed, message)
            }
            CertificationError::Expired(_) => {
                Self::unprocessable(ErrorCode::CertificationExpired, message)
            }
            CertificationError::Store(e) => e.into(),
            CertificationError::Gateway(e) => e.into(),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(error: IntakeError) -> Self {
        let message = error.to_string();
        match error {
            IntakeError::Invalid(_) => Self::bad_request(ErrorCode::InvalidWebhook, message),
            IntakeError::BadSignature(_) => {
                Self::new(StatusCode::UNAUTHORIZED, ErrorCode::BadSignature, message)
            }
            IntakeError::Reservation(e) => e.into(),
            IntakeError::UnknownStore(e) => e.into(),
            IntakeError::Gateway(e) => e.into(),
            IntakeError::History(e) => e.into(),
            IntakeError::Store(e) => e.into(),
        }
    }
}

impl From<RedeliverError> for ApiError {
    fn from(error: RedeliverError) -> Self {
        match error {
            RedeliverError::NotFound(what) => Self::not_found(what),
            RedeliverError::Access(e) => e.into(),
            RedeliverError::TooSoon { retry_after_secs } => {
                Self::too_many(retry_after_secs, error.to_string())
            }
            RedeliverError::Store(e) => e.into(),
        }
    }
}

impl From<ListError> for ApiError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::Invalid(e) => e.into(),
            ListError::Store(e) => e.into(),
        }
    }
}

impl From<CouponsError> for ApiError {
    fn from(error: CouponsError) -> Self {
        let message = error.to_string();
        match error {
            CouponsError::Invalid(e) => e.into(),
            CouponsError::InvalidOrder(_) => Self::unprocessable(ErrorCode::InvalidOrder, message),
            CouponsError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, ErrorCode::CouponNotFound, message)
            }
            CouponsError::Foreign => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::CouponForeign, message)
            }
            CouponsError::Locked(_) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
                message,
            ),
            CouponsError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::CouponBusy,
                message,
            ),
            CouponsError::NothingToDiscount => {
                Self::unprocessable(ErrorCode::CouponNotApplicable, message)
            }
            CouponsError::Refused(refusal) => coupon_refusal(refusal),
            CouponsError::Transaction(e) => e.into(),
            CouponsError::Store(e) => e.into(),
            CouponsError::Internal(e) => e.into(),
        }
    }
}

/// Each core [`CouponError`] has its own code: `422 COUPON_EXPIRED`, `422
/// COUPON_NOT_REGISTERED`, `403 COUPON_FOREIGN`, `409 COUPON_SPENT`, `422
/// COUPON_NOT_APPLICABLE` (product not in the order, or another currency), `409
/// COUPON_ALREADY_REGISTERED`, `422 GIFT_TO_SELF`, `400 INVALID_FIELD` for a zero
/// amount, an expiry not in the future or an empty owner, and `500` for a broken code
/// generator.
fn coupon_refusal(error: CouponError) -> ApiError {
    let message = error.to_string();
    match error {
        CouponError::Code(cause) => {
            ApiError::internal(format!("the code generator is broken: {cause}"))
        }
        CouponError::ZeroAmount => FieldError::new("value.amount", message).into(),
        CouponError::InvalidExpiry { issued_at, .. } => FieldError::new(
            "expires_at",
            format!("must be after now ({})", timestamp::format(&issued_at)),
        )
        .into(),
        CouponError::EmptyOwner { .. } => ApiError::bad_request(ErrorCode::InvalidField, message),
        CouponError::GiftToSelf => {
            ApiError::unprocessable(ErrorCode::GiftToSelf, format!("recipient: {message}"))
        }
        CouponError::Expired { .. } => ApiError::unprocessable(ErrorCode::CouponExpired, message),
        CouponError::AlreadyRegistered { .. } => {
            ApiError::conflict(ErrorCode::CouponAlreadyRegistered, message)
        }
        CouponError::NotRegistered { .. } => ApiError::unprocessable(
            ErrorCode::CouponNotRegistered,
            format!("{message}: register it first"),
        ),
        CouponError::ForeignOwner { .. } => CouponsError::Foreign.into(),
        CouponError::AlreadyRedeemed { .. } => ApiError::conflict(ErrorCode::CouponSpent, message),
        CouponError::ProductNotInOrder { .. } | CouponError::CurrencyMismatch { .. } => {
            ApiError::unprocessable(ErrorCode::CouponNotApplicable, format!("order: {message}"))
        }
    }
}

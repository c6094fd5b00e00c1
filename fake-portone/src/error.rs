//! PortOne V2 errors: the `{type, message}` body (plus `pgCode`/`pgMessage` for what a card
//! company or bank refused) and the HTTP status each error schema of the OpenAPI document
//! names in `x-portone-status-code`.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

/// The error types the fake answers with, each with its `x-portone-status-code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `400 INVALID_REQUEST`: a malformed or missing field (the message names it).
    InvalidRequest,
    /// `401 UNAUTHORIZED`: no, a wrong or an expired secret or token.
    Unauthorized,
    /// `403 FORBIDDEN`: the credentials do not reach the named store.
    Forbidden,
    /// `404 PAYMENT_NOT_FOUND`.
    PaymentNotFound,
    /// `409 ALREADY_PAID`: the `paymentId` is already paid (or awaiting a deposit).
    AlreadyPaid,
    /// `409 ALREADY_PAID_OR_WAITING`: a schedule for a payment that is paid or awaiting one.
    AlreadyPaidOrWaiting,
    /// `409 PAYMENT_ALREADY_CANCELLED`.
    PaymentAlreadyCancelled,
    /// `409 PAYMENT_NOT_PAID`: cancelling a payment that was never paid.
    PaymentNotPaid,
    /// `409 PAYMENT_NOT_WAITING_FOR_DEPOSIT`.
    PaymentNotWaitingForDeposit,
    /// `409 CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT`.
    CancelAmountExceedsCancellableAmount,
    /// `409 CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT`.
    CancelTaxFreeAmountExceedsCancellableTaxFreeAmount,
    /// `409 CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT`.
    CancelTaxAmountExceedsCancellableTaxAmount,
    /// `409 CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN`: `currentCancellableAmount` is stale.
    CancellableAmountConsistencyBroken,
    /// `409 SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT`.
    SumOfPartsExceedsCancelAmount,
    /// `409 SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT`.
    SumOfPartsExceedsTotalAmount,
    /// `404 CHANNEL_NOT_FOUND`.
    ChannelNotFound,
    /// `404 BILLING_KEY_NOT_FOUND`.
    BillingKeyNotFound,
    /// `409 BILLING_KEY_ALREADY_DELETED`.
    BillingKeyAlreadyDeleted,
    /// `409 PAYMENT_SCHEDULE_ALREADY_EXISTS`.
    PaymentScheduleAlreadyExists,
    /// `404 PAYMENT_SCHEDULE_NOT_FOUND`.
    PaymentScheduleNotFound,
    /// `409 PAYMENT_SCHEDULE_ALREADY_REVOKED`.
    PaymentScheduleAlreadyRevoked,
    /// `409 PAYMENT_SCHEDULE_ALREADY_PROCESSED`.
    PaymentScheduleAlreadyProcessed,
    /// `404 IDENTITY_VERIFICATION_NOT_FOUND`.
    IdentityVerificationNotFound,
    /// `404 IDENTITY_VERIFICATION_NOT_SENT`.
    IdentityVerificationNotSent,
    /// `409 IDENTITY_VERIFICATION_ALREADY_SENT`.
    IdentityVerificationAlreadySent,
    /// `409 IDENTITY_VERIFICATION_ALREADY_VERIFIED`.
    IdentityVerificationAlreadyVerified,
    /// `404 WEBHOOK_NOT_FOUND`.
    WebhookNotFound,
    /// `502 PG_PROVIDER`: the card company or bank refused (`pgCode`, `pgMessage`).
    PgProvider,
}

impl ErrorKind {
    /// The `type` string on the wire.
    pub fn as_str(self) -> &'static str {
        use ErrorKind as K;
        match self {
            K::InvalidRequest => "INVALID_REQUEST",
            K::Unauthorized => "UNAUTHORIZED",
            K::Forbidden => "FORBIDDEN",
            K::PaymentNotFound => "PAYMENT_NOT_FOUND",
            K::AlreadyPaid => "ALREADY_PAID",
            K::AlreadyPaidOrWaiting => "ALREADY_PAID_OR_WAITING",
            K::PaymentAlreadyCancelled => "PAYMENT_ALREADY_CANCELLED",
            K::PaymentNotPaid => "PAYMENT_NOT_PAID",
            K::PaymentNotWaitingForDeposit => "PAYMENT_NOT_WAITING_FOR_DEPOSIT",
            K::CancelAmountExceedsCancellableAmount => "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
            K::CancelTaxFreeAmountExceedsCancellableTaxFreeAmount => {
                "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"
            }
            K::CancelTaxAmountExceedsCancellableTaxAmount => {
                "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"
            }
            K::CancellableAmountConsistencyBroken => "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
            K::SumOfPartsExceedsCancelAmount => "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
            K::SumOfPartsExceedsTotalAmount => "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT",
            K::ChannelNotFound => "CHANNEL_NOT_FOUND",
            K::BillingKeyNotFound => "BILLING_KEY_NOT_FOUND",
            K::BillingKeyAlreadyDeleted => "BILLING_KEY_ALREADY_DELETED",
            K::PaymentScheduleAlreadyExists => "PAYMENT_SCHEDULE_ALREADY_EXISTS",
            K::PaymentScheduleNotFound => "PAYMENT_SCHEDULE_NOT_FOUND",
            K::PaymentScheduleAlreadyRevoked => "PAYMENT_SCHEDULE_ALREADY_REVOKED",
            K::PaymentScheduleAlreadyProcessed => "PAYMENT_SCHEDULE_ALREADY_PROCESSED",
            K::IdentityVerificationNotFound => "IDENTITY_VERIFICATION_NOT_FOUND",
            K::IdentityVerificationNotSent => "IDENTITY_VERIFICATION_NOT_SENT",
            K::IdentityVerificationAlreadySent => "IDENTITY_VERIFICATION_ALREADY_SENT",
            K::IdentityVerificationAlreadyVerified => "IDENTITY_VERIFICATION_ALREADY_VERIFIED",
            K::WebhookNotFound => "WEBHOOK_NOT_FOUND",
            K::PgProvider => "PG_PROVIDER",
        }
    }

    /// The HTTP status, as the error's schema names it in `x-portone-status-code`.
    pub fn status(self) -> u16 {
        use ErrorKind as K;
        match self {
            K::InvalidRequest => 400,
            K::Unauthorized => 401,
            K::Forbidden => 403,
            K::PaymentNotFound
            | K::ChannelNotFound
            | K::BillingKeyNotFound
            | K::PaymentScheduleNotFound
            | K::IdentityVerificationNotFound
            | K::IdentityVerificationNotSent
            | K::WebhookNotFound => 404,
            K::PgProvider => 502,
            K::AlreadyPaid
            | K::AlreadyPaidOrWaiting
            | K::PaymentAlreadyCancelled
            | K::PaymentNotPaid
            | K::PaymentNotWaitingForDeposit
            | K::CancelAmountExceedsCancellableAmount
            | K::CancelTaxFreeAmountExceedsCancellableTaxFreeAmount
            | K::CancelTaxAmountExceedsCancellableTaxAmount
            | K::CancellableAmountConsistencyBroken
            | K::SumOfPartsExceedsCancelAmount
            | K::SumOfPartsExceedsTotalAmount
            | K::BillingKeyAlreadyDeleted
            | K::PaymentScheduleAlreadyExists
            | K::PaymentScheduleAlreadyRevoked
            | K::PaymentScheduleAlreadyProcessed
            | K::IdentityVerificationAlreadySent
            | K::IdentityVerificationAlreadyVerified => 409,
        }
    }
}

/// An error as PortOne V2 reports it. Every failing endpoint answers with one, and the
/// library helpers that mirror an endpoint (for example [`crate::FakePortOne::deposit`])
/// return the same value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {message}", kind.status(), kind.as_str())]
pub struct PortOneError {
    /// What went wrong; gives the `type` and the HTTP status.
    pub kind: ErrorKind,
    /// A human-readable explanation naming the field or state at fault.
    pub message: String,
    /// The card company's or bank's code, for [`ErrorKind::PgProvider`].
    pub pg_code: Option<String>,
    /// The card company's or bank's message, for [`ErrorKind::PgProvider`].
    pub pg_message: Option<String>,
}

impl PortOneError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            pg_code: None,
            pg_message: None,
        }
    }

    /// `400 INVALID_REQUEST`; `message` names the field and what was wrong with it.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// `502 PG_PROVIDER` with the PG's code and message.
    pub fn pg(pg_code: &str, pg_message: &str) -> Self {
        Self {
            kind: ErrorKind::PgProvider,
            message: format!("PG사에서 오류를 전달했습니다: {pg_message}"),
            pg_code: Some(pg_code.to_owned()),
            pg_message: Some(pg_message.to_owned()),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The JSON body: `{type, message}` and, for PG errors, `pgCode` and `pgMessage`.
    pub fn body(&self) -> Value {
        let mut v = json!({ "type": self.kind.as_str(), "message": self.message });
        if let Some(code) = &self.pg_code {
            v["pgCode"] = json!(code);
        }
        if let Some(msg) = &self.pg_message {
            v["pgMessage"] = json!(msg);
        }
        v
    }
}

impl IntoResponse for PortOneError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_GATEWAY);
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        fake_harness::json_response(status, body)
    }
}

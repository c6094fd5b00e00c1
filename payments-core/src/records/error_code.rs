//! [`ErrorCode`]: every `code` the server answers with in an
//! [`ErrorBody`](super::ErrorBody), one enum shared by the server (which sends them) and
//! the SDK (which reads them), serialized as the wire's SCREAMING_SNAKE_CASE strings.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $wire:literal, )*) => {
        /// A stable, machine-readable error code of the wire protocol. Each variant's
        /// doc names the status it comes with and what it means.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the order `docs/protocol.md` lists them.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire string, e.g. `"WRONG_PASSWORD"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                }
            }

            /// What the code means, for a person (the first line of its docs).
            pub const fn describe(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => first_doc(&[$($doc),*]),)*
                }
            }
        }
    };
}

const fn first_doc(docs: &[&'static str]) -> &'static str {
    match docs.first() {
        Some(doc) => doc,
        None => "",
    }
}

error_codes! {
    /// `400`: a field of the input is invalid; the message names it.
    InvalidField = "INVALID_FIELD",
    /// `400`: the body is not JSON.
    InvalidJson = "INVALID_JSON",
    /// `400`: the JSON does not have the record's shape; the message names the field.
    InvalidBody = "INVALID_BODY",
    /// `400`: the body could not be read.
    BadBody = "BAD_BODY",
    /// `400`: a webhook receiver could not read the body (SDK receivers).
    BadRequest = "BAD_REQUEST",
    /// `400`: the sealed body could not be opened (wrong key or secret?).
    Undecryptable = "UNDECRYPTABLE",
    /// `400`: a sealed-v2 request without `X-Payments-Timestamp`.
    MissingTimestamp = "MISSING_TIMESTAMP",
    /// `400`: `X-Payments-Timestamp` is not decimal Unix milliseconds.
    InvalidTimestamp = "INVALID_TIMESTAMP",
    /// `400`: the `Idempotency-Key` header is not 1 to 255 visible ASCII characters.
    InvalidIdempotencyKey = "INVALID_IDEMPOTENCY_KEY",
    /// `400`: the route needs an `Idempotency-Key` header (charges; cancels over sealed-v2).
    IdempotencyKeyRequired = "IDEMPOTENCY_KEY_REQUIRED",
    /// `400`: the `vendor.store_id` is not configured on the server.
    UnknownStore = "UNKNOWN_STORE",
    /// `400`: the payment method cannot pay on this route.
    UnsupportedMethod = "UNSUPPORTED_METHOD",
    /// `400`: a PG webhook that names no payment.
    InvalidWebhook = "INVALID_WEBHOOK",
    /// `401`: the request's timestamp is too far from the server's clock.
    StaleTimestamp = "STALE_TIMESTAMP",
    /// `401`: a signature does not verify (a sealed-v2 tag at an SDK webhook receiver, a PortOne V2 webhook at the server).
    BadSignature = "BAD_SIGNATURE",
    /// `401`: a sealed-v2 request this server accepted before (a replay); seal every request anew.
    Replayed = "REPLAYED",
    /// `402`: the PG declined the payment; the message carries the PG's code and reason.
    PaymentDeclined = "PAYMENT_DECLINED",
    /// `403`: the record's password is wrong.
    WrongPassword = "WRONG_PASSWORD",
    /// `403`: a Toss deposit callback whose secret is not the payment's.
    InvalidSecret = "INVALID_SECRET",
    /// `403`: the coupon belongs to another owner.
    CouponForeign = "COUPON_FOREIGN",
    /// `404`: no record with that id or source (or no such route).
    NotFound = "NOT_FOUND",
    /// `404`: the PG has no payment, billing key or certification with that uid.
    VendorNotFound = "VENDOR_NOT_FOUND",
    /// `404`: no coupon has this code.
    CouponNotFound = "COUPON_NOT_FOUND",
    /// `408`: the request body did not arrive within the server's body deadline.
    RequestTimeout = "REQUEST_TIMEOUT",
    /// `409`: that source, PG uid or order already holds a record (another request won).
    Duplicate = "DUPLICATE",
    /// `409`: another request with the same idempotency key is still running.
    IdempotencyInFlight = "IDEMPOTENCY_IN_FLIGHT",
    /// `409`: the coupon was redeemed already.
    CouponSpent = "COUPON_SPENT",
    /// `409`: the coupon is registered already.
    CouponAlreadyRegistered = "COUPON_ALREADY_REGISTERED",
    /// `409`: the certification verified a person before; each one is accepted once.
    CertificationUsed = "CERTIFICATION_USED",
    /// `413`: the request body is too large.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
    /// `415`: the request's content type is not an envelope (or the route's type).
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE",
    /// `415`: the `compat` envelope is switched off on the server or on this route (monitors).
    EnvelopeDisabled = "ENVELOPE_DISABLED",
    /// `422`: the idempotency key was used before with a different request.
    IdempotencyMismatch = "IDEMPOTENCY_MISMATCH",
    /// `422`: the PG's amount differs from the requested price.
    AmountMismatch = "AMOUNT_MISMATCH",
    /// `422`: the PG's order id differs from the source id.
    OrderMismatch = "ORDER_MISMATCH",
    /// `422`: the billing key belongs to another customer.
    CustomerMismatch = "CUSTOMER_MISMATCH",
    /// `422`: the saved card's billing key was deleted at its PG; register a new one.
    ReservationDeleted = "RESERVATION_DELETED",
    /// `422`: the PG payment is not paid.
    PaymentNotPaid = "PAYMENT_NOT_PAID",
    /// `422`: a cancel asks for more than is left of the payment.
    CancelExceedsBalance = "CANCEL_EXCEEDS_BALANCE",
    /// `422`: the order breaks a rule (empty, disabled product, bad quantity, …).
    InvalidOrder = "INVALID_ORDER",
    /// `422`: an amount the server cannot carry.
    InvalidAmount = "INVALID_AMOUNT",
    /// `422`: a transaction the rules refuse (e.g. a zero total).
    InvalidTransaction = "INVALID_TRANSACTION",
    /// `422`: a currency the PGs cannot charge.
    UnsupportedCurrency = "UNSUPPORTED_CURRENCY",
    /// `422`: the PG refused the operation (e.g. a cancel); the message has its reason.
    VendorRejected = "VENDOR_REJECTED",
    /// `422`: the person has not completed the certification.
    NotCertified = "NOT_CERTIFIED",
    /// `422`: the person completed the certification longer ago than the server accepts.
    CertificationExpired = "CERTIFICATION_EXPIRED",
    /// `422`: the coupon expired.
    CouponExpired = "COUPON_EXPIRED",
    /// `422`: the coupon must be registered before it is redeemed.
    CouponNotRegistered = "COUPON_NOT_REGISTERED",
    /// `422`: the coupon does not apply to this order.
    CouponNotApplicable = "COUPON_NOT_APPLICABLE",
    /// `422`: a gift's giver is its recipient.
    GiftToSelf = "GIFT_TO_SELF",
    /// `429`: too many unknown coupon codes, wrong record passwords, re-deliveries of one message or PG webhooks from one address; `Retry-After` says when to retry.
    TooManyAttempts = "TOO_MANY_ATTEMPTS",
    /// `500`: the server failed (details only in its logs).
    Internal = "INTERNAL",
    /// `502`: the PG failed or could not be reached.
    VendorError = "VENDOR_ERROR",
    /// `502`: the PG refused the server's credentials; the message names the store and the key to fix.
    VendorCredentials = "VENDOR_CREDENTIALS",
    /// `502`: the PG's payment does not match the charge the server made.
    VendorMismatch = "VENDOR_MISMATCH",
    /// `503`: the coupon kept changing while the request ran; retry.
    CouponBusy = "COUPON_BUSY",
    /// `503`: the server is up but its database does not answer (`/monitors/health`).
    Unhealthy = "UNHEALTHY",
    /// `503`: the server is at a capacity limit; `Retry-After` says when to retry.
    Overloaded = "OVERLOADED",
    /// `504`: the PG did not answer in time; it may have acted (outcome unknown).
    VendorTimeout = "VENDOR_TIMEOUT",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with a wire string, so `code == "WRONG_PASSWORD"` reads as it should.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| UnknownErrorCode(text.to_owned()))
    }
}

/// A code that is not an [`ErrorCode`] (a newer server's, or not ours at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code {0:?}")]
pub struct UnknownErrorCode(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_strings_are_serde_names_and_parse_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::json!(code.as_str()), "{code:?}");
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
            assert!(!code.describe().is_empty(), "{code:?} has docs");
        }
        assert!("NOPE".parse::<ErrorCode>().is_err());
    }

    /// The table `docs/protocol.md` shows, generated from [`ErrorCode::ALL`].
    fn table() -> String {
        let mut table = String::from("| code | meaning |\n|---|---|\n");
        for code in ErrorCode::ALL {
            table.push_str(&format!("| `{code}` | {} |\n", code.describe().trim()));
        }
        table
    }

    #[test]
    fn the_protocol_doc_lists_every_code_from_this_enum() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
        let doc = std::fs::read_to_string(path).unwrap();
        assert!(
            doc.contains(&table()),
            "docs/protocol.md's error-code table is out of date; it should read:\n{}",
            table()
        );
    }

    #[test]
    fn every_code_is_listed_once() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }
}

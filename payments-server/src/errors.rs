//! The failures every use case can run into besides its own refusals, in domain words.
//! Each use case's error enum wraps the ones it can meet; only `http/` turns them into
//! statuses and codes.

use crate::store::StoreError;
use payments_core::records::VendorCode;

/// A field of the input that the wire types accept but the rules do not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// The field, as the wire names it (`source.id`, `price`).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl FieldError {
    /// A refusal of `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A `(vendor, store id)` the server has no configuration for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vendor.store_id: no {vendor} store {} is configured", crate::validate::echo(.store_id))]
pub struct UnknownStore {
    /// The PG.
    pub vendor: VendorCode,
    /// The store the caller named.
    pub store_id: String,
}

/// Reading a record with its password.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No record answers to the id or source; says what was looked for.
    #[error("{0}")]
    NotFound(String),
    /// The record exists and the password is not its.
    #[error("the password does not match the record")]
    WrongPassword,
    /// Too many wrong passwords: the record refuses every password (the right one too)
    /// until the lockout ends.
    #[error(
        "too many wrong passwords for this record: every password is refused for {retry_after_secs} s"
    )]
    Locked {
        /// Whole seconds until the lockout ends (at least 1).
        retry_after_secs: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The record could not be read (a corrupt stored hash, a sealed value that does
    /// not open, a task that died).
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// Something that must not happen did (a sealed value that does not open, a task that
/// died). The cause goes to the log, never to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Internal(pub String);

impl Internal {
    /// An internal failure from any displayable cause.
    pub fn new(cause: impl std::fmt::Display) -> Self {
        Self(cause.to_string())
    }
}

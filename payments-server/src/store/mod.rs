//! Storage behind small ports, one per aggregate, so another engine can follow SQLite:
//! [`HistoryStore`], [`ReservationStore`], [`TransactionStore`], [`CouponStore`],
//! [`OutboxStore`], [`IdempotencyStore`], [`PasswordStore`] (the guess limiter's counts and
//! hash upgrades), [`CertificationStore`] (certifications accepted), [`CheckStore`] (the
//! reconciliation worker's checks), [`UnknownPaymentStore`] (PG payments no history
//! holds); [`Store`] is all of them, what the server holds. [`sqlite`] is the engine the
//! server ships with (one instance per file);
//! [`postgres`] lets several instances share one database.
//!
//! The store keeps what the service hands it: PG objects, cancels and webhook bodies
//! arrive already sealed (see `at_rest.rs`) and passwords already hashed, so no
//! engine ever sees them in the clear. Every method that changes more than one row does
//! it in one transaction, and a uniqueness rule a write breaks comes back as a
//! [`StoreConflict`] naming the rule.

pub mod certifications;
pub mod checks;
pub mod coupons;
pub mod histories;
pub mod idempotency;
pub mod outbox;
pub mod passwords;
pub mod postgres;
pub mod reservations;
pub mod sqlite;
pub mod transactions;
pub mod unknown;
pub(crate) mod words;

pub use certifications::CertificationStore;
pub use checks::{CheckStore, DueChargeCheck, DueCheck};
pub use coupons::{CouponStore, StoredCoupon};
pub use histories::{HistoryStore, StoredHistory};
pub use idempotency::{IdempotencyBegin, IdempotencyStore, RequestHash};
pub use outbox::{
    Attempt, AttemptOutcome, Delivery, DeliveryState, GivenUp, MessageKind, NewMessage,
    OutboxStore, ReceiverBudget, event_stream, receiver_host, webhook_stream,
};
pub use passwords::{AttemptPolicy, AttemptState, PasswordRecord, PasswordStore, RecordKind};
pub use postgres::PostgresStore;
pub use reservations::{ReservationStore, StoredReservation};
pub use sqlite::SqliteStore;
pub use transactions::{StoredTransaction, TransactionStore, TransactionWrite};
pub use unknown::{UnknownPayment, UnknownPaymentStore};

/// Which uniqueness rule refused a write. Callers branch on it: a charge whose history
/// is refused because its *source* is taken may give its money back, one refused because
/// its *PG payment* is already recorded must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreConflict {
    /// The caller's source already holds a record of this kind.
    #[error("the source already holds a record")]
    Source,
    /// The PG's uid (payment or billing key) is already recorded.
    #[error("the PG's uid is already recorded")]
    VendorUid,
    /// Another charge that has not failed holds the order.
    #[error("another charge holds the order")]
    OrderHeld,
    /// The transaction written with the change moved on since it was read.
    #[error("the transaction changed since it was read")]
    TransactionMoved,
    /// A coupon with the same code hash exists.
    #[error("the coupon code is taken")]
    CouponCode,
}

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; nothing was written.
    #[error("conflict: {0}")]
    Conflict(StoreConflict),
    /// The engine failed.
    #[error("storage failure: {0}")]
    Engine(String),
    /// A stored value could not be read back.
    #[error("corrupt stored value in {0}")]
    Corrupt(&'static str),
}

/// Every port: what the server holds. Implemented by any engine that implements them
/// all.
pub trait Store:
    HistoryStore
    + ReservationStore
    + TransactionStore
    + CouponStore
    + OutboxStore
    + IdempotencyStore
    + PasswordStore
    + CertificationStore
    + CheckStore
    + UnknownPaymentStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: HistoryStore
        + ReservationStore
        + TransactionStore
        + CouponStore
        + OutboxStore
        + IdempotencyStore
        + PasswordStore
        + CertificationStore
        + CheckStore
        + UnknownPaymentStore
        + Send
        + Sync
        + 'static
{
}

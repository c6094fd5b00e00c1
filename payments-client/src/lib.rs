#![doc = include_str!("../README.md")]
//!
//! # Module map
//! - [`connection`]: [`Connection`], where the server is and how to talk to it (envelope,
//!   headers, timeouts, retries, clock).
//! - [`client`]: [`PaymentsClient`], cheap to clone, with one handle per route group.
//! - [`histories`], [`reservations`], [`monitors`]: one typed method per route of the
//!   base spec.
//! - [`charges`], [`coupons`], [`redelivery`]: the routes this project adds (`docs/protocol.md`):
//!   charges, transactions, certifications, webhook and event re-delivery.
//! - [`records`]: the records sent and returned — [`records::PaymentHistory`],
//!   [`records::PaymentHistoryCreate`], [`records::CancelCreate`],
//!   [`records::PaymentReservation`], [`records::WebhookHistory`], and in
//!   [`records::charges`] / [`records::coupons`] those of the added routes (re-exported
//!   from `payments_client::records`).
//! - [`idempotency`]: [`IdempotencyKey`], which makes a write safe to retry.
//! - [`retry`]: [`RetryPolicy`], what is retried and how long to wait.
//! - [`error`]: [`Error`], split by what a caller can do about it.
//! - [`data`]: [`VendorData`], reading a record's `data` as the PG's typed object.
//! - [`webhook`]: [`open_webhook`] and [`open_event`], verifying and opening what the
//!   server POSTs to a history's `webhook_url` and to the merchant's event URL.
//! - `axum` (feature `axum`): an extractor that makes a webhook endpoint a route and a
//!   handler.
//! - `transport` (private): sealing, sending, retrying and opening one call.

#[cfg(feature = "axum")]
pub mod axum;
pub mod charges;
pub mod client;
pub mod connection;
pub mod coupons;
pub mod data;
pub mod error;
pub mod histories;
pub mod idempotency;
pub mod monitors;
pub mod redelivery;
pub mod reservations;
pub mod retry;
mod transport;
pub mod webhook;

pub use client::PaymentsClient;
pub use connection::{ConfigError, Connection};
pub use data::VendorData;
pub use error::{Error, ErrorCode, ResponseError, ServerError, UnknownCause};
pub use idempotency::{IdempotencyKey, InvalidIdempotencyKey};
/// The wire records every route sends and returns (`payments_client::records`), so a caller
/// needs no second dependency to name them.
#[doc(inline)]
pub use payments_core::records;
pub use retry::RetryPolicy;
/// The id type of every record (`PaymentHistory::id`, …).
pub use uuid::Uuid;
pub use webhook::{WEBHOOK_ID_HEADER, WebhookError, open_event, open_webhook};

/// The header that carries an [`IdempotencyKey`] on writes.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

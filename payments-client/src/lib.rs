//! `payments-client`: the typed SDK for `payments-server`'s encrypted wire protocol
//! (`shared/spec/payments-wire.md`). Callers never touch ciphers, URLs or JSON.
//!
//! # Modules
//! - [`connection`]: [`Connection`], where the server is and how to talk to it (envelope,
//!   headers, timeouts, retries, clock).
//! - [`client`]: [`PaymentsClient`], cheap to clone, with one handle per route group.
//! - [`histories`], [`reservations`], [`monitors`]: one typed method per route of the
//!   base spec.
//! - [`charges`], [`coupons`], [`redelivery`]: the routes this project adds (`docs/protocol.md`):
//!   charges, transactions, certifications, webhook and event re-delivery.
//! - [`idempotency`]: [`IdempotencyKey`], which makes a write safe to retry.
//! - [`retry`]: [`RetryPolicy`], what is retried and how long to wait.
//! - [`error`]: [`Error`], split by what a caller can do about it.
//! - [`data`]: [`VendorData`], reading a record's `data` as the PG's typed object.
//! - [`webhook`]: [`open_webhook`] and [`open_event`], verifying and opening what the
//!   server POSTs to a history's `webhook_url` and to the merchant's event URL.
//! - `axum` (feature `axum`): an extractor that makes a webhook endpoint three lines.
//! - `transport` (private): sealing, sending, retrying and opening one call.
//!
//! # Example
//! ```no_run
//! use payments_client::{Connection, PaymentsClient};
//! use payments_core::records::Password;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = PaymentsClient::new(
//!     Connection::new("https://payments.internal.example").sealed_v2("the shared secret"),
//! )?;
//! let id = uuid::Uuid::nil();
//! let history = client
//!     .histories()
//!     .at(id, &Password { password: "record password".into() })
//!     .await?;
//! println!("{} {} paid at {:?}", history.id, history.price, history.paid_at);
//! # Ok(())
//! # }
//! ```

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
pub use retry::RetryPolicy;
pub use webhook::{WEBHOOK_ID_HEADER, WebhookError, open_event, open_webhook};

/// The header that carries an [`IdempotencyKey`] on writes.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

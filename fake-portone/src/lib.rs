#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`server`]: [`FakePortOne`] (the running fake, its customer-side helpers) and
//!   [`FakePortOneBuilder`]; the glue to `fake-harness` (boot, faults, webhooks,
//!   idempotency, clock).
//! - `routes`: the PortOne V2 API (a match over method and path, handed every request
//!   outside `/internal/` by the harness) and the fake-only `/internal/` routes (axum).
//! - `world`: the fake's state and its operations, one submodule per resource
//!   (payments, billing keys and schedules, identity verifications).
//! - records and their JSON: `payment`, `billing_key`, `schedule`, [`identity`];
//!   `amount` (amounts and partial-cancel arithmetic); [`cards`] (card checks and the
//!   declined-card table); `requests` (request bodies).
//! - [`checkout`]: the typed payment-window input; [`settings`]: stores;
//!   [`webhook`]: webhook bodies and Standard Webhooks signing; [`error`]: PortOne errors.

pub mod cards;
pub mod checkout;
pub mod error;
pub mod identity;
pub mod server;
pub mod settings;
pub mod webhook;

mod amount;
mod billing_key;
mod ids;
mod payment;
mod requests;
mod routes;
mod schedule;
mod world;

pub use cards::{DECLINED_CARDS, DeclinedCard};
pub use checkout::{
    Checkout, CheckoutAmount, CheckoutCard, CheckoutCustomer, CheckoutMethod, PgFailure,
};
pub use error::{ErrorKind, PortOneError};
pub use fake_harness::{FakeError, WebhookOutcome, WebhookRecord};
pub use identity::Person;
pub use payment::PaymentStatus;
pub use server::{FakePortOne, FakePortOneBuilder, REAL_RETRY_SCHEDULE};
pub use settings::{DEFAULT_API_SECRET, DEFAULT_STORE_ID, DEFAULT_WEBHOOK_SECRET, StoreSettings};
pub use webhook::WebhookVersion;

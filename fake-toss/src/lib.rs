#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`server`]: [`FakeToss`] (the handle, deref to [`fake_harness::Harness`] for the
//!   knobs every fake shares) and [`FakeTossBuilder`].
//! - `api`: the Toss v1 routes, routed by hand, with the secret key and
//!   `Idempotency-Key`; `routes`: the fake-only `/internal` routes (on axum). The request
//!   log and fault injection are the harness's.
//! - Resources, one module each, holding their request bodies and rules: `payments`
//!   (lookups, key-in, confirm, cancel), `virtual_accounts` (issue, deposit), `billing`
//!   (billing keys and charges), `cash_receipts`.
//! - `store`: the data and the rules they share (status machine, expiry, webhook events);
//!   `model`: records and their JSON shapes; `fields`: field checks; `state`: what the
//!   handlers and the handle share. Dependencies run resource → store → model, never back.
//! - [`cards`]: the declined-card table. [`error`]: Toss-style errors. `auth`: the secret
//!   key check; `idempotency`: Toss's key rules on the harness's cache; `clock`: Toss's
//!   time formats.

pub mod cards;
pub mod error;
pub mod server;

mod api;
mod auth;
mod billing;
mod cash_receipts;
mod clock;
mod customer;
mod fields;
mod idempotency;
mod model;
mod payments;
mod routes;
mod state;
mod store;
mod virtual_accounts;

pub use cards::{DECLINED_CARDS, DeclinedCard};
pub use customer::TEST_CARD;
pub use error::TossError;
pub use fake_harness::{
    Compat, FakeError, Harness, RecordedRequest, WebhookOutcome, WebhookRecord,
};
pub use model::PaymentStatus;
pub use server::{DEFAULT_SECRET_KEY, FakeToss, FakeTossBuilder, REAL_RETRY_SCHEDULE};

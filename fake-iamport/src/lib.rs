#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`server`]: [`FakeIamport`] (the handle, deref to [`fake_harness::Harness`] for the
//!   knobs every fake shares) and [`FakeIamportBuilder`].
//! - `routes`: `METHOD /path` → handler, token check, `Idempotency-Key` replay;
//!   `internal`: PortOne's own `/internal/` routes beside the harness's.
//! - Resources, one module each: `auth` (`POST /users/getToken`, token expiry),
//!   `payments` (lookups, `POST /payments/cancel`), `charges` (`subscribe/payments/onetime`
//!   and `again`), `customers` (saved cards), `vbanks` (virtual accounts, deposit),
//!   `receipts` (cash receipts), `certifications` (SMS OTP).
//! - `model`: the records and their JSON shapes; `state`: the data behind one lock;
//!   `shared`: what the handlers and the handle share. Dependencies run resource →
//!   state → model, never back.
//! - [`webhooks`]: the webhook body; delivery is the harness's. [`cards`]: card checks and
//!   the declined-card table. `envelope`, `fields`: response envelope, request parsing.

mod auth;
pub mod cards;
mod certifications;
mod charges;
mod customer;
mod customers;
mod envelope;
mod fields;
mod internal;
mod model;
mod payments;
mod receipts;
mod routes;
pub mod server;
mod shared;
mod state;
mod vbanks;
pub mod webhooks;

pub use customer::TEST_CARD;
pub use fake_harness::{
    Compat, FakeError, Harness, RecordedRequest, WebhookOutcome, WebhookRecord,
};
pub use server::{DEFAULT_IMP_KEY, DEFAULT_IMP_SECRET, FakeIamport, FakeIamportBuilder};
pub use vbanks::BANKS;
pub use webhooks::WebhookPayload;

//! `payments-server`: one encrypted API over Toss Payments and PortOne that verifies
//! every payment with the PG, keeps each record sealed behind its own password, and
//! turns PG webhooks into verified changes delivered to the caller without losing one.
//!
//! Embed it with [`PaymentServer::builder`] (tests start and stop it on port 0) or run
//! the `payments-server` binary.
//!
//! # Modules
//! - [`server`]: the builder and the running server's handle.
//! - [`config`]: the TOML configuration and its `PAYMENTS_*` overrides.
//! - [`app`]: the state routes and workers share.
//! - [`http`]: the routes, the envelope extractor/responder, idempotency, monitors.
//! - [`histories`], [`reservations`]: the verified records.
//! - [`charges`], [`transactions`], [`certifications`]: charging saved cards, the
//!   approval attempts and their events, identity verification.
//! - [`coupons`]: coupons and gifts: issue, register, redeem.
//! - [`webhooks`]: PG webhook intake and the durable outbox that delivers to callers.
//! - [`store`]: the `Store` port and its SQLite implementation.
//! - [`vendors`]: the reqwest adapters for each PG.
//! - [`at_rest`]: sealing records at rest under rotating data keys.
//! - [`error`]: the `{status, code, message}` answers.
//! - [`validate`]: field checks the wire types cannot express.

pub mod app;
pub mod at_rest;
pub mod certifications;
pub mod charges;
pub mod config;
pub mod coupons;
pub mod errors;
pub mod guess_guard;
pub mod histories;
pub mod http;
pub mod refunds;
pub mod reservations;
pub mod server;
pub mod store;
pub mod transactions;
pub mod validate;
pub mod vendors;
pub mod webhooks;

pub use config::ServerConfig;
pub use server::{PaymentServer, PaymentServerBuilder, ServerHandle, StartError};

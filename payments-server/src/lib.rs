//! `payments-server`: one encrypted API over Toss Payments and PortOne that verifies
//! every payment with the PG, keeps each record sealed behind its own password, and
//! turns PG webhooks into verified changes delivered to the caller without losing one.
//!
//! Embed it with [`PaymentServer::builder`] (tests start and stop it on port 0) or run
//! the `payments-server` binary.
//!
//! # Where things live
//!
//! ```text
//! server.rs, config.rs   the builder, the running handle, the configuration (public)
//! http/                  the only layer that knows HTTP: one file per route group
//!                        (histories, reservations, charges, transactions,
//!                        certifications, coupons, webhooks, monitors), the envelope
//!                        extractor, idempotency, and error.rs, which maps every use
//!                        case's error to {status, code, message}
//! histories.rs           use cases, one module per aggregate, in domain types and
//! reservations.rs        domain errors (HistoryError, ChargeError::SourceTaken, ...):
//! charges.rs             no HTTP status below http/
//! pending_charges.rs     a charge whose outcome its request never learned, resolved
//!                        by asking the PG for the order (the reconciliation worker)
//! transactions.rs
//! certifications.rs
//! coupons.rs
//! webhooks/              intake (PG webhooks in) and outbox (deliveries out)
//! reconcile.rs           the worker that re-asks the PG about payments not final yet
//!                        (a webhook may never arrive), applying as intake does
//! refunds.rs             the one way the server refunds on its own (logged, never a
//!                        payment a history holds)
//! passwords.rs           every record-password check: the guess limiter in front
//!                        of the keyed hash, and the upgrade of old hashes
//! guess_guard.rs         slows down owners who guess coupon codes
//! rate_limit.rs          a token bucket per key in bounded memory (webhook intake per
//!                        source address, re-delivery per message)
//! errors.rs              the failures every use case shares (FieldError, ...)
//! validate.rs            field checks the wire types cannot express
//! store/                 the ports, one small trait per aggregate (histories,
//!                        reservations, transactions, coupons, outbox, idempotency,
//!                        passwords: the limiter's counts, checks: reconciliation,
//!                        unknown: PG payments no history holds)
//! store/sqlite/          the SQLite engine, one file per aggregate (engine-only tests
//!                        beside the code; the port's rules in tests/store_suite.rs)
//! store/postgres/        the PostgreSQL engine (several instances on one database),
//!                        one file per aggregate; tests/store_suite.rs runs the same
//!                        assertions on both engines
//! vendors/               the reqwest adapters of the PG port, one per PG
//! at_rest.rs             sealing records at rest under rotating data keys
//! app.rs                 the state the routes and workers share
//! main.rs                the binary: wiring only (`--demo` behind the `demo` feature)
//! ```

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
pub mod passwords;
pub mod pending_charges;
pub mod rate_limit;
pub mod reconcile;
pub mod refunds;
pub mod reservations;
pub mod server;
pub mod store;
pub mod sweep;
pub mod transactions;
pub mod validate;
pub mod vendors;
pub mod webhooks;

pub use config::ServerConfig;
pub use server::{PaymentServer, PaymentServerBuilder, ServerHandle, StartError};

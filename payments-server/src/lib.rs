//! `payments-server`: one encrypted API over Toss Payments and PortOne that verifies
//! every payment with the PG, keeps each record sealed behind its own password, and
//! turns PG webhooks into verified changes delivered to the caller without losing one.
//!
//! Embed it with [`PaymentServer::builder`] (tests start and stop it on port 0) or run
//! the `payments-server` binary.
//!
//! # Public surface
//!
//! What an embedder needs, and nothing else:
//!
//! - [`server`]: [`PaymentServer`], [`PaymentServerBuilder`], [`ServerHandle`] (its
//!   [`store`](ServerHandle::store) and [`password_checks`](ServerHandle::password_checks)
//!   for tests and tools), [`StartError`].
//! - [`config`]: [`ServerConfig`] and its sections.
//! - [`http::router`]: the API as an axum router over an [`App`], to mount in an
//!   embedder's own app; [`App`] is opaque, built only by [`PaymentServerBuilder::build`].
//! - [`store`]: the ports, [`SqliteStore`](store::SqliteStore),
//!   [`PostgresStore`](store::PostgresStore) and their row types, for an embedder that
//!   brings its own store (`tests/store_suite.rs` is the ports' contract).
//! - [`vendors`]: the PG adapters, usable on their own.
//! - [`keys`]: a fresh data key, and sealing history rows as the server does for a
//!   writer that fills the database around it (the bench's preload).
//!
//! Everything else below is `pub(crate)`.
//!
//! # Where things live
//!
//! ```text
//! server.rs, config.rs   the builder, the running handle, the configuration (public)
//! keys.rs                data keys for tools: generate one, seal history rows (public)
//! http/                  the only layer that knows HTTP (public: only `router`): one
//!                        file per route group (histories, reservations, charges, transactions,
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
//! sweep.rs               the worker that deletes expired idempotency keys and
//!                        certifications, in batches
//! store/                 (public) the ports, one small trait per aggregate (histories,
//!                        reservations, transactions, coupons, outbox, idempotency,
//!                        passwords: the limiter's counts, checks: reconciliation,
//!                        unknown: PG payments no history holds)
//! store/sqlite/          the SQLite engine, one file per aggregate (engine-only tests
//!                        beside the code; the port's rules in tests/store_suite.rs)
//! store/postgres/        the PostgreSQL engine (several instances on one database),
//!                        one file per aggregate; tests/store_suite.rs runs the same
//!                        assertions on both engines
//! vendors/               (public) the reqwest adapters of the PG port, one per PG
//! at_rest.rs             sealing records at rest under rotating data keys
//! app.rs                 the state the routes and workers share (`App`: public, opaque)
//! main.rs                the binary: wiring only (`--demo` behind the `demo` feature)
//! ```

pub(crate) mod app;
pub(crate) mod at_rest;
pub(crate) mod certifications;
pub(crate) mod charges;
pub mod config;
pub(crate) mod coupons;
pub(crate) mod errors;
pub(crate) mod guess_guard;
pub(crate) mod histories;
pub mod http;
pub mod keys;
pub(crate) mod passwords;
pub(crate) mod pending_charges;
pub(crate) mod rate_limit;
pub(crate) mod reconcile;
pub(crate) mod refunds;
pub(crate) mod reservations;
pub mod server;
pub mod store;
pub(crate) mod sweep;
pub(crate) mod transactions;
pub(crate) mod validate;
pub mod vendors;
pub(crate) mod webhooks;

pub use app::App;
pub use config::ServerConfig;
pub use server::{PaymentServer, PaymentServerBuilder, ServerHandle, StartError};

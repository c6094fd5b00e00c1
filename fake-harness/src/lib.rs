//! `fake-harness`: the vendor-neutral machinery every fake PG in this workspace runs on —
//! boot on its own thread and runtime on port 0 (from a pool of pre-started threads), the
//! request log, fault counters, webhook dispatch with retry schedules, chaos and a log of
//! attempts, the `Idempotency-Key` cache and the offset clock. It is test infrastructure:
//! it depends on nothing of ours, and nothing of the payments domain depends on it.
//!
//! # Modules
//! - [`server`]: [`start`], [`Harness`] (the knobs), [`Server`] (the running fake).
//! - [`config`]: [`Vendor`] (a fake's fixed description), [`Config`] (per-instance
//!   settings), [`Compat`]; [`builder_methods!`] puts `Config`'s setters on a fake's builder.
//! - [`webhook`]: [`Webhook`] (an event to send), [`WebhookRecord`] / [`WebhookOutcome`]
//!   (the log), the dispatcher.
//! - [`faults`], [`clock`], [`idempotency`], [`record`]: the fault counters, the clock,
//!   the idempotency cache, [`RecordedRequest`].
//! - [`retention`]: [`Retention`], the index a fake consults to honour `capacity` and
//!   `record_ttl`.
//! - [`routes`]: [`Routes`], what a fake serves: axum routes, or `/internal/` on axum
//!   and the API as one [`Api`] function. [`response`]: [`json_response`], the answer
//!   nearly every route gives.
//! - [`internal`]: the knobs over HTTP (`/internal/clock`, `/internal/faults`, ...);
//!   [`cli`]: the flags every fake binary shares. [`error`]: [`FakeError`].
//! - `pool`: the pre-started server threads; `connections`: the accept loop, each
//!   connection on hyper's HTTP/1.1.
//! - [`test_support`] (feature `test-support`, for the fakes' own tests and benches):
//!   OpenAPI validation, a webhook receiver, the comparison with wiremock.
//!
//! # One API for every fake
//! Every fake's handle (`FakeToss`, `FakeIamport`, ...) derefs to [`Harness`], and every
//! fake's builder carries [`builder_methods!`], so the same knob has the same name,
//! argument types and error type on every fake:
//!
//! | knob | builder | handle | HTTP (`/internal/`) |
//! |---|---|---|---|
//! | address | `host(IpAddr)`, `port(u16)` | `uri()`, `addr()` | |
//! | start | `start().await`, `start_blocking()`, `try_start() -> Result<_, FakeError>` | `shutdown().await`, drop | |
//! | clock | `now(DateTime<Utc>)`, `freeze_clock(bool)` | `now()`, `advance(Duration)`, `set_now(DateTime<Utc>)`, `freeze_clock(bool)` | `GET/PUT clock`, `POST clock/advance` |
//! | request faults | `latency(Duration)` | `set_latency`, `fail_next(u32)`, `hang_next(u32)`, `lose_response_next(u32)`, `fail_next_after_acting(u32)` | `PUT faults` |
//! | request log | `record_requests(bool)` | `received_requests()`, `clear_received_requests()`, `set_record_requests(bool)` | `GET/DELETE requests` |
//! | webhooks | `webhook_url(..)`, `webhook_retry_schedule(Vec<Duration>)`, `webhook_timeout(Duration)` | `webhooks()`, `wait_for_webhooks(count, timeout, filter)`, `set_webhook_url`, `clear_webhook_url`, `set_webhook_retry_schedule`, `set_webhook_delay`, `drop_next_webhooks(u32)`, `duplicate_next_webhooks(u32)`, `reorder_next_webhooks(u32)` | `GET/DELETE webhooks`, `PUT faults` |
//! | compatibility, retention | `compat(Compat)`, `capacity(usize)`, `record_ttl(Duration)` | | binary flags |
//!
//! # Plugging a fake in
//! A fake describes itself once in a `static` [`Vendor`], builds its axum routes once per
//! process, and on each start hands them to [`start`] with its state. Handlers read the
//! state as `Extension<T>` and the harness as `Extension<Arc<Harness>>`; vendor code sends
//! webhooks with [`Harness::send_webhook`], reads time from [`Harness::clock`] and keeps
//! idempotent answers in [`Harness::idempotency`]. A fake that routes its API itself
//! hands [`start`] a [`Routes::split`] instead: axum then serves only the `/internal/`
//! paths, and every other request goes to one plain [`Api`] function with the state, the
//! request's head and its body (the three fakes here do; it is what makes their lookups
//! about twice as fast as wiremock's).
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Extension, Router, routing::get, response::{IntoResponse, Response}};
//! use fake_harness::{Config, FakeError, Harness, Server, Vendor, Webhook};
//!
//! static VENDOR: Vendor = Vendor {
//!     name: "fake-echo",
//!     faulted: |path| !path.starts_with("/internal/"),
//!     error: |status, message| {
//!         let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
//!         (status, message.to_owned()).into_response()
//!     },
//!     webhook_headers: |attempt| vec![("x-retry".into(), (attempt.attempt - 1).to_string())],
//!     ..Vendor::DEFAULT
//! };
//!
//! #[derive(Debug, Clone)]
//! struct Echo(Arc<Harness>);
//!
//! async fn hello(Extension(echo): Extension<Echo>) -> Response {
//!     echo.0.send_webhook(Webhook::json("HELLO", &serde_json::json!({"at": echo.0.now()})));
//!     "hello".into_response()
//! }
//!
//! /// The fake's handle: derefs to the harness for the common knobs.
//! pub struct FakeEcho(Server<Echo>);
//! impl std::ops::Deref for FakeEcho {
//!     type Target = Harness;
//!     fn deref(&self) -> &Harness { &self.0 }
//! }
//!
//! #[derive(Default)]
//! pub struct FakeEchoBuilder { harness: Config }
//! impl FakeEchoBuilder {
//!     fake_harness::builder_methods!(FakeEcho);
//!     pub fn try_start(self) -> Result<FakeEcho, FakeError> {
//!         let routes = Router::new()
//!             .route("/hello", get(hello))
//!             .merge(fake_harness::internal_routes());
//!         fake_harness::start(&VENDOR, self.harness, |h| (routes, Echo(h.clone()))).map(FakeEcho)
//!     }
//! }
//!
//! let echo = FakeEchoBuilder::default().start_blocking();
//! assert!(echo.uri().starts_with("http://127.0.0.1:"));
//! echo.fail_next(1);
//! ```

pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod faults;
pub mod idempotency;
pub mod internal;
pub mod record;
pub mod response;
pub mod retention;
pub mod routes;
pub mod server;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod webhook;

mod connections;
mod pool;

pub use config::{Compat, Config, Vendor};
pub use error::FakeError;
pub use internal::internal_routes;
pub use record::RecordedRequest;
pub use response::json_response;
pub use retention::Retention;
pub use routes::{Api, Routes};
pub use server::{Harness, Server, start};
pub use webhook::{AttemptInfo, REORDER_WINDOW, Webhook, WebhookOutcome, WebhookRecord};

/// Locks a mutex, recovering the data if a panicking thread poisoned it (a fake's state
/// stays usable; a test that panicked already failed on its own).
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Puts the common builder methods on a fake's builder: the setters of [`Config`]
/// (`host`, `port`, `latency`, `record_requests`, `now`, `freeze_clock`, `webhook_url`,
/// `webhook_retry_schedule`, `webhook_timeout`, `compat`, `capacity`, `record_ttl`),
/// `configure` (apply a closure to the whole [`Config`], e.g. [`cli::CommonArgs::apply`]),
/// and `start` / `start_blocking` (panicking wrappers of the builder's own
/// `try_start(self) -> Result<$fake, FakeError>`).
///
/// Use inside `impl YourBuilder { .. }`; the builder needs a field `harness: Config`.
#[macro_export]
macro_rules! builder_methods {
    ($fake:ty) => {
        /// The address to bind (default `127.0.0.1`).
        #[must_use]
        pub fn host(mut self, host: ::std::net::IpAddr) -> Self {
            self.harness = self.harness.host(host);
            self
        }

        /// The port to bind (default 0: any free port). For binaries; tests keep 0.
        #[must_use]
        pub fn port(mut self, port: u16) -> Self {
            self.harness = self.harness.port(port);
            self
        }

        /// Latency added before every API answer (default none).
        #[must_use]
        pub fn latency(mut self, latency: ::std::time::Duration) -> Self {
            self.harness = self.harness.latency(latency);
            self
        }

        /// Whether to keep the `received_requests` log (default `true`).
        #[must_use]
        pub fn record_requests(mut self, record: bool) -> Self {
            self.harness = self.harness.record_requests(record);
            self
        }

        /// Starts the fake's clock at `now` instead of the wall-clock time.
        #[must_use]
        pub fn now(mut self, now: ::chrono::DateTime<::chrono::Utc>) -> Self {
            self.harness = self.harness.now(now);
            self
        }

        /// Freezes the fake's clock (default: it ticks); it then moves only by
        /// `advance` / `set_now`.
        #[must_use]
        pub fn freeze_clock(mut self, frozen: bool) -> Self {
            self.harness = self.harness.freeze_clock(frozen);
            self
        }

        /// Where webhooks are POSTed (default: nowhere; events are logged as `NoUrl`).
        #[must_use]
        pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
            self.harness = self.harness.webhook_url(url);
            self
        }

        /// Waits between a failed webhook attempt and each retry; its length is the number
        /// of retries (default: the vendor's schedule).
        #[must_use]
        pub fn webhook_retry_schedule(mut self, schedule: Vec<::std::time::Duration>) -> Self {
            self.harness = self.harness.webhook_retry_schedule(schedule);
            self
        }

        /// How long one webhook attempt may take before it counts as failed (default 10 s).
        #[must_use]
        pub fn webhook_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.harness = self.harness.webhook_timeout(timeout);
            self
        }

        /// Which behaviour to reproduce (default: the real API's).
        #[must_use]
        pub fn compat(mut self, compat: $crate::Compat) -> Self {
            self.harness = self.harness.compat(compat);
            self
        }

        /// Keeps at most `records` records of each kind, forgetting the oldest first
        /// (default: unbounded).
        #[must_use]
        pub fn capacity(mut self, records: usize) -> Self {
            self.harness = self.harness.capacity(records);
            self
        }

        /// Forgets records `ttl` after they were created, by the fake's clock (default:
        /// never).
        #[must_use]
        pub fn record_ttl(mut self, ttl: ::std::time::Duration) -> Self {
            self.harness = self.harness.record_ttl(ttl);
            self
        }

        /// Applies `f` to the common settings (e.g. a binary's parsed common flags).
        #[must_use]
        pub fn configure(mut self, f: impl FnOnce($crate::Config) -> $crate::Config) -> Self {
            self.harness = f(self.harness);
            self
        }

        /// Starts the fake; usable from any async context (it does not need the caller's
        /// runtime).
        ///
        /// # Panics
        /// If the address cannot be bound or the server thread not started; `try_start`
        /// reports that instead.
        pub async fn start(self) -> $fake {
            self.start_blocking()
        }

        /// Starts the fake from synchronous code.
        ///
        /// # Panics
        /// As `start`.
        pub fn start_blocking(self) -> $fake {
            match self.try_start() {
                Ok(fake) => fake,
                Err(e) => panic!("{e}"),
            }
        }
    };
}

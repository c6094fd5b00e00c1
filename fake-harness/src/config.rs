//! [`Vendor`] (what a fake tells the harness about itself, once) and [`Config`] (the
//! per-instance settings every fake's builder shares), plus [`Compat`].

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::webhook::AttemptInfo;

/// A fake's fixed description: its name and the vendor rules the harness applies on its
/// behalf. One `static` per fake crate; write it as `Vendor { name, error, ..,
/// ..Vendor::DEFAULT }` so fields added later take their defaults.
#[derive(Debug)]
pub struct Vendor {
    /// The fake's name, e.g. `fake-toss` (thread names, logs, errors).
    pub name: &'static str,
    /// Whether the request faults (latency, fail/hang/lose) apply to a request for `path`;
    /// a fake's own test controls (`/internal/...`) are usually exempt.
    pub faulted: fn(path: &str) -> bool,
    /// The vendor's error answer for `status` and `message`: used for injected failures
    /// (`500`), bodies over [`Self::body_limit`] (`413`) and bad input on the harness's
    /// `/internal/` routes (`400`).
    pub error: fn(status: u16, message: &str) -> Response,
    /// Extra headers for one webhook delivery attempt (e.g. a transmission id and retry
    /// count); `Content-Type` is set by the harness.
    pub webhook_headers: fn(&AttemptInfo<'_>) -> Vec<(String, String)>,
    /// The waits between a failed webhook attempt and each retry, unless configured.
    pub retry_schedule: &'static [Duration],
    /// How long an `Idempotency-Key` is kept, in seconds of the fake's clock (`None`: for
    /// the fake's lifetime).
    pub idempotency_lifetime_secs: Option<i64>,
    /// The largest request body read when requests are recorded.
    pub body_limit: usize,
}

impl Vendor {
    /// Defaults for every field: name `fake`, every path faulted, a plain-text error, no
    /// extra webhook headers, retries after 1 s, 5 s and 30 s, keys kept for the fake's
    /// lifetime, 2 MiB bodies.
    pub const DEFAULT: Vendor = Vendor {
        name: "fake",
        faulted: |_| true,
        error: plain_error,
        webhook_headers: |_| Vec::new(),
        retry_schedule: &[
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_secs(30),
        ],
        idempotency_lifetime_secs: None,
        body_limit: 2 * 1024 * 1024,
    };
}

fn plain_error(status: u16, message: &str) -> Response {
    use axum::response::IntoResponse as _;
    let status =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, message.to_owned()).into_response()
}

/// Which observable behaviour a fake reproduces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Compat {
    /// The real API's behaviour (the default).
    #[default]
    Real,
    /// The behaviour of samchon's fake servers (`fake-toss-payments-server`,
    /// `fake-iamport-server`) where it differs, so their users' suites pass unchanged;
    /// each fake's README lists the differences.
    Samchon,
}

/// The settings every fake shares, set through its builder (see
/// [`crate::builder_methods!`]) or the binary's common flags ([`crate::cli::CommonArgs`]).
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) host: IpAddr,
    pub(crate) port: u16,
    pub(crate) latency: Duration,
    pub(crate) record_requests: bool,
    pub(crate) now: Option<DateTime<Utc>>,
    pub(crate) freeze_clock: bool,
    pub(crate) webhook_url: Option<String>,
    pub(crate) webhook_retry_schedule: Option<Vec<Duration>>,
    pub(crate) webhook_timeout: Duration,
    pub(crate) compat: Compat,
    pub(crate) capacity: Option<usize>,
    pub(crate) record_ttl: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            latency: Duration::ZERO,
            record_requests: true,
            now: None,
            freeze_clock: false,
            webhook_url: None,
            webhook_retry_schedule: None,
            webhook_timeout: Duration::from_secs(10),
            compat: Compat::Real,
            capacity: None,
            record_ttl: None,
        }
    }
}

impl Config {
    /// The address to bind (default `127.0.0.1`).
    #[must_use]
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port to bind (default 0: any free port). For binaries; tests keep 0.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Latency added before every faulted (API) answer (default none).
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Whether to keep the `received_requests` log (default `true`; off saves a copy of
    /// every request).
    #[must_use]
    pub fn record_requests(mut self, record: bool) -> Self {
        self.record_requests = record;
        self
    }

    /// Starts the fake's clock at `now` instead of the wall-clock time.
    #[must_use]
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Freezes the clock (default: it ticks): time then moves only by `advance`/`set_now`.
    #[must_use]
    pub fn freeze_clock(mut self, frozen: bool) -> Self {
        self.freeze_clock = frozen;
        self
    }

    /// Where webhooks are POSTed (default: nowhere; events are logged as `NoUrl`).
    #[must_use]
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// The waits between a failed webhook attempt and each retry; its length is the number
    /// of retries (default: the vendor's schedule).
    #[must_use]
    pub fn webhook_retry_schedule(mut self, schedule: Vec<Duration>) -> Self {
        self.webhook_retry_schedule = Some(schedule);
        self
    }

    /// How long one webhook attempt may take before it counts as failed (default 10 s).
    #[must_use]
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhook_timeout = timeout;
        self
    }

    /// Which behaviour to reproduce (default [`Compat::Real`]).
    #[must_use]
    pub fn compat(mut self, compat: Compat) -> Self {
        self.compat = compat;
        self
    }

    /// Keeps at most `records` payments (with what hangs off them), forgetting the oldest
    /// first (default: unbounded; 0 acts as 1). Enforced by each fake through
    /// [`crate::Retention`].
    #[must_use]
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = Some(records);
        self
    }

    /// Forgets a payment once it is older than `ttl` by the fake's clock (default: never).
    /// Enforced by each fake through [`crate::Retention`].
    #[must_use]
    pub fn record_ttl(mut self, ttl: Duration) -> Self {
        self.record_ttl = Some(ttl);
        self
    }

    /// The configured compatibility mode.
    pub fn compat_mode(&self) -> Compat {
        self.compat
    }

    /// The configured record capacity, if any.
    pub fn capacity_limit(&self) -> Option<usize> {
        self.capacity
    }

    /// The configured record lifetime, if any.
    pub fn record_lifetime(&self) -> Option<Duration> {
        self.record_ttl
    }
}

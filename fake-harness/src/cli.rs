//! [`CommonArgs`]: the command-line flags every fake's binary shares (flatten them into
//! the binary's own `clap` parser and [`CommonArgs::apply`] them to its builder's config).

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{Compat, Config};

/// Flags shared by every fake binary.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Where to POST webhooks.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Latency added to every API answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Webhook retry waits in milliseconds, comma-separated (default: the vendor's schedule).
    #[arg(long, value_delimiter = ',')]
    pub webhook_retry_ms: Option<Vec<u64>>,
    /// Do not keep a log of received requests (saves memory and CPU in long runs).
    #[arg(long)]
    pub no_record_requests: bool,
    /// Start the clock at this RFC 3339 time.
    #[arg(long)]
    pub now: Option<DateTime<Utc>>,
    /// Freeze the clock (it then moves only through `/internal/clock`).
    #[arg(long)]
    pub freeze_clock: bool,
    /// Reproduce another fake's behaviour where it differs from the real API.
    #[arg(long, value_enum, default_value = "real")]
    pub compat: Compat,
    /// Keep at most this many payments, forgetting the oldest first.
    #[arg(long)]
    pub capacity: Option<usize>,
    /// Forget payments older than this many seconds by the fake clock.
    #[arg(long)]
    pub record_ttl_secs: Option<u64>,
}

impl CommonArgs {
    /// `config` with these flags applied (the port is the binary's own flag).
    pub fn apply(&self, mut config: Config) -> Config {
        config = config
            .host(self.host)
            .latency(Duration::from_millis(self.latency_ms))
            .record_requests(!self.no_record_requests)
            .freeze_clock(self.freeze_clock)
            .compat(self.compat);
        if let Some(url) = &self.webhook_url {
            config = config.webhook_url(url.clone());
        }
        if let Some(ms) = &self.webhook_retry_ms {
            config = config
                .webhook_retry_schedule(ms.iter().copied().map(Duration::from_millis).collect());
        }
        if let Some(now) = self.now {
            config = config.now(now);
        }
        if let Some(n) = self.capacity {
            config = config.capacity(n);
        }
        if let Some(secs) = self.record_ttl_secs {
            config = config.record_ttl(Duration::from_secs(secs));
        }
        config
    }
}

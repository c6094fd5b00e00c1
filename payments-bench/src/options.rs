//! [`Options`]: the command line (`clap`), and the [`Scenario`] names it accepts.

use clap::{Parser, ValueEnum};
use serde::Serialize;
use std::time::Duration;

/// One scenario of the issue; each produces one or more table rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// A bare axum handler behind the same SDK/reqwest stack: the ceiling.
    Baseline,
    /// `histories().at` on preloaded records.
    HistoryRead,
    /// A Toss card payment on the fake, then registered with the server.
    HistoryCreate,
    /// Virtual-account deposits -> PG webhook -> verified update -> delivery.
    Webhook,
    /// Billing-key charges through `POST /payments/charges`.
    Charge,
    /// Health and correct reads while every connection sends wrong passwords.
    Flood,
    /// fake-toss, fake-iamport and fake-portone lookups and start-up next to wiremock.
    FakeLookup,
    /// history-read latency at growing numbers of stored histories.
    Scale,
}

impl Scenario {
    /// Every scenario, in table order.
    pub const ALL: [Scenario; 8] = [
        Scenario::Baseline,
        Scenario::HistoryRead,
        Scenario::HistoryCreate,
        Scenario::Webhook,
        Scenario::Charge,
        Scenario::Flood,
        Scenario::FakeLookup,
        Scenario::Scale,
    ];

    /// The scenario's name as the command line and the table spell it.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::HistoryRead => "history-read",
            Scenario::HistoryCreate => "history-create",
            Scenario::Webhook => "webhook",
            Scenario::Charge => "charge",
            Scenario::Flood => "flood",
            Scenario::FakeLookup => "fake-lookup",
            Scenario::Scale => "scale",
        }
    }
}

/// The benchmark's options. Every field has a default so that a bare
/// `cargo run -p payments-bench --release` runs everything in a few minutes.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "payments-bench",
    about = "Throughput, latency and scaling of payments-server and the fake PGs"
)]
pub struct Options {
    /// Scenarios to run (default: all of them).
    #[arg(value_enum)]
    pub scenarios: Vec<Scenario>,

    /// How long each throughput row runs (`5s`, `500ms`, `1m`; a bare number is seconds).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Run each row for this many operations instead of for `--duration`.
    #[arg(long)]
    pub count: Option<u64>,

    /// Concurrent connections (workers) per row.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,

    /// Stored histories for the `scale` rows, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub scale: Vec<usize>,

    /// Histories preloaded for the `history-read` rows.
    #[arg(long, default_value_t = 1000)]
    pub preload: usize,

    /// Virtual-account deposits per second in the `webhook` row.
    #[arg(long, default_value_t = 1000)]
    pub webhook_rate: u32,

    /// Requests per second of the open-loop `history-read` row (latency at a load below
    /// saturation; the closed-loop rows measure it at saturation).
    #[arg(long, default_value_t = 5000)]
    pub read_rate: u32,

    /// Start-ups timed per server in the `fake-lookup` start rows.
    #[arg(long, default_value_t = 20)]
    pub starts: u64,

    /// Also run the history-read, history-create and webhook rows on PostgreSQL, with one
    /// instance and with two on one database: `postgres://user@host/db` (a fresh
    /// database per stack is made on that server with `psql`), or `throwaway-postgres`
    /// for a cluster started from the machine's PostgreSQL binaries.
    #[arg(long)]
    pub database: Option<String>,

    /// Print the report as JSON (for machines) instead of the table.
    #[arg(long)]
    pub json: bool,

    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl Options {
    /// The scenarios to run, in table order (all when none were named).
    pub fn selected(&self) -> Vec<Scenario> {
        if self.scenarios.is_empty() {
            return Scenario::ALL.to_vec();
        }
        let mut chosen = self.scenarios.clone();
        chosen.sort();
        chosen.dedup();
        chosen
    }
}

/// Parses `5s`, `250ms`, `2m` or a bare number of seconds.
///
/// # Errors
/// A message naming the value when it is not a positive duration in one of those forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 5s, 500ms or 1m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        other => return Err(format!("{text:?}: unknown unit {other:?} (use ms, s or m)")),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("{text:?}: a duration must be positive"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_three_units() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn the_issue_command_line_parses() {
        let options = Options::parse_from([
            "payments-bench",
            "history-read",
            "scale",
            "--duration",
            "5s",
            "--concurrency",
            "64",
            "--scale",
            "10000,100000,1000000",
            "--json",
        ]);
        assert_eq!(
            options.selected(),
            vec![Scenario::HistoryRead, Scenario::Scale]
        );
        assert_eq!(options.scale, vec![10_000, 100_000, 1_000_000]);
        assert_eq!(options.duration, Duration::from_secs(5));
        assert!(options.json);
        let all = Options::parse_from(["payments-bench"]);
        assert_eq!(all.selected(), Scenario::ALL.to_vec());
        assert_eq!((all.read_rate, all.webhook_rate), (5_000, 1_000));
    }
}

//! `payments-bench`: throughput, latency and scaling of `payments-server` and the fake
//! PGs, everything in one process, printed as one table (or JSON).
//!
//! # Modules
//! - [`options`]: the command line and the scenario names.
//! - [`measure`]: latency histograms, the closed-loop driver, the progress bar.
//! - [`harness`]: the stack under test (fakes, one server or several on one PostgreSQL,
//!   receiver) and PG checkout helpers.
//! - [`preload`]: writing many sealed histories straight into the server's SQLite file
//!   (or, on PostgreSQL, through the store's port).
//! - [`raw_http`]: the bare keep-alive HTTP/1.1 GET the fake-lookup rows load with.
//! - [`scenarios`]: one module per scenario, each returning its rows.
//! - [`report`]: the rows, the targets judged, the table and the JSON.
//! - [`error`]: why a run could not be set up.

pub mod error;
pub mod harness;
pub mod measure;
pub mod options;
pub mod preload;
pub mod raw_http;
pub mod report;
pub mod scenarios;

use error::BenchError;
use measure::{Budget, Progress};
use options::{Options, Scenario};
use report::Report;
use scenarios::Ctx;

/// Runs the selected scenarios in table order and returns the report, ratios and
/// targets filled in. Operations that fail are counted in their rows, not returned.
///
/// # Errors
/// [`BenchError::Setup`] when an option is unusable (no connections, a zero count) or
/// a stack cannot be started.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    if options.concurrency == 0 {
        return Err(BenchError::Setup("--concurrency must be at least 1".into()));
    }
    let budget = match options.count {
        Some(0) => return Err(BenchError::Setup("--count must be at least 1".into())),
        Some(count) => Budget::Count(count),
        None => Budget::For(options.duration),
    };
    let postgres = match options.database.as_deref() {
        None => None,
        Some("throwaway-postgres") => Some(
            test_postgres::TestPostgres::start()
                .map_err(|e| BenchError::Setup(format!("--database throwaway-postgres: {e}")))?,
        ),
        Some(url) if payments_server::store::postgres::is_postgres_url(url) => {
            Some(test_postgres::TestPostgres::existing(url))
        }
        Some(other) => {
            return Err(BenchError::Setup(format!(
                "--database {other:?}: give postgres://… or throwaway-postgres"
            )));
        }
    };
    let mut ctx = Ctx {
        postgres: postgres.as_ref(),
        options,
        budget,
        progress: Progress::new(!(options.quiet || options.json)),
        notes: Vec::new(),
        // Count runs are exact (tests); timed runs first load for a tenth of the row.
        warmup: match budget {
            Budget::For(duration) => (duration / 10).min(std::time::Duration::from_secs(1)),
            Budget::Count(_) => std::time::Duration::ZERO,
        },
    };
    // Other processes on this small machine (builds, tests) skew every row: say how busy
    // it was when the run began and ended.
    ctx.notes
        .push(format!("load average at start: {}", load_average()));
    let mut rows = Vec::new();
    for scenario in options.selected() {
        let mut produced = match scenario {
            Scenario::Baseline => scenarios::baseline::run(&mut ctx).await?,
            Scenario::HistoryRead => scenarios::histories::read(&mut ctx).await?,
            Scenario::HistoryCreate => scenarios::histories::create(&mut ctx).await?,
            Scenario::Webhook => scenarios::webhook::run(&mut ctx).await?,
            Scenario::Charge => scenarios::charge::run(&mut ctx).await?,
            Scenario::Flood => scenarios::flood::run(&mut ctx).await?,
            Scenario::FakeLookup => scenarios::fakes::run(&mut ctx).await?,
            Scenario::Scale => scenarios::histories::scale(&mut ctx).await?,
        };
        rows.append(&mut produced);
    }
    ctx.notes
        .push(format!("load average at end: {}", load_average()));
    let mut report = Report {
        concurrency: options.concurrency,
        budget: match budget {
            Budget::For(duration) => format!("{duration:?} per row"),
            Budget::Count(count) => format!("{count} operations per row"),
        },
        rows,
        targets: Vec::new(),
        notes: ctx.notes,
    };
    report.fill_ratios();
    report.judge();
    Ok(report)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), or `unknown` off Linux.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}

//! The scenarios, one module each; every `run` returns its table rows.
//!
//! - [`baseline`]: the ceiling, a bare axum handler behind the same SDK stack.
//! - [`histories`]: `history-read`, `history-create` and `scale`.
//! - [`webhook`]: deposit -> PG webhook -> verified update -> delivery.
//! - [`charge`]: billing-key charges through `POST /payments/charges`.
//! - [`flood`]: health and correct reads while every connection guesses passwords.
//! - [`fakes`]: the fakes' lookups and start-up next to wiremock.

pub mod baseline;
pub mod charge;
pub mod fakes;
pub mod flood;
pub mod histories;
pub mod webhook;

use crate::harness::Engine;
use crate::measure::{Budget, Progress};
use crate::options::Options;

/// What every scenario needs: the options, the per-row budget, the progress display,
/// and a place for setup notes.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The command line.
    pub options: &'a Options,
    /// How long (or how many operations) each row runs.
    pub budget: Budget,
    /// Where bars are drawn.
    pub progress: Progress,
    /// Setup facts for the report (preload times…).
    pub notes: Vec<String>,
    /// Unmeasured load before each closed-loop row.
    pub warmup: std::time::Duration,
    /// The PostgreSQL server of `--database`, when one was given.
    pub postgres: Option<&'a test_postgres::TestPostgres>,
}

impl<'a> Ctx<'a> {
    /// Connections per row.
    pub fn concurrency(&self) -> usize {
        self.options.concurrency.max(1)
    }

    /// The PostgreSQL engines the read, create and webhook rows also run on: one
    /// instance, then two on one database; none without `--database`.
    pub fn postgres_engines(&self) -> Vec<Engine<'a>> {
        self.postgres
            .map(|server| {
                [1, 2]
                    .map(|instances| Engine::Postgres { server, instances })
                    .to_vec()
            })
            .unwrap_or_default()
    }
}

/// The note on a row of two instances on one PostgreSQL (on this 2-core machine).
pub(crate) const TWO_INSTANCES: &str = "two server instances in this one process on one PostgreSQL, \
     clients spread over both; on 2 cores the ratio to one instance is coordination cost, not speed-up";

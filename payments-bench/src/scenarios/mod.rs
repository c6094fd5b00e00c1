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
}

impl Ctx<'_> {
    /// Connections per row.
    pub fn concurrency(&self) -> usize {
        self.options.concurrency.max(1)
    }
}

//! [`Faults`]: per-instance failure injection for the API routes — added latency, and the
//! next N requests answered `500`, never answered, or processed with their answer lost.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Counters and latency read on every faulted request. Counts add up.
#[derive(Debug, Default)]
pub struct Faults {
    latency_us: AtomicU64,
    fail_next: AtomicU32,
    hang_next: AtomicU32,
    lose_next: AtomicU32,
    fail_after: AtomicU32,
}

/// What a request gets from the fault counters before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Before {
    Run,
    Fail,
    Hang,
}

/// What a processed request gets from the fault counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    Answer,
    Lose,
    Fail,
}

/// The pending counts, as `PUT /internal/faults` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingFaults {
    /// Latency added before every faulted answer, in milliseconds.
    pub latency_ms: u64,
    /// Requests still to be answered `500` without being processed.
    pub fail_next: u32,
    /// Requests still to be left unanswered without being processed.
    pub hang_next: u32,
    /// Requests still to be processed with their answer lost.
    pub lose_response_next: u32,
    /// Requests still to be processed and then answered `500`.
    pub fail_next_after_acting: u32,
}

/// Takes one from a counter if it is positive; `true` when one was taken.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

impl Faults {
    /// The latency added before every faulted answer.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }

    /// Sets the latency (zero turns it off).
    pub fn set_latency(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(us, Ordering::Relaxed);
    }

    /// Adds `n` requests answered `500` without being processed.
    pub fn fail_next(&self, n: u32) {
        self.fail_next.fetch_add(n, Ordering::AcqRel);
    }

    /// Adds `n` requests never answered nor processed.
    pub fn hang_next(&self, n: u32) {
        self.hang_next.fetch_add(n, Ordering::AcqRel);
    }

    /// Adds `n` requests processed whose answer is never sent.
    pub fn lose_response_next(&self, n: u32) {
        self.lose_next.fetch_add(n, Ordering::AcqRel);
    }

    /// Adds `n` requests processed and then answered `500`.
    pub fn fail_next_after_acting(&self, n: u32) {
        self.fail_after.fetch_add(n, Ordering::AcqRel);
    }

    /// The counts still pending.
    pub fn pending(&self) -> PendingFaults {
        PendingFaults {
            latency_ms: u64::try_from(self.latency().as_millis()).unwrap_or(u64::MAX),
            fail_next: self.fail_next.load(Ordering::Acquire),
            hang_next: self.hang_next.load(Ordering::Acquire),
            lose_response_next: self.lose_next.load(Ordering::Acquire),
            fail_next_after_acting: self.fail_after.load(Ordering::Acquire),
        }
    }

    /// Hangs are used up before failures.
    pub(crate) fn take_before(&self) -> Before {
        if take(&self.hang_next) {
            Before::Hang
        } else if take(&self.fail_next) {
            Before::Fail
        } else {
            Before::Run
        }
    }

    /// Lost answers are used up before after-acting failures.
    pub(crate) fn take_after(&self) -> After {
        if take(&self.lose_next) {
            After::Lose
        } else if take(&self.fail_after) {
            After::Fail
        } else {
            After::Answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_run_down() {
        let f = Faults::default();
        f.fail_next(1);
        f.fail_next(1);
        f.hang_next(1);
        assert_eq!(f.pending().fail_next, 2);
        assert_eq!(f.take_before(), Before::Hang);
        assert_eq!(f.take_before(), Before::Fail);
        assert_eq!(f.take_before(), Before::Fail);
        assert_eq!(f.take_before(), Before::Run);
        f.lose_response_next(1);
        f.fail_next_after_acting(1);
        assert_eq!(f.take_after(), After::Lose);
        assert_eq!(f.take_after(), After::Fail);
        assert_eq!(f.take_after(), After::Answer);
    }
}

//! Per-instance failure injection for the API routes: added latency, the next N requests
//! answered `500`, never answered, or processed with their response lost.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Counters and latency read by the API middleware on every `/v1` request.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    latency_us: AtomicU64,
    fail_next: AtomicU32,
    hang_next: AtomicU32,
    lose_next: AtomicU32,
}

/// Takes one from a counter if it is positive; `true` when one was taken.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

impl Faults {
    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }
    pub(crate) fn set_latency(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(us, Ordering::Relaxed);
    }
    pub(crate) fn add_fail(&self, n: u32) {
        self.fail_next.fetch_add(n, Ordering::AcqRel);
    }
    pub(crate) fn add_hang(&self, n: u32) {
        self.hang_next.fetch_add(n, Ordering::AcqRel);
    }
    pub(crate) fn add_lose(&self, n: u32) {
        self.lose_next.fetch_add(n, Ordering::AcqRel);
    }
    pub(crate) fn take_fail(&self) -> bool {
        take(&self.fail_next)
    }
    pub(crate) fn take_hang(&self) -> bool {
        take(&self.hang_next)
    }
    pub(crate) fn take_lose(&self) -> bool {
        take(&self.lose_next)
    }
    /// Current pending counts `(fail, hang, lose)`.
    pub(crate) fn pending(&self) -> (u32, u32, u32) {
        (
            self.fail_next.load(Ordering::Acquire),
            self.hang_next.load(Ordering::Acquire),
            self.lose_next.load(Ordering::Acquire),
        )
    }
}

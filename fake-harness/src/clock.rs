//! [`Clock`]: the fake's injectable time — wall time plus an offset, or frozen.
//!
//! Everything time-based in a fake (due dates, token and OTP lifetimes, idempotency-key
//! lifetime, timestamps in bodies) reads this clock, so tests drive expiry with
//! [`crate::Harness::advance`] instead of sleeping.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::lock;

/// Where "now" comes from.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Wall time plus an offset in milliseconds (may be negative).
    Ticking { offset_ms: i64 },
    /// A fixed instant that only `advance` / `set_now` move.
    Frozen(DateTime<Utc>),
}

/// The fake's clock. Cheap to read; shared by the server thread and the test's handle.
#[derive(Debug)]
pub struct Clock {
    mode: Mutex<Mode>,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            mode: Mutex::new(Mode::Ticking { offset_ms: 0 }),
        }
    }
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Clock {
    /// A clock starting at `now` (wall time when `None`), ticking unless `frozen`.
    pub fn new(now: Option<DateTime<Utc>>, frozen: bool) -> Self {
        let mode = match (now, frozen) {
            (at, true) => Mode::Frozen(at.unwrap_or_else(Utc::now)),
            (Some(at), false) => Mode::Ticking {
                offset_ms: (at - Utc::now()).num_milliseconds(),
            },
            (None, false) => Mode::Ticking { offset_ms: 0 },
        };
        Self {
            mode: Mutex::new(mode),
        }
    }

    /// The fake's current time.
    pub fn now(&self) -> DateTime<Utc> {
        match *lock(&self.mode) {
            Mode::Ticking { offset_ms } => Utc::now() + chrono::Duration::milliseconds(offset_ms),
            Mode::Frozen(at) => at,
        }
    }

    /// Moves the time forward by `by` (frozen or not).
    pub fn advance(&self, by: Duration) {
        let mut mode = lock(&self.mode);
        *mode = match *mode {
            Mode::Ticking { offset_ms } => Mode::Ticking {
                offset_ms: offset_ms.saturating_add(chrono_of(by).num_milliseconds()),
            },
            Mode::Frozen(at) => Mode::Frozen(at.checked_add_signed(chrono_of(by)).unwrap_or(at)),
        };
    }

    /// Makes the current time `at`; a ticking clock keeps ticking from there, a frozen one
    /// stays at `at`.
    pub fn set_now(&self, at: DateTime<Utc>) {
        let mut mode = lock(&self.mode);
        *mode = match *mode {
            Mode::Ticking { .. } => Mode::Ticking {
                offset_ms: (at - Utc::now()).num_milliseconds(),
            },
            Mode::Frozen(_) => Mode::Frozen(at),
        };
    }

    /// Freezes the clock at its current time (`true`) or lets it tick from there (`false`).
    pub fn set_frozen(&self, frozen: bool) {
        let now = self.now();
        *lock(&self.mode) = if frozen {
            Mode::Frozen(now)
        } else {
            Mode::Ticking {
                offset_ms: (now - Utc::now()).num_milliseconds(),
            }
        };
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        matches!(*lock(&self.mode), Mode::Frozen(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let t0 = DateTime::from_timestamp(1_000, 0).unwrap();
        let c = Clock::new(Some(t0), true);
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_secs(61));
        assert_eq!(c.now().timestamp(), 1_061);
        c.set_now(DateTime::from_timestamp(5, 0).unwrap());
        assert_eq!(c.now().timestamp(), 5);
    }

    #[test]
    fn ticking_clock_applies_offset() {
        let c = Clock::default();
        let before = c.now();
        c.advance(Duration::from_secs(3_600));
        assert!(c.now() >= before + chrono::Duration::seconds(3_600));
        let past = DateTime::from_timestamp(1_600_000_000, 0).unwrap();
        c.set_now(past);
        assert!((c.now() - past).num_seconds().abs() < 5);
        assert!(!c.is_frozen());
    }
}

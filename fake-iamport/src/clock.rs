//! The injectable clock every time-based rule reads (token expiry, virtual-account
//! due dates, OTP lifetime, card expiry), so tests move time instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from: the system clock shifted by an offset, or a pinned instant.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// System time plus `offset` seconds (what `advance` grows).
    Real { offset: i64 },
    /// A fixed Unix time in seconds that only `advance`/`set_now` change.
    Fixed(i64),
}

/// Unix-seconds clock shared by the server and the test handle.
#[derive(Debug)]
pub(crate) struct Clock {
    mode: Mutex<Mode>,
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Clock {
    /// A clock following system time, or pinned at `fixed` when given.
    pub(crate) fn new(fixed: Option<i64>) -> Self {
        let mode = match fixed {
            Some(t) => Mode::Fixed(t),
            None => Mode::Real { offset: 0 },
        };
        Self {
            mode: Mutex::new(mode),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        // A poisoned clock still holds a valid Copy value: keep using it.
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Current Unix time in seconds.
    pub(crate) fn now(&self) -> i64 {
        match *self.lock() {
            Mode::Real { offset } => system_now().saturating_add(offset),
            Mode::Fixed(t) => t,
        }
    }

    /// Moves time forward by whole seconds of `by`.
    pub(crate) fn advance(&self, by: Duration) {
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::Real { offset } => Mode::Real {
                offset: offset.saturating_add(secs(by)),
            },
            Mode::Fixed(t) => Mode::Fixed(t.saturating_add(secs(by))),
        };
    }

    /// Pins time at `unix_secs` (it then moves only through `advance`/`set_now`).
    pub(crate) fn set_now(&self, unix_secs: i64) {
        *self.lock() = Mode::Fixed(unix_secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = Clock::new(Some(1_000));
        assert_eq!(c.now(), 1_000);
        c.advance(Duration::from_secs(61));
        assert_eq!(c.now(), 1_061);
        c.set_now(5);
        assert_eq!(c.now(), 5);
    }

    #[test]
    fn real_clock_applies_offset() {
        let c = Clock::new(None);
        let before = c.now();
        c.advance(Duration::from_secs(3_600));
        assert!(c.now() >= before + 3_600);
    }
}

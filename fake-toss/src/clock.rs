//! The fake's injectable clock: wall time plus an offset a test moves at will.
//!
//! Everything time-based in the fake (virtual-account due dates, the 30-minute window of an
//! unconfirmed payment, idempotency-key lifetime, timestamps in bodies) reads this clock, so
//! tests drive expiry with [`crate::FakeToss::advance`] instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

/// Wall-clock time shifted by an adjustable offset (milliseconds, may be negative).
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// The fake's current time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the fake's time forward by `by`.
    pub(crate) fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Makes the fake's current time `at` (it keeps ticking from there).
    pub(crate) fn set_now(&self, at: DateTime<Utc>) {
        let offset = (at - Utc::now()).num_milliseconds();
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

/// Korea Standard Time, the offset Toss writes its timestamps in.
pub(crate) fn kst() -> FixedOffset {
    // A constant in range, so this never fails.
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid UTC offset")
}

/// Formats a time the way Toss does: RFC 3339, seconds precision, `+09:00`.
pub(crate) fn toss_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Formats the calendar date of `at` in Korea (`YYYY-MM-DD`).
pub(crate) fn toss_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst()).format("%Y-%m-%d").to_string()
}

//! Toss's time formats (the fake's clock itself is the harness's).

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

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

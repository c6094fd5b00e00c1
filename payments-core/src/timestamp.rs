//! The wire's timestamps: RFC 3339 in UTC with exactly three fraction digits
//! (`2026-11-21T03:04:05.678Z`), as `chrono::DateTime<Utc>` in code.
//!
//! Use with `#[serde(with = "payments_core::timestamp")]` or, for optional fields,
//! `#[serde(with = "payments_core::timestamp::option")]`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// A point in time as the wire carries it.
pub type Timestamp = DateTime<Utc>;

/// Formats a timestamp the wire's way.
pub fn format(at: &Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses any RFC 3339 timestamp into UTC.
///
/// # Errors
/// Returns the parser's error when `text` is not RFC 3339.
pub fn parse(text: &str) -> Result<Timestamp, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc))
}

/// Serializes a timestamp the wire's way.
///
/// # Errors
/// Only the serializer's own errors.
pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(at))
}

/// Deserializes an RFC 3339 timestamp.
///
/// # Errors
/// When the value is not an RFC 3339 string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// The same for `Option<Timestamp>` (`null` when absent).
pub mod option {
    use super::{Timestamp, format, parse};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some` the wire's way and `None` as `null`.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_str(&format(at)),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes `null` or an RFC 3339 string.
    ///
    /// # Errors
    /// When the value is neither `null` nor an RFC 3339 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => parse(&text).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_with_millis_and_z() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 3, 4, 5).unwrap()
            + chrono::Duration::milliseconds(678);
        assert_eq!(format(&at), "2026-11-21T03:04:05.678Z");
        let whole = Utc.timestamp_opt(0, 0).unwrap();
        assert_eq!(format(&whole), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_offsets_into_utc() {
        let at = parse("2026-11-21T12:04:05.678+09:00").unwrap();
        assert_eq!(format(&at), "2026-11-21T03:04:05.678Z");
    }
}

//! Identifiers and timestamps in the shapes PortOne uses.

use chrono::{DateTime, SecondsFormat, Utc};

/// A fresh identifier: `prefix` followed by a random UUID (v4).
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4())
}

/// A time as PortOne writes it: RFC 3339 in UTC with milliseconds (`2024-01-01T00:00:00.000Z`).
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

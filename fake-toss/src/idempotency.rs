//! Toss's `Idempotency-Key` rules on top of the harness's cache
//! ([`fake_harness::idempotency`]).
//!
//! As the real API: a key is scoped to (secret key, method, path) and lives 15 days (on the
//! fake clock). The same key with the same JSON body replays the first response, status and
//! body, without running the request again. The fake adds what the real API leaves open:
//! - the same key with a different body is `422 INVALID_IDEMPOTENCY_KEY`;
//! - the same key while the first request is still being processed is
//!   `409 IDEMPOTENT_REQUEST_PROCESSING`;
//! - a key longer than 300 characters is `400 INVALID_REQUEST`.
//!
//! Every answer the handler produced (2xx and 4xx) is replayed. Injected faults (`500`s,
//! hangs) happen before this layer, so a request that failed that way runs afresh on retry.

use bytes::Bytes;
use fake_harness::idempotency::Conflict;
use serde_json::Value;

use crate::error::TossError;

/// The longest key the real API accepts.
pub(crate) const MAX_KEY_LEN: usize = 300;

/// The cache key of a request: the Toss scope of an `Idempotency-Key`.
pub(crate) fn scope(secret_key: &str, method: &str, path: &str, key: &str) -> String {
    format!("{secret_key}\u{0}{method}\u{0}{path}\u{0}{key}")
}

/// What identifies "the same body": canonical JSON when it parses (key order and
/// whitespace do not matter), else the raw bytes.
pub(crate) fn fingerprint(body: &Bytes) -> Vec<u8> {
    if body.is_empty() {
        return b"j:null".to_vec();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => [
            b"j:".as_slice(),
            &serde_json::to_vec(&v).unwrap_or_default(),
        ]
        .concat(),
        Err(_) => [b"r:".as_slice(), body].concat(),
    }
}

/// The Toss answer for a refused reuse of `key`.
pub(crate) fn conflict(c: &Conflict, key: &str) -> TossError {
    match c {
        Conflict::DifferentRequest => TossError::new(
            422,
            "INVALID_IDEMPOTENCY_KEY",
            format!("Idempotency-Key `{key}` was already used with a different request body"),
        ),
        Conflict::InFlight => TossError::new(
            409,
            "IDEMPOTENT_REQUEST_PROCESSING",
            "이전 멱등 요청이 처리 중입니다. (the first request with this Idempotency-Key is still being processed)",
        ),
    }
}

//! `Idempotency-Key` handling for POSTs.
//!
//! As the real API: a key is scoped to (secret key, method, path) and lives 15 days (on the
//! fake clock). The same key with the same JSON body replays the first response, status and
//! body, without running the request again. The fake adds what the issue asks for:
//! - the same key with a different body is `422 INVALID_IDEMPOTENCY_KEY`;
//! - the same key while the first request is still being processed is
//!   `409 IDEMPOTENT_REQUEST_PROCESSING`;
//! - a key longer than 300 characters is `400 INVALID_REQUEST`.
//!
//! Every answer the handler produced (2xx and 4xx) is replayed. Injected faults (`500`s,
//! hangs) happen before this layer, so a request that failed that way runs afresh on retry.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::TossError;
use crate::lock;

/// The longest key the real API accepts.
pub(crate) const MAX_KEY_LEN: usize = 300;
/// How long a key is remembered.
const LIFETIME_DAYS: i64 = 15;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Scope {
    pub secret_key: String,
    pub method: String,
    pub path: String,
    pub key: String,
}

#[derive(Debug, Clone)]
enum State {
    InFlight,
    Done { status: u16, body: Bytes },
}

#[derive(Debug, Clone)]
struct Entry {
    fingerprint: Fingerprint,
    created: DateTime<Utc>,
    state: State,
}

/// What identifies "the same body": parsed JSON when it parses, else the raw bytes.
#[derive(Debug, Clone, PartialEq)]
enum Fingerprint {
    Json(Value),
    Raw(Bytes),
}

impl Fingerprint {
    fn of(body: &Bytes) -> Self {
        if body.is_empty() {
            return Self::Json(Value::Null);
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => Self::Json(v),
            Err(_) => Self::Raw(body.clone()),
        }
    }
}

/// What the middleware must do with a request that carries a key.
#[derive(Debug)]
pub(crate) enum Begin {
    /// First use: run the request, then call [`Idempotency::finish`].
    Run,
    /// Answer with this stored response.
    Replay { status: u16, body: Bytes },
}

/// Stored keys and their outcomes.
#[derive(Debug, Default)]
pub(crate) struct Idempotency {
    entries: Mutex<HashMap<Scope, Entry>>,
}

impl Idempotency {
    /// Registers a request under `scope`.
    ///
    /// # Errors
    /// `422 INVALID_IDEMPOTENCY_KEY` for a different body under a used key, `409
    /// IDEMPOTENT_REQUEST_PROCESSING` while the first request is still running.
    pub(crate) fn begin(
        &self,
        scope: &Scope,
        body: &Bytes,
        now: DateTime<Utc>,
    ) -> Result<Begin, TossError> {
        let fingerprint = Fingerprint::of(body);
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(scope) {
            let expired = now - entry.created > chrono::Duration::days(LIFETIME_DAYS);
            if !expired {
                if entry.fingerprint != fingerprint {
                    return Err(TossError::new(
                        422,
                        "INVALID_IDEMPOTENCY_KEY",
                        format!(
                            "Idempotency-Key `{}` was already used with a different request body",
                            scope.key
                        ),
                    ));
                }
                return match &entry.state {
                    State::InFlight => Err(TossError::new(
                        409,
                        "IDEMPOTENT_REQUEST_PROCESSING",
                        "이전 멱등 요청이 처리 중입니다. (the first request with this Idempotency-Key is still being processed)",
                    )),
                    State::Done { status, body } => Ok(Begin::Replay {
                        status: *status,
                        body: body.clone(),
                    }),
                };
            }
        }
        entries.insert(
            scope.clone(),
            Entry {
                fingerprint,
                created: now,
                state: State::InFlight,
            },
        );
        Ok(Begin::Run)
    }

    /// Stores the response of a request that [`Self::begin`] let run.
    pub(crate) fn finish(&self, scope: &Scope, status: u16, body: Bytes) {
        if let Some(entry) = lock(&self.entries).get_mut(scope) {
            entry.state = State::Done { status, body };
        }
    }

    /// Forgets a request that never finished (its client went away mid-flight), so a
    /// retry runs instead of being told it is still processing.
    pub(crate) fn abandon(&self, scope: &Scope) {
        let mut entries = lock(&self.entries);
        if matches!(
            entries.get(scope),
            Some(Entry {
                state: State::InFlight,
                ..
            })
        ) {
            entries.remove(scope);
        }
    }
}

//! [`Idempotency`]: the `Idempotency-Key` cache — one stored answer per key, replayed for
//! the same request, refused for a different one or while the first is still running.
//!
//! The vendor decides what a key is scoped to (it builds `key`, e.g. secret + method +
//! path + header value), what "the same request" means (it passes a `fingerprint`,
//! e.g. the canonical JSON of the body), which answers are kept ([`Idempotency::finish`]
//! or [`Idempotency::abandon`]) and how a [`Conflict`] is worded on the wire.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::lock;

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body bytes.
    pub body: Bytes,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First use: run the request, then [`Idempotency::finish`] (or `abandon`).
    Run,
    /// Answer with this kept answer; do not run the request.
    Replay(StoredAnswer),
}

/// Why a request with a used key may not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The key was used for a different request (fingerprints differ).
    #[error("the key was already used for a different request")]
    DifferentRequest,
    /// The first request with this key is still running.
    #[error("the first request with this key is still being processed")]
    InFlight,
}

#[derive(Debug, Clone)]
struct Entry {
    fingerprint: Vec<u8>,
    created: DateTime<Utc>,
    answer: Option<StoredAnswer>,
}

/// Kept answers by key, each living `lifetime` on the fake's clock (forever when `None`).
#[derive(Debug, Default)]
pub struct Idempotency {
    entries: Mutex<HashMap<String, Entry>>,
    lifetime: Option<chrono::Duration>,
}

impl Idempotency {
    /// An empty cache whose keys expire `lifetime` after first use (`None`: never).
    pub fn new(lifetime: Option<chrono::Duration>) -> Self {
        Self {
            entries: Mutex::default(),
            lifetime,
        }
    }

    /// Registers a request under `key` at `now`.
    ///
    /// # Errors
    /// [`Conflict::DifferentRequest`] when the key is live with another fingerprint,
    /// [`Conflict::InFlight`] while the first request with it has not finished.
    pub fn begin(
        &self,
        key: &str,
        fingerprint: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Begin, Conflict> {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(key) {
            let expired = self.lifetime.is_some_and(|l| now - entry.created > l);
            if !expired {
                if entry.fingerprint != fingerprint {
                    return Err(Conflict::DifferentRequest);
                }
                return match &entry.answer {
                    None => Err(Conflict::InFlight),
                    Some(a) => Ok(Begin::Replay(a.clone())),
                };
            }
        }
        entries.insert(
            key.to_owned(),
            Entry {
                fingerprint: fingerprint.to_vec(),
                created: now,
                answer: None,
            },
        );
        Ok(Begin::Run)
    }

    /// Keeps the answer of a request that [`Self::begin`] let run.
    pub fn finish(&self, key: &str, status: u16, body: Bytes) {
        if let Some(entry) = lock(&self.entries).get_mut(key) {
            entry.answer = Some(StoredAnswer { status, body });
        }
    }

    /// Forgets a request that [`Self::begin`] let run without keeping its answer (it
    /// failed on input, or its client went away), so a retry with the key runs afresh.
    pub fn abandon(&self, key: &str) {
        let mut entries = lock(&self.entries);
        if entries.get(key).is_some_and(|e| e.answer.is_none()) {
            entries.remove(key);
        }
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_refuses_and_expires() {
        let t0 = Utc::now();
        let idem = Idempotency::new(Some(chrono::Duration::days(1)));
        assert_eq!(idem.begin("k", b"a", t0), Ok(Begin::Run));
        assert_eq!(idem.begin("k", b"a", t0), Err(Conflict::InFlight));
        idem.finish("k", 201, Bytes::from_static(b"{}"));
        assert_eq!(
            idem.begin("k", b"a", t0),
            Ok(Begin::Replay(StoredAnswer {
                status: 201,
                body: Bytes::from_static(b"{}")
            }))
        );
        assert_eq!(idem.begin("k", b"b", t0), Err(Conflict::DifferentRequest));
        let later = t0 + chrono::Duration::days(2);
        assert_eq!(idem.begin("k", b"b", later), Ok(Begin::Run));
        idem.abandon("k");
        assert!(idem.is_empty());
    }
}

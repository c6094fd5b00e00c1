//! The idempotency port: claimed keys and their stored answers, and
//! [`IdempotencyStore`].

use super::StoreError;
use async_trait::async_trait;

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or its earlier attempt was abandoned, or it expired): run the
    /// request.
    Proceed,
    /// The key finished before: replay this status and sealed body.
    Replay {
        /// The first response's status.
        status: u16,
        /// The first response's body, sealed at rest.
        body_sealed: String,
    },
    /// The key is being processed right now.
    InFlight,
    /// The key was used with a different request body.
    Mismatch,
}

/// The hash of a request's body that an idempotency key is bound to.
///
/// New claims store [`current`](Self::current), a keyed hash under the active data key
/// (see `DataKeys::lookup_hash` in `at_rest.rs`): request bodies hold record
/// passwords, and an unkeyed digest of one in the database could be tested against
/// guesses. A stored claim also matches any of [`accepted`](Self::accepted): the same
/// body hashed under a retired data key, or the unkeyed SHA-256 that claims made before
/// the keyed hash were stored under (those rows expire after `[idempotency] ttl_ms`, so
/// the transition ends by itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHash {
    /// Stored with a new claim.
    pub current: String,
    /// Also taken as the same request when found on a stored claim.
    pub accepted: Vec<String>,
}

impl RequestHash {
    /// A hash with nothing else accepted (tests, and bodies hashed one way only).
    pub fn new(current: impl Into<String>) -> Self {
        Self {
            current: current.into(),
            accepted: Vec::new(),
        }
    }

    /// Whether a stored claim's hash is this request's.
    pub fn matches(&self, stored: &str) -> bool {
        self.current == stored || self.accepted.iter().any(|hash| hash == stored)
    }
}

/// Where idempotency keys and their answers live.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` on `route` for the request hashed `request_hash` at `now_ms`. A claim
    /// that started before `expired_before_ms` (finished or not) has expired: it is
    /// replaced as if the key were new. An unfinished claim that started before
    /// `stale_before_ms` is taken over.
    ///
    /// # Errors
    /// Engine failures.
    async fn idempotency_begin(
        &self,
        key: &str,
        route: &str,
        request_hash: &RequestHash,
        now_ms: i64,
        stale_before_ms: i64,
        expired_before_ms: i64,
    ) -> Result<IdempotencyBegin, StoreError>;

    /// Engine failures.
    async fn idempotency_finish(
        &self,
        key: &str,
        route: &str,
        status: u16,
        body_sealed: &str,
    ) -> Result<(), StoreError>;

    /// Engine failures.
    async fn idempotency_abandon(&self, key: &str, route: &str) -> Result<(), StoreError>;

    /// Deletes at most `limit` claims that started before `expired_before_ms`; returns how
    /// many it deleted (fewer than `limit`: none are left).
    ///
    /// # Errors
    /// Engine failures.
    async fn idempotency_sweep(
        &self,
        expired_before_ms: i64,
        limit: u32,
    ) -> Result<u64, StoreError>;
}

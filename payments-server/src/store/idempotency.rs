//! The idempotency port: claimed keys and their stored answers, and
//! [`IdempotencyStore`].

use super::StoreError;
use async_trait::async_trait;

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or its earlier attempt was abandoned): run the request.
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

/// Where idempotency keys and their answers live.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Engine failures.
    async fn idempotency_begin(
        &self,
        key: &str,
        route: &str,
        request_hash: &str,
        now_ms: i64,
        stale_before_ms: i64,
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
}

//! [`Monitors`]: the server's `/monitors/…` routes and what they answer.

use crate::error::Error;
use crate::transport::{Body, Inner, Kind};
use http::Method;
use payments_core::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// `GET /monitors/performance`'s answer: `{cpu, memory, resource}`. The wire spec fixes
/// the three names but not their insides, which depend on the server's platform, so
/// they are kept as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// CPU usage.
    pub cpu: serde_json::Value,
    /// Memory usage.
    pub memory: serde_json::Value,
    /// Other resource usage (file descriptors, connections…).
    pub resource: serde_json::Value,
}

/// `GET /monitors/system`'s answer: `{version, commit, started_at, …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// The server's version.
    pub version: String,
    /// The commit it was built from, when known.
    #[serde(default)]
    pub commit: Option<String>,
    /// When the server started.
    #[serde(with = "payments_core::timestamp")]
    pub started_at: Timestamp,
    /// Every other field the server reports.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The monitor routes; get one from
/// [`PaymentsClient::monitors`](crate::PaymentsClient::monitors).
#[derive(Debug, Clone, Copy)]
pub struct Monitors<'a> {
    inner: &'a Inner,
}

impl<'a> Monitors<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `GET /monitors/health` (plain): `Ok` when the server answers `2xx`. Retried per
    /// the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// [`Error::Server`] on a non-`2xx` answer; [`Error::Transport`] or
    /// [`Error::OutcomeUnknown`] when the server cannot be reached.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// client.monitors().health().await?;
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<(), Error> {
        self.inner
            .send(
                Method::GET,
                "/monitors/health",
                Body::Plain,
                None,
                Kind::Idempotent,
            )
            .await
            .map(drop)
    }

    /// `GET /monitors/performance` (sealed answer): the server's resource usage.
    /// Retried per the [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// The variants of [`Error`]; [`Error::Response`] when the answer cannot be opened
    /// (wrong secret) or is not `{cpu, memory, resource}`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// let performance = client.monitors().performance().await?;
    /// println!("memory: {}", performance.memory);
    /// # Ok(()) }
    /// ```
    pub async fn performance(&self) -> Result<Performance, Error> {
        self.inner
            .call(
                Method::GET,
                "/monitors/performance",
                Body::Sealed,
                None,
                Kind::Idempotent,
            )
            .await
    }

    /// `GET /monitors/system` (sealed answer): version, commit and start time. Retried
    /// per the [`RetryPolicy`](crate::RetryPolicy). The server answers monitors in
    /// sealed-v2 only: a client on the compat envelope gets `415 ENVELOPE_DISABLED`.
    ///
    /// # Errors
    /// The variants of [`Error`]; [`Error::Response`] when the answer cannot be opened
    /// or lacks `version` or `started_at`.
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// let system = client.monitors().system().await?;
    /// println!("{} ({:?}) up since {}", system.version, system.commit, system.started_at);
    /// # Ok(()) }
    /// ```
    pub async fn system(&self) -> Result<SystemInfo, Error> {
        self.inner
            .call(
                Method::GET,
                "/monitors/system",
                Body::Sealed,
                None,
                Kind::Idempotent,
            )
            .await
    }
}

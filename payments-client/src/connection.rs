//! [`Connection`]: where `payments-server` is and how to talk to it. A plain builder;
//! [`PaymentsClient::new`](crate::PaymentsClient::new) checks it and reports the first
//! thing that is wrong as a [`ConfigError`].

use crate::retry::RetryPolicy;
use payments_core::clock::{Clock, SystemClock};
use payments_core::envelope::{CompatKey, Envelope, EnvelopeError, SealedV2Key};
use std::sync::Arc;
use std::time::Duration;

/// The default whole-request timeout (connect, send, wait, read).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach `payments-server`: base URL, envelope, extra headers, timeouts, retries
/// and the clock used for sealed-v2 timestamps. Its `Debug` never prints key material or
/// header values.
#[derive(Clone)]
pub struct Connection {
    pub(crate) base_url: String,
    pub(crate) envelope: Option<Envelope>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    /// The compat key error, reported by `PaymentsClient::new` so that the builder
    /// chains without a `?` on every line.
    pub(crate) pending: Option<EnvelopeError>,
}

impl Connection {
    /// A connection to the server at `base_url` (`http` or `https`; a path prefix such as
    /// `https://host/api` is kept and is part of what sealed-v2 tags bind). Choose an
    /// envelope with [`sealed_v2`](Self::sealed_v2) (the default scheme) or
    /// [`compat`](Self::compat) before building a client.
    ///
    /// ```
    /// use payments_client::Connection;
    /// let connection = Connection::new("https://payments.internal.example/api")
    ///     .sealed_v2("the shared secret");
    /// assert_eq!(connection.base_url(), "https://payments.internal.example/api");
    /// ```
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            envelope: None,
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            pending: None,
        }
    }

    /// Speaks `sealed-v2`, keyed by `secret` (the server's configured secret). Derives
    /// the keys here, once (PBKDF2, 100 000 iterations: tens of milliseconds); clones of
    /// this connection and the clients built from it reuse them.
    ///
    /// ```
    /// use payments_client::Connection;
    /// use payments_core::envelope::EnvelopeKind;
    /// let connection = Connection::new("https://payments.internal.example").sealed_v2("secret");
    /// assert_eq!(connection.envelope_kind(), Some(EnvelopeKind::SealedV2));
    /// ```
    pub fn sealed_v2(mut self, secret: &str) -> Self {
        self.envelope = Some(Envelope::SealedV2(SealedV2Key::derive(secret)));
        self
    }

    /// Speaks `compat` (the nestia scheme) with this key (16 or 32 bytes of UTF-8) and IV
    /// (16 bytes), for servers that do not speak `sealed-v2`. A key or IV of the wrong
    /// length is reported by `PaymentsClient::new`.
    ///
    /// ```
    /// use payments_client::{Connection, PaymentsClient};
    /// let connection = Connection::new("https://payments.internal.example")
    ///     .compat("0123456789abcdef0123456789abcdef", "fedcba9876543210");
    /// assert!(PaymentsClient::new(connection).is_ok());
    /// let short = Connection::new("https://payments.internal.example").compat("short", "iv");
    /// assert!(PaymentsClient::new(short).is_err());
    /// ```
    pub fn compat(mut self, key: &str, iv: &str) -> Self {
        match CompatKey::new(key, iv) {
            Ok(key) => self.envelope = Some(Envelope::Compat(key)),
            Err(e) => {
                if self.pending.is_none() {
                    self.pending = Some(e);
                }
            }
        }
        self
    }

    /// Uses an envelope built elsewhere (e.g. the one your webhook endpoint opens with),
    /// so its keys are derived only once in the process.
    ///
    /// ```
    /// use payments_client::Connection;
    /// use payments_core::envelope::{Envelope, SealedV2Key};
    /// let envelope = Envelope::SealedV2(SealedV2Key::derive("secret"));
    /// let connection = Connection::new("https://payments.internal.example").envelope(envelope.clone());
    /// # let _ = connection;
    /// ```
    pub fn envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = Some(envelope);
        self
    }

    /// Adds a header sent with every request (e.g. a gateway's API key). An invalid name
    /// or value, or a header the SDK sets itself (`Content-Type`, `Accept`,
    /// `Content-Length`, `X-Payments-Timestamp`, `Idempotency-Key`), is reported by
    /// `PaymentsClient::new`. Values are never printed.
    ///
    /// ```
    /// use payments_client::Connection;
    /// let connection = Connection::new("https://payments.internal.example")
    ///     .sealed_v2("secret")
    ///     .header("x-gateway-key", "gk_123");
    /// assert!(!format!("{connection:?}").contains("gk_123"));
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The whole-request timeout (default 30 s). When it elapses after the request was
    /// sent, the call ends with [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    ///
    /// ```
    /// use payments_client::Connection;
    /// use std::time::Duration;
    /// let connection = Connection::new("https://payments.internal.example").timeout(Duration::from_secs(10));
    /// # let _ = connection;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The connect timeout (default 5 s). A connect that times out never sent anything:
    /// it is a [`Error::Transport`](crate::Error::Transport).
    ///
    /// ```
    /// use payments_client::Connection;
    /// use std::time::Duration;
    /// let connection = Connection::new("https://payments.internal.example").connect_timeout(Duration::from_secs(1));
    /// # let _ = connection;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]); [`RetryPolicy::none`] turns
    /// retries off.
    ///
    /// ```
    /// use payments_client::{Connection, RetryPolicy};
    /// let connection = Connection::new("https://payments.internal.example").retry(RetryPolicy::none());
    /// # let _ = connection;
    /// ```
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock sealed-v2 timestamps are taken from and answers are checked against
    /// (default: the system clock). Tests inject a
    /// [`FixedClock`](payments_core::clock::FixedClock).
    ///
    /// ```
    /// use payments_client::Connection;
    /// use payments_core::clock::FixedClock;
    /// use std::sync::Arc;
    /// let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    /// let connection = Connection::new("https://payments.internal.example").clock(clock);
    /// # let _ = connection;
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The base URL as given.
    ///
    /// ```
    /// use payments_client::Connection;
    /// assert_eq!(Connection::new("http://127.0.0.1:8080").base_url(), "http://127.0.0.1:8080");
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Which envelope is configured, if any.
    ///
    /// ```
    /// use payments_client::Connection;
    /// assert_eq!(Connection::new("http://127.0.0.1:8080").envelope_kind(), None);
    /// ```
    pub fn envelope_kind(&self) -> Option<payments_core::envelope::EnvelopeKind> {
        self.envelope.as_ref().map(Envelope::kind)
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Connection")
            .field("base_url", &self.base_url)
            .field("envelope", &self.envelope_kind())
            .field("header_names", &header_names)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// What is wrong with a [`Connection`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL is not an absolute `http`/`https` URL without query or fragment.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither `sealed_v2` nor `compat` nor `envelope` was called.
    #[error(
        "no envelope configured: call Connection::sealed_v2(secret) or Connection::compat(key, iv)"
    )]
    NoEnvelope,
    /// The compat key or IV has the wrong length.
    #[error("invalid compat key or IV: {0}")]
    Compat(#[source] EnvelopeError),
    /// An extra header's name or value cannot be sent (the value is not shown).
    #[error("invalid header {name:?}: {reason}")]
    Header {
        /// The header name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The HTTP client could not be built (e.g. no TLS backend).
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secrets() {
        let connection = Connection::new("http://127.0.0.1:1")
            .compat("0123456789abcdef0123456789abcdef", "fedcba9876543210")
            .header("authorization", "Bearer top-secret");
        let debug = format!("{connection:?}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        assert!(!debug.contains("fedcba9876543210"), "{debug}");
        assert!(!debug.contains("top-secret"), "{debug}");
        assert!(debug.contains("authorization"), "{debug}");
    }
}

//! PG adapters: reqwest clients that implement [`PaymentGateway`] for each configured
//! store, and the registry the rest of the server looks them up in.

pub mod iamport;
pub mod portone;
pub mod toss;

use payments_core::records::VendorCode;
use payments_core::vendor::{GatewayError, PaymentGateway};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Builds the HTTP client every adapter shares: rustls, and a timeout on every call.
///
/// # Errors
/// When the TLS backend cannot be initialised.
pub fn http_client(
    timeout: Duration,
    connect_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .user_agent(concat!("payments-server/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The configured stores: one adapter per (vendor, store id).
#[derive(Clone, Default)]
pub struct Gateways {
    stores: HashMap<(VendorCode, String), Arc<dyn PaymentGateway>>,
}

impl Gateways {
    /// Registers the adapter serving `store_id` at `vendor`.
    pub fn insert(&mut self, vendor: VendorCode, store_id: &str, gateway: Arc<dyn PaymentGateway>) {
        self.stores.insert((vendor, store_id.to_owned()), gateway);
    }

    /// The adapter for a store, if configured.
    pub fn get(&self, vendor: VendorCode, store_id: &str) -> Option<Arc<dyn PaymentGateway>> {
        self.stores.get(&(vendor, store_id.to_owned())).cloned()
    }

    /// How many stores are configured.
    pub fn len(&self) -> usize {
        self.stores.len()
    }

    /// Whether no store is configured.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }
}

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.stores.keys()).finish()
    }
}

/// Percent-encodes an identifier for one path segment. `""`, `"."` and `".."` cannot name
/// anything at a PG (and would change the path), so they are `NotFound` without a call.
pub(crate) fn segment(value: &str, field: &'static str, pg: &str) -> Result<String, GatewayError> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(GatewayError::NotFound(format!(
            "{field} {value:?} cannot name anything at {pg}"
        )));
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

/// Classifies a reqwest failure by whether the request may have reached the PG: nothing
/// sent is `Unavailable`; sent without an answer is `OutcomeUnknown` for a write.
pub(crate) fn transport_error(error: &reqwest::Error, writes: bool, pg: &str) -> GatewayError {
    let text = describe(error);
    if error.is_connect() || error.is_builder() {
        // Nothing was sent (connection refused, DNS, TLS, bad URL): nothing happened.
        return GatewayError::Unavailable(format!("cannot reach {pg}: {text}"));
    }
    if writes {
        GatewayError::OutcomeUnknown(format!("no answer from {pg} after sending: {text}"))
    } else {
        GatewayError::Unavailable(format!("no answer from {pg}: {text}"))
    }
}

/// The error and its causes, without the URL (which may hold payment or billing keys).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The `Idempotency-Key` header; a key that cannot be a header value is refused before
/// anything is sent (rather than surfacing as a transport failure).
pub(crate) fn idempotency_header(key: &str) -> Result<reqwest::header::HeaderValue, GatewayError> {
    reqwest::header::HeaderValue::from_str(key).map_err(|_| GatewayError::Rejected {
        status: 400,
        code: "INVALID_IDEMPOTENCY_KEY".into(),
        message: "the idempotency key must be visible ASCII without line breaks".into(),
    })
}

/// Milliseconds since `started`, for logs.
pub(crate) fn elapsed_ms(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

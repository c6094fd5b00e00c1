//! PG adapters: reqwest clients that implement [`PaymentGateway`] for each configured
//! store, and the registry the rest of the server looks them up in.
//!
//! - [`toss`], [`iamport`], [`portone`]: one adapter per PG (PortOne V1 and V2).
//! - [`credentials`]: names the store and the configuration key when a PG refuses the
//!   server's credentials; every registered adapter is wrapped in it.
//! - [`check`]: one call to each configured store to see that its credentials work
//!   (`payments-server check-config`, `[vendors] check_at_start`).

pub mod check;
pub mod credentials;
pub mod iamport;
pub mod portone;
pub mod toss;

use crate::config::VendorConfig;
use iamport::IamportGateway;
use payments_core::records::VendorCode;
use payments_core::vendor::{GatewayError, PaymentGateway};
use portone::PortOneGateway;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use toss::TossGateway;

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

/// The adapters of every store in the configuration, sharing one HTTP client.
///
/// # Errors
/// When the TLS backend cannot be initialised.
pub fn configured(config: &VendorConfig) -> reqwest::Result<Gateways> {
    let http = http_client(
        Duration::from_millis(config.timeout_ms),
        Duration::from_secs(5),
    )?;
    let mut gateways = Gateways::default();
    for store in &config.toss {
        let gateway = TossGateway::new(&store.base_url, store.secret_key.clone(), http.clone());
        gateways.insert(
            VendorCode::TossPayments,
            &store.store_id,
            Arc::new(gateway),
            Some(credentials::setting("toss", &store.store_id, "secret_key")),
        );
    }
    for store in &config.iamport {
        let gateway = IamportGateway::new(
            &store.base_url,
            store.imp_key.clone(),
            store.imp_secret.clone(),
            http.clone(),
        );
        gateways.insert(
            VendorCode::Iamport,
            &store.store_id,
            Arc::new(gateway),
            Some(credentials::setting(
                "iamport",
                &store.store_id,
                "{imp_key, imp_secret}",
            )),
        );
    }
    for store in &config.portone {
        let gateway = PortOneGateway::new(
            &store.base_url,
            &store.api_secret,
            &store.portone_store_id,
            http.clone(),
        );
        gateways.insert(
            VendorCode::PortOne,
            &store.store_id,
            Arc::new(gateway),
            Some(credentials::setting(
                "portone",
                &store.store_id,
                "{api_secret, portone_store_id}",
            )),
        );
    }
    Ok(gateways)
}

/// The configured stores: one adapter per (vendor, store id).
#[derive(Clone, Default)]
pub struct Gateways {
    stores: HashMap<(VendorCode, String), Arc<dyn PaymentGateway>>,
}

impl Gateways {
    /// Registers the adapter serving `store_id` at `vendor`, whose credentials are in the
    /// configuration keys `setting` (see [`credentials::setting`]).
    pub fn insert(
        &mut self,
        vendor: VendorCode,
        store_id: &str,
        gateway: Arc<dyn PaymentGateway>,
        setting: Option<String>,
    ) {
        let named = credentials::Credentialed::new(gateway, store_id, setting);
        self.stores
            .insert((vendor, store_id.to_owned()), Arc::new(named));
    }

    /// Every configured store, for checks that visit them all.
    pub fn iter(&self) -> impl Iterator<Item = (VendorCode, &str, &Arc<dyn PaymentGateway>)> {
        self.stores
            .iter()
            .map(|((vendor, store_id), gateway)| (*vendor, store_id.as_str(), gateway))
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

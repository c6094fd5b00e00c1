//! PG adapters: reqwest clients that implement [`PaymentGateway`] for each configured
//! store, and the registry the rest of the server looks them up in.

pub mod iamport;
pub mod toss;

use payments_core::records::VendorCode;
use payments_core::vendor::PaymentGateway;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Builds the HTTP client every adapter shares: rustls, and a timeout on every call.
///
/// # Errors
/// When the TLS backend cannot be initialised.
pub fn http_client(timeout: Duration, connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
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

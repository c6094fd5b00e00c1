//! Credential checks: one read-only call to each configured store, so a wrong secret
//! shows at deploy time (`payments-server check-config`, or `[vendors] check_at_start`)
//! instead of as the first shopper's failed payment.

use super::Gateways;
use payments_core::records::VendorCode;
use payments_core::vendor::GatewayError;

/// A payment id no store holds: the PG answers "not found" to good credentials and
/// "unauthorized" to bad ones, and nothing is created either way.
const PROBE: &str = "payments-server-credential-check";

/// What one store's check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The PG accepted the credentials.
    Accepted,
    /// The PG refused them; the message names the configuration key to fix.
    Refused(String),
    /// The PG could not be asked (down, unreachable, unreadable answer).
    Unreachable(String),
}

/// One configured store and what its check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCheck {
    /// The PG.
    pub vendor: VendorCode,
    /// The store's id.
    pub store_id: String,
    /// What the PG said.
    pub outcome: CheckOutcome,
}

impl std::fmt::Display for StoreCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = format!("{} store {:?}", self.vendor, self.store_id);
        match &self.outcome {
            CheckOutcome::Accepted => write!(f, "ok          {store}: credentials accepted"),
            CheckOutcome::Refused(why) => write!(f, "REFUSED     {why}"),
            CheckOutcome::Unreachable(why) => write!(f, "UNREACHABLE {store}: {why}"),
        }
    }
}

/// Asks every store once, all at the same time, in a stable order (vendor, store id).
pub async fn check_credentials(gateways: &Gateways) -> Vec<StoreCheck> {
    let mut stores: Vec<_> = gateways.iter().collect();
    stores.sort_by_key(|(vendor, store_id, _)| (vendor.as_str(), store_id.to_owned()));
    let checks = stores
        .into_iter()
        .map(|(vendor, store_id, gateway)| async move {
            let outcome = match gateway.lookup_payment(PROBE).await {
                Ok(_) | Err(GatewayError::NotFound(_)) => CheckOutcome::Accepted,
                Err(GatewayError::Unauthorized(why)) => CheckOutcome::Refused(why),
                Err(other) => CheckOutcome::Unreachable(other.to_string()),
            };
            StoreCheck {
                vendor,
                store_id: store_id.to_owned(),
                outcome,
            }
        });
    futures::future::join_all(checks).await
}

//! PG webhooks for payments the server has no history of. Most are a race, not a fault:
//! the PG sends "paid" the moment the shopper pays, often before the merchant's backend
//! has registered the payment. So the first sighting is logged at debug, and only a
//! payment still unknown after a grace window (`[webhooks] unknown_payment_grace_ms`) is
//! a warning — one an operator should read.

use crate::store::Store;
use payments_core::records::VendorCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How many sightings are watched at once; past that a sighting is only logged at debug,
/// so a flood of webhooks naming made-up payments costs no more than this many timers.
const WATCHED: usize = 256;

/// Watches webhooks for unknown payments until their grace window ends.
#[derive(Debug, Clone)]
pub struct UnknownPayments {
    grace: Duration,
    slots: Arc<Semaphore>,
}

impl UnknownPayments {
    /// Warns about a payment still unknown `grace` after its webhook.
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            slots: Arc::new(Semaphore::new(WATCHED)),
        }
    }

    /// Records a webhook for `uid`, which no history names yet.
    pub fn seen(&self, store: Arc<dyn Store>, vendor: VendorCode, uid: &str) {
        tracing::debug!(
            vendor = %vendor,
            uid,
            "PG webhook for a payment not registered yet (it may be on its way)"
        );
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            tracing::debug!(vendor = %vendor, uid, "too many unknown payments watched; not this one");
            return;
        };
        let grace = self.grace;
        let uid = uid.to_owned();
        tokio::spawn(async move {
            let _slot = slot;
            if still_unknown(store.as_ref(), vendor, &uid, grace).await {
                tracing::warn!(
                    vendor = %vendor,
                    uid,
                    grace_ms = grace.as_millis() as u64,
                    "PG webhook for a payment still unknown after the grace window: \
                     a payment made at the PG that no caller registered"
                );
            }
        });
    }
}

/// Whether no history names `uid` once `grace` has passed. A store that fails is not
/// "unknown": that failure is logged where it happens.
async fn still_unknown(store: &dyn Store, vendor: VendorCode, uid: &str, grace: Duration) -> bool {
    tokio::time::sleep(grace).await;
    matches!(store.history_by_vendor_uid(vendor, uid).await, Ok(None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HistoryStore;
    use crate::store::SqliteStore;
    use crate::store::sqlite::fixtures::history;

    #[tokio::test]
    async fn a_payment_registered_within_the_grace_window_is_not_unknown() {
        let store = SqliteStore::in_memory().unwrap();
        let grace = Duration::from_millis(300);
        let watching = {
            let store = store.clone();
            tokio::spawn(async move {
                still_unknown(&store, VendorCode::TossPayments, "pay-1", grace).await
            })
        };
        let never = {
            let store = store.clone();
            tokio::spawn(async move {
                still_unknown(&store, VendorCode::TossPayments, "pay-2", grace).await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        store
            .insert_history(&history(1, "order-1", "pay-1"), None, &[])
            .await
            .unwrap();
        assert!(!watching.await.unwrap(), "registered in time");
        assert!(never.await.unwrap(), "never registered");
    }
}

//! PG webhooks for payments the server has no history of. Most are a race, not a fault:
//! the PG sends "paid" the moment the shopper pays, often before the merchant's backend
//! has registered the payment. So the first sighting is logged at debug and watched; a
//! payment still unknown after a grace window (`[webhooks] unknown_payment_grace_ms`) is
//! looked up at the PG and, when the PG has it, kept sealed in the store for an operator
//! ([`crate::store::UnknownPaymentStore`]) and counted on `/monitors/performance`: money
//! at the PG with no record here (a confirmation whose answer was lost and whose caller
//! never retried), whose webhook used to be the only trace of it and was dropped.
//!
//! Toss's and PortOne V1's webhooks are unsigned, so anyone can name a made-up payment:
//! only what the PG confirms is stored, a payment is watched once however many webhooks
//! name it, and at most `WATCHED` (256) are watched at once, so a flood costs at most that
//! many timers and PG lookups per grace window and stores nothing.

use crate::app::App;
use crate::store::UnknownPayment;
use payments_core::records::VendorCode;
use payments_core::vendor::GatewayError;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many payments are watched at once; past that a sighting is only logged, and the
/// PG's retry of the webhook (or a later one) gets its turn.
const WATCHED: usize = 256;

/// Watches webhooks for unknown payments until their grace window ends.
#[derive(Debug)]
pub struct UnknownPayments {
    grace: Duration,
    watched: Arc<Mutex<HashSet<(VendorCode, String)>>>,
}

impl UnknownPayments {
    /// Looks a payment up at the PG when it is still unknown `grace` after its webhook.
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            watched: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Records a webhook for `uid`, which no history names yet.
    pub fn seen(&self, app: &Arc<App>, vendor: VendorCode, uid: &str) {
        tracing::debug!(
            vendor = %vendor,
            uid,
            "PG webhook for a payment not registered yet (it may be on its way)"
        );
        let key = (vendor, uid.to_owned());
        {
            let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
            if watched.contains(&key) {
                return;
            }
            if watched.len() >= WATCHED {
                tracing::debug!(vendor = %vendor, uid, "too many unknown payments watched; not this one");
                return;
            }
            watched.insert(key.clone());
        }
        let grace = self.grace;
        let watched = self.watched.clone();
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            keep_if_unknown(&app, vendor, &key.1, grace).await;
            watched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        });
    }
}

/// Once the grace window passed: when no history names `uid` and a configured store
/// of `vendor` finds it at the PG, keeps it sealed. A store or PG that fails is logged
/// (the PG retries its webhook, which watches the payment again).
async fn keep_if_unknown(app: &App, vendor: VendorCode, uid: &str, grace: Duration) {
    match app.store.history_by_vendor_uid(vendor, uid).await {
        Ok(None) => {}
        Ok(Some(_)) => return,
        Err(error) => {
            tracing::warn!(vendor = %vendor, uid, %error, "unknown payment: the store failed; not kept");
            return;
        }
    }
    let mut stores: Vec<(String, _)> = app
        .gateways
        .iter()
        .filter(|(code, _, _)| *code == vendor)
        .map(|(_, store_id, gateway)| (store_id.to_owned(), gateway.clone()))
        .collect();
    stores.sort_by(|a, b| a.0.cmp(&b.0));
    for (store_id, gateway) in stores {
        let payment = match gateway.lookup_payment(uid).await {
            Ok(payment) => payment,
            Err(GatewayError::NotFound(_)) => continue,
            Err(error) => {
                tracing::warn!(vendor = %vendor, uid, store_id, %error, "unknown payment: the PG could not be asked; not kept");
                return;
            }
        };
        let data = crate::histories::stored_data(&payment.raw);
        let kept = UnknownPayment {
            vendor,
            store_id: store_id.clone(),
            uid: uid.to_owned(),
            order_id: payment.order_id.clone(),
            status: payment.status,
            data_sealed: app
                .data_keys
                .seal_json(&crate::at_rest::unknown_payment_context(vendor, uid), &data),
            seen_at: app.clock.now(),
        };
        match app.store.keep_unknown_payment(&kept).await {
            Ok(_) => tracing::warn!(
                vendor = %vendor,
                uid,
                store_id,
                order_id = %payment.order_id,
                status = payment.status.as_str(),
                grace_ms = grace.as_millis() as u64,
                "PG webhook for a payment still unknown after the grace window: a payment \
                 made at the PG that no caller registered; kept for an operator"
            ),
            Err(error) => {
                tracing::error!(vendor = %vendor, uid, %error, "unknown payment: not kept")
            }
        }
        return;
    }
    tracing::info!(
        vendor = %vendor,
        uid,
        "PG webhook named a payment no configured store of the PG has: ignored"
    );
}

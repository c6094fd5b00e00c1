//! The state one fake instance shares between its HTTP handlers and the test's
//! [`crate::FakeToss`] handle: the store, the accepted keys, and the harness.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use fake_harness::{Harness, Webhook, lock};

use crate::auth::Auth;
use crate::store::Store;

/// One fake instance's vendor state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub harness: Arc<Harness>,
    pub store: Mutex<Store>,
    pub auth: Auth,
}

impl Shared {
    /// Runs `f` on the store with the fake's current time, then queues the webhook events
    /// it produced — still under the lock, so events leave in the order state changed.
    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&mut Store, DateTime<Utc>) -> T) -> T {
        let now = self.harness.clock().now();
        let mut store = lock(&self.store);
        store.expire(now);
        let out = f(&mut store, now);
        for ev in store.outbox.drain(..) {
            self.harness
                .send_webhook(Webhook::json(ev.event_type, &ev.body));
        }
        out
    }
}

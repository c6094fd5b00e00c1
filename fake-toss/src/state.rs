//! The state one fake instance shares between its HTTP handlers, its webhook dispatcher and
//! the test's [`crate::FakeToss`] handle.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::auth::Auth;
use crate::clock::Clock;
use crate::faults::Faults;
use crate::idempotency::Idempotency;
use crate::lock;
use crate::recorder::RecordedRequest;
use crate::store::Store;
use crate::webhook::WebhookHub;

/// One fake instance's everything.
#[derive(Debug)]
pub(crate) struct Shared {
    pub clock: Clock,
    pub store: Mutex<Store>,
    pub hub: Arc<WebhookHub>,
    pub faults: Faults,
    pub idempotency: Idempotency,
    pub auth: Auth,
    pub record_requests: bool,
    pub requests: Mutex<Vec<RecordedRequest>>,
}

impl Shared {
    /// Runs `f` on the store with the fake's current time, then queues the webhook events
    /// it produced — still under the lock, so events leave in the order state changed.
    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&mut Store, DateTime<Utc>) -> T) -> T {
        let now = self.clock.now();
        let mut store = lock(&self.store);
        let out = f(&mut store, now);
        for ev in store.outbox.drain(..) {
            self.hub.emit(ev.event_type, ev.body);
        }
        out
    }
}

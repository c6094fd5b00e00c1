//! What the HTTP handlers and the test's handle share: the harness and the data behind
//! one lock.

use std::sync::{Arc, Mutex, MutexGuard};

use fake_harness::{Harness, lock};

use crate::state::State;

/// One fake instance's vendor state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) harness: Arc<Harness>,
    pub(crate) state: Mutex<State>,
}

impl Shared {
    /// The data, locked, with the payments past their `record_ttl` already forgotten.
    /// Every user goes through here (or [`Self::lock_state_to_read`]), so expiry is seen
    /// the same way everywhere. The holder may change anything, so the rendered lookups
    /// are dropped (see [`crate::payments::get_rendered`]).
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        let mut st = self.lock_state_to_read();
        st.forget_rendered();
        st
    }

    /// [`Self::lock_state`] for a holder that changes nothing but the rendered lookups
    /// (`GET /payments/{imp_uid}`), which it keeps.
    pub(crate) fn lock_state_to_read(&self) -> MutexGuard<'_, State> {
        let mut st = lock(&self.state);
        st.expire();
        st
    }
}

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
    /// Every reader goes through here, so expiry is seen the same way everywhere.
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        let mut st = lock(&self.state);
        st.expire();
        st
    }
}

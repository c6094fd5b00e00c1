//! What the HTTP handlers and the test's handle share: the harness and the data behind
//! one lock.

use std::sync::{Arc, Mutex};

use fake_harness::Harness;

use crate::state::State;

/// One fake instance's vendor state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) harness: Arc<Harness>,
    pub(crate) state: Mutex<State>,
}

//! What the server thread and the test's handle share: the data, the clock, the
//! failure knobs and the logs of requests and webhooks.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::clock::Clock;
use crate::state::State;
use crate::webhooks::{WebhookAttempt, WebhookFaults, WebhookSettings};

/// Locks `m`, carrying on after a panic elsewhere: every value behind these locks is
/// left consistent between statements, and a fake must keep answering.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request as the fake received it (before any failure injection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Headers in arrival order (names lower-case; non-UTF-8 values lossily decoded).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, or `None` when it is not JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An injected failure for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestFault {
    /// Answer `500`.
    Fail,
    /// Never answer.
    Hang,
}

/// Failure knobs for incoming requests.
#[derive(Debug, Default)]
pub(crate) struct RequestFaults {
    pub(crate) latency: Duration,
    /// Answer `500` without acting.
    pub(crate) fail_next: u32,
    /// Never answer, without acting.
    pub(crate) hang_next: u32,
    /// Act, then answer `500` (the answer is "lost").
    pub(crate) fail_after: u32,
    /// Act, then never answer.
    pub(crate) hang_after: u32,
}

/// Shared by the server and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Clock,
    pub(crate) faults: Mutex<RequestFaults>,
    pub(crate) webhook_faults: Mutex<WebhookFaults>,
    pub(crate) webhook_settings: Mutex<WebhookSettings>,
    pub(crate) webhook_log: Mutex<Vec<WebhookAttempt>>,
    pub(crate) requests: Mutex<Vec<ReceivedRequest>>,
}

impl Shared {
    /// The latency to add and the failure (if any) for the next API request: hangs are
    /// used up before failures.
    pub(crate) fn take_fault(&self) -> (Duration, Option<RequestFault>) {
        let mut f = lock(&self.faults);
        let fault = if f.hang_next > 0 {
            f.hang_next -= 1;
            Some(RequestFault::Hang)
        } else if f.fail_next > 0 {
            f.fail_next -= 1;
            Some(RequestFault::Fail)
        } else {
            None
        };
        (f.latency, fault)
    }

    /// The failure (if any) to apply after a request has acted: hangs first.
    pub(crate) fn take_after_fault(&self) -> Option<RequestFault> {
        let mut f = lock(&self.faults);
        if f.hang_after > 0 {
            f.hang_after -= 1;
            Some(RequestFault::Hang)
        } else if f.fail_after > 0 {
            f.fail_after -= 1;
            Some(RequestFault::Fail)
        } else {
            None
        }
    }
}

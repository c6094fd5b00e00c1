//! [`Receiver`]: a webhook endpoint for tests, on port 0 of the caller's runtime.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::lock;

/// One delivery as it arrived: the headers and the exact body bytes (what a signature
/// is computed over).
#[derive(Debug, Clone)]
pub struct Hook {
    /// The request headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
}

impl Hook {
    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "webhook body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The header `name` as text (`""` when absent or not text).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A webhook receiver at `POST /hook` that answers `500` to its first `fail_first`
/// deliveries (they are counted in `hits` but not kept) and `200` to the rest.
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    /// The deliveries answered `200`, oldest first.
    pub hooks: Arc<Mutex<Vec<Hook>>>,
    /// Every delivery attempt, failed ones included.
    pub hits: Arc<AtomicU32>,
    /// How many of the next deliveries still fail.
    pub fail_first: Arc<AtomicU32>,
}

impl Receiver {
    /// Starts on `127.0.0.1:0` on the current tokio runtime; returns it and its URL.
    ///
    /// # Panics
    /// When no local port can be bound (or outside a tokio runtime).
    pub async fn start(fail_first: u32) -> (Self, String) {
        let me = Self::default();
        me.fail_first.store(fail_first, Ordering::SeqCst);
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(me.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("webhook receiver: cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("webhook receiver: no local address: {e}"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (me, format!("http://{addr}/hook"))
    }

    /// The deliveries kept so far.
    pub fn hooks(&self) -> Vec<Hook> {
        lock(&self.hooks).clone()
    }

    /// The kept deliveries' bodies as JSON.
    ///
    /// # Panics
    /// When a body is not JSON.
    pub fn bodies(&self) -> Vec<Value> {
        self.hooks().iter().map(Hook::json).collect()
    }

    /// Polls (up to 5 s) until at least `n` deliveries were kept; returns them (fewer on
    /// timeout).
    pub async fn wait_for(&self, n: usize) -> Vec<Hook> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let hooks = self.hooks();
            if hooks.len() >= n || tokio::time::Instant::now() >= deadline {
                return hooks;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// As [`Self::wait_for`], the bodies as JSON.
    ///
    /// # Panics
    /// When a body is not JSON.
    pub async fn wait_for_bodies(&self, n: usize) -> Vec<Value> {
        self.wait_for(n).await.iter().map(Hook::json).collect()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.hits.fetch_add(1, Ordering::SeqCst);
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    lock(&r.hooks).push(Hook { headers, body });
    StatusCode::OK
}

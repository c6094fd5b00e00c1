//! [`FakeToss`] (the running fake, shut down on drop) and [`FakeTossBuilder`].
//!
//! The vendor-neutral parts — boot on a pooled thread with its own runtime, request log,
//! fault counters, webhook dispatch, clock — are `fake_harness`'s; [`FakeToss`] derefs to
//! [`fake_harness::Harness`] for those knobs, documented there once.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse as _;
use fake_harness::{AttemptInfo, Compat, Config, FakeError, Harness, Retention, Server, Vendor};
use serde_json::Value;

use crate::auth::{Auth, basic_header};
use crate::billing::AuthKeyReq;
use crate::clock::toss_time;
use crate::error::TossError;
use crate::state::Shared;
use crate::store::Store;

/// The secret key a fake accepts when none is configured.
pub const DEFAULT_SECRET_KEY: &str = "test_sk_fake";

/// The real retry schedule after a failed delivery: 7 retries, 1 min to ~68 h apart.
pub const REAL_RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(60),
    Duration::from_secs(4 * 60),
    Duration::from_secs(16 * 60),
    Duration::from_secs(64 * 60),
    Duration::from_secs(256 * 60),
    Duration::from_secs(1024 * 60),
    Duration::from_secs(4096 * 60),
];

/// What the harness needs to know about Toss.
// Fields the harness adds later take their defaults.
#[allow(clippy::needless_update)]
static VENDOR: Vendor = Vendor {
    name: "fake-toss",
    faulted: |path| path.starts_with("/v1/"),
    error: |status, message| {
        let code = match status {
            500.. => "FAILED_INTERNAL_SYSTEM_PROCESSING",
            _ => "INVALID_REQUEST",
        };
        let message = if status >= 500 {
            format!("내부 시스템 처리 작업이 실패했습니다. ({message})")
        } else {
            message.to_owned()
        };
        TossError::new(status, code, message).into_response()
    },
    webhook_headers: toss_webhook_headers,
    retry_schedule: &REAL_RETRY_SCHEDULE,
    // As the real API: an Idempotency-Key lives 15 days.
    idempotency_lifetime_secs: Some(15 * 24 * 3600),
    body_limit: 2 * 1024 * 1024,
    ..Vendor::DEFAULT
};

/// The headers Toss sends with every webhook attempt.
fn toss_webhook_headers(a: &AttemptInfo<'_>) -> Vec<(String, String)> {
    vec![
        (
            "tosspayments-webhook-transmission-time".into(),
            toss_time(a.at),
        ),
        (
            "tosspayments-webhook-transmission-id".into(),
            format!("wh_{:016x}{:08x}", a.instance, a.event_id),
        ),
        (
            "tosspayments-webhook-transmission-retried-count".into(),
            a.attempt.saturating_sub(1).to_string(),
        ),
    ]
}

/// Configures a [`FakeToss`] before it starts. Obtain with [`FakeToss::builder`]; the
/// settings every fake shares are documented in [`fake_harness::Config`].
#[derive(Debug, Clone, Default)]
pub struct FakeTossBuilder {
    harness: Config,
    secret_keys: Vec<String>,
}

impl FakeTossBuilder {
    fake_harness::builder_methods!(FakeToss);

    /// Adds an accepted secret key (call again for more). The first one added is what
    /// [`FakeToss::secret_key`] returns; without any, [`DEFAULT_SECRET_KEY`] is accepted.
    #[must_use]
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_keys.push(key.into());
        self
    }

    /// Starts the fake, reporting failure instead of panicking. Synchronous; works from
    /// any tokio flavour and from plain sync code.
    ///
    /// # Errors
    /// [`FakeError::Start`]: the bind error, or the error spawning the runtime or thread.
    pub fn try_start(self) -> Result<FakeToss, FakeError> {
        static ROUTES: OnceLock<Router> = OnceLock::new();
        let routes = ROUTES
            .get_or_init(|| crate::routes::router().with_state(()))
            .clone();
        let keys = if self.secret_keys.is_empty() {
            vec![DEFAULT_SECRET_KEY.to_owned()]
        } else {
            self.secret_keys
        };
        let server = fake_harness::start(&VENDOR, self.harness, |h| {
            let shared = Arc::new(Shared {
                harness: h.clone(),
                store: Mutex::new(Store {
                    samchon: h.config().compat_mode() == Compat::Samchon,
                    retention: Retention::new(h.config()),
                    ..Store::default()
                }),
                auth: Auth::new(keys),
            });
            let weak = Arc::downgrade(&shared);
            h.on_clock_change(move || {
                if let Some(s) = weak.upgrade() {
                    s.with_store(|st, now| st.sweep(now));
                }
            });
            (
                fake_harness::Routes::split(routes, crate::api::serve),
                shared,
            )
        })?;
        Ok(FakeToss { server })
    }
}

/// A running fake Toss Payments server. Dropping it shuts the server down.
///
/// Derefs to [`fake_harness::Harness`]: `uri()`, the clock, fault and webhook knobs and
/// logs are the same on every fake. The methods here are Toss's own.
#[derive(Debug)]
pub struct FakeToss {
    server: Server<Arc<Shared>>,
}

impl std::ops::Deref for FakeToss {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.server
    }
}

/// A refusal from the store as the one error type of the fakes' Rust API.
pub(crate) fn refused(e: TossError) -> FakeError {
    FakeError::Refused {
        fake: VENDOR.name,
        status: e.status,
        code: e.code,
        message: e.message,
    }
}

impl FakeToss {
    /// Starts a fake with default settings on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If no local port can be bound (see [`FakeTossBuilder::try_start`]).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A builder for a configured fake.
    pub fn builder() -> FakeTossBuilder {
        FakeTossBuilder::default()
    }

    pub(crate) fn shared(&self) -> &Shared {
        self.server.state()
    }

    /// The first accepted secret key.
    pub fn secret_key(&self) -> &str {
        self.shared()
            .auth
            .keys()
            .first()
            .map_or(DEFAULT_SECRET_KEY, String::as_str)
    }

    /// All accepted secret keys.
    pub fn secret_keys(&self) -> &[String] {
        self.shared().auth.keys()
    }

    /// The `Authorization` header value for [`Self::secret_key`]: `Basic base64(key + ":")`.
    pub fn authorization(&self) -> String {
        basic_header(self.secret_key())
    }

    /// The customer deposits the full amount into a virtual account: the payment becomes
    /// `DONE`, and `PAYMENT_STATUS_CHANGED` and `DEPOSIT_CALLBACK` webhooks are sent.
    /// Same as `PUT /internal/{paymentKey}/deposit`.
    ///
    /// # Errors
    /// [`FakeError::Refused`]: `404 NOT_FOUND_PAYMENT` for an unknown key; `400` when the
    /// payment is not a virtual account waiting for a deposit (`EXPIRED_VIRTUAL_ACCOUNT`,
    /// `ALREADY_PROCESSED_PAYMENT`, `INVALID_REQUEST`).
    pub async fn deposit(&self, payment_key: &str) -> Result<Value, FakeError> {
        let bytes = self
            .shared()
            .with_store(|st, now| st.deposit(payment_key, now))
            .map_err(refused)?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// The payment as `GET /v1/payments/{paymentKey}` would return it, if it exists.
    pub fn payment(&self, payment_key: &str) -> Option<Value> {
        let bytes = self
            .shared()
            .with_store(|st, now| st.get(payment_key, now))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The payment of an order, as `GET /v1/payments/orders/{orderId}` would return it.
    pub fn payment_by_order(&self, order_id: &str) -> Option<Value> {
        let bytes = self
            .shared()
            .with_store(|st, now| st.get_by_order(order_id, now))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// What the payment widget does in a browser: authenticates `card_number` for
    /// `customer_key` and returns a one-time `authKey` for
    /// `POST /v1/billing/authorizations/issue`. Same as `POST /internal/billing/auth-keys`.
    ///
    /// # Errors
    /// [`FakeError::Refused`] `400 INVALID_REQUEST` / `INVALID_CARD_NUMBER` for a malformed
    /// key or number.
    pub fn issue_auth_key(
        &self,
        customer_key: &str,
        card_number: &str,
    ) -> Result<String, FakeError> {
        let req = AuthKeyReq {
            customer_key: customer_key.to_owned(),
            card_number: card_number.to_owned(),
        };
        let v = self
            .shared()
            .with_store(|st, _| st.create_auth_key(req))
            .map_err(refused)?;
        Ok(v["authKey"].as_str().unwrap_or_default().to_owned())
    }

    /// Makes `card_number` declined with `status`, `code` and `message` on this instance
    /// (in addition to [`crate::DECLINED_CARDS`]).
    pub fn decline_card(&self, card_number: &str, status: u16, code: &str, message: &str) {
        let err = TossError::new(status, code, message);
        self.shared()
            .with_store(|st, _| st.decline(card_number.to_owned(), err));
    }

    /// Shuts the server down and waits until its thread has stopped.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

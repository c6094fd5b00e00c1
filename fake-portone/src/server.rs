//! [`FakePortOne`] (the running fake, shut down on drop) and [`FakePortOneBuilder`], on
//! the shared `fake-harness`: the harness boots the routes on a pooled thread, logs
//! requests, injects faults, sends and retries webhooks and keeps the clock; this module
//! is the glue — [`App`], the state every handler reaches, and the per-attempt Standard
//! Webhooks signature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use fake_harness::idempotency::{Begin, Conflict};
use fake_harness::{Config, FakeError, Harness, Retention, Server, Vendor, Webhook, lock};
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};

use crate::checkout::Checkout;
use crate::error::PortOneError;
use crate::identity::Person;
use crate::routes::authorization;
use crate::settings::{
    DEFAULT_API_SECRET, DEFAULT_STORE_ID, DEFAULT_WEBHOOK_SECRET, StoreSettings,
};
use crate::webhook::{self as wh, WebhookVersion};
use crate::world::{Caller, Outgoing, World};

/// PortOne's webhook retry schedule: up to 5 retries, about 1, 4, 16, 64 and 256 minutes
/// after the previous attempt.
pub const REAL_RETRY_SCHEDULE: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(4 * 60),
    Duration::from_secs(16 * 60),
    Duration::from_secs(64 * 60),
    Duration::from_secs(256 * 60),
];

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 256;

static VENDOR: Vendor = Vendor {
    name: "fake-portone",
    faulted: |path| !path.starts_with("/internal/"),
    error: vendor_error,
    retry_schedule: &REAL_RETRY_SCHEDULE,
    // Kept one day of fake time.
    idempotency_lifetime_secs: Some(24 * 3600),
    ..Vendor::DEFAULT
};

/// The harness's own answers (injected failures, oversized bodies, bad `/internal/`
/// input) in PortOne's `{type, message}` shape.
fn vendor_error(status: u16, message: &str) -> Response {
    let kind = match status {
        400 | 413 => "INVALID_REQUEST",
        _ => "INTERNAL_SERVER_ERROR",
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({ "type": kind, "message": message }).to_string();
    fake_harness::json_response(status, body)
}

/// What every handler reaches: the world behind one lock, the harness, and the signing
/// table of the webhooks sent.
#[derive(Debug, Clone)]
pub(crate) struct App(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    world: Mutex<World>,
    harness: Arc<Harness>,
    /// Harness event id → (`webhook-id`, HMAC key). Filled while the lock is held across
    /// `send_webhook`, so the attempt hook (which takes the same lock) always finds it.
    signing: Mutex<HashMap<u64, (String, Vec<u8>)>>,
    first_store: String,
}

impl App {
    fn now(&self) -> DateTime<Utc> {
        self.0.harness.clock().now()
    }

    /// Runs `f` on the world at the fake's `now`, then queues the webhooks it produced
    /// (still under the world lock, so they leave in the order of the changes). Pending
    /// schedules that fell due run first.
    fn with_world<R>(&self, f: impl FnOnce(&mut World, DateTime<Utc>) -> R) -> R {
        let now = self.now();
        let mut w = lock(&self.0.world);
        w.expire(now);
        w.set_fallback_url(self.0.harness.webhook_url());
        if w.next_due().is_some_and(|t| t <= now) {
            w.run_due_schedules(now);
        }
        let r = f(&mut w, now);
        let out = w.drain_outbox();
        self.dispatch(out);
        r
    }

    fn dispatch(&self, out: Vec<Outgoing>) {
        if out.is_empty() {
            return;
        }
        let mut table = lock(&self.0.signing);
        for o in out {
            let Ok(key) = wh::secret_key(&o.secret) else {
                continue; // checked when the store was configured
            };
            let hook = Webhook::json(o.event_type, &o.body).to(o.url);
            let event = self.0.harness.send_webhook(hook);
            table.insert(event, (o.id, key));
        }
    }

    /// Runs an authenticated API call: 200 with `f`'s JSON, or the error.
    pub(crate) fn call(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&mut World, Caller, DateTime<Utc>) -> Result<Value, PortOneError>,
    ) -> Response {
        self.call_raw(headers, |w, c, now| f(w, c, now).map(to_bytes))
    }

    /// As [`Self::call`] for an `f` that answers serialised JSON (a cached rendering).
    pub(crate) fn call_raw(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&mut World, Caller, DateTime<Utc>) -> Result<Bytes, PortOneError>,
    ) -> Response {
        let (status, body) = self.run(headers, f);
        json_bytes(status, body)
    }

    fn run(
        &self,
        headers: &HeaderMap,
        f: impl FnOnce(&mut World, Caller, DateTime<Utc>) -> Result<Bytes, PortOneError>,
    ) -> (StatusCode, Bytes) {
        let auth = authorization(headers);
        let r = self.with_world(|w, now| {
            let caller = w.authenticate(auth, now)?;
            f(w, caller, now)
        });
        match r {
            Ok(b) => (StatusCode::OK, b),
            Err(e) => (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
                to_bytes(e.body()),
            ),
        }
    }

    /// As [`Self::call`], behind `Idempotency-Key` when the request carries one: the first
    /// answer (errors included, except `401`) is kept a day of fake time and replayed for
    /// the same key, path and body; the same key with another path or body, or while the
    /// first is running, is `400 INVALID_REQUEST`.
    pub(crate) fn call_idempotent(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        bytes: &[u8],
        f: impl FnOnce(&mut World, Caller, DateTime<Utc>) -> Result<Value, PortOneError>,
    ) -> Response {
        let Some(key) = headers.get("idempotency-key") else {
            return self.call(headers, f);
        };
        let key = match key.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN => k,
            _ => {
                return PortOneError::invalid(format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
                ))
                .into_response();
            }
        };
        let scoped = format!("{}\n{key}", authorization(headers).unwrap_or_default());
        let fingerprint = [uri.path().as_bytes(), b"\n", bytes].concat();
        let idem = self.0.harness.idempotency();
        match idem.begin(&scoped, &fingerprint, self.now()) {
            Ok(Begin::Replay(a)) => json_bytes(
                StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK),
                a.body,
            ),
            Err(Conflict::DifferentRequest) => PortOneError::invalid(
                "Idempotency-Key was already used for a different request (path or body)",
            )
            .into_response(),
            Err(Conflict::InFlight) => PortOneError::invalid(
                "Idempotency-Key: the first request with this key is still being processed",
            )
            .into_response(),
            Ok(Begin::Run) => {
                let (status, body) = self.run(headers, |w, c, now| f(w, c, now).map(to_bytes));
                if status == StatusCode::UNAUTHORIZED {
                    idem.abandon(&scoped);
                } else {
                    idem.finish(&scoped, status.as_u16(), body.clone());
                }
                json_bytes(status, body)
            }
        }
    }

    /// Runs an unauthenticated call (login, token refresh).
    pub(crate) fn call_open(
        &self,
        f: impl FnOnce(&mut World, DateTime<Utc>) -> Result<Value, PortOneError>,
    ) -> Response {
        crate::routes::answer(self.with_world(f))
    }

    /// Runs a fake-only `/internal/` call on a store: the named one (it must exist) or the
    /// first.
    pub(crate) fn internal(
        &self,
        store: Option<&str>,
        f: impl FnOnce(&mut World, &str, DateTime<Utc>) -> Result<Value, PortOneError>,
    ) -> Result<Value, PortOneError> {
        let store = store.unwrap_or(&self.0.first_store).to_owned();
        self.with_world(|w, now| {
            if w.store(&store).is_none() {
                return Err(PortOneError::invalid(format!(
                    "no store {store:?} in this fake"
                )));
            }
            f(w, &store, now)
        })
    }
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    // Every answer goes out as its own buffer, never one shared with a cache: measured
    // in benches/vs_wiremock.rs, a shared `Bytes` answer made lookups several times
    // slower (0.2-0.3x wiremock's against 1.25x with a copy).
    fake_harness::json_response(status, body.to_vec())
}

fn to_bytes(v: Value) -> Bytes {
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

/// Configures a [`FakePortOne`] before it starts. Obtain with [`FakePortOne::builder`].
///
/// Besides its own methods it has the knobs every fake shares (`fake_harness`'s
/// `builder_methods!`): `host`, `port`, `latency`, `record_requests`, `now`,
/// `freeze_clock`, `webhook_url`, `webhook_retry_schedule`, `webhook_timeout`, `compat`,
/// `capacity`, `record_ttl`, `configure`, `start`, `start_blocking`.
#[derive(Debug, Default)]
pub struct FakePortOneBuilder {
    harness: Config,
    api_secret: Option<String>,
    store_id: Option<String>,
    webhook_secret: Option<String>,
    webhook_version: WebhookVersion,
    stores: Vec<StoreSettings>,
    channels: Option<Vec<String>>,
}

impl FakePortOneBuilder {
    fake_harness::builder_methods!(FakePortOne);

    /// The API secret of the first store's merchant (default [`DEFAULT_API_SECRET`]).
    #[must_use]
    pub fn api_secret(mut self, secret: impl Into<String>) -> Self {
        self.api_secret = Some(secret.into());
        self
    }

    /// The first store's id (default [`DEFAULT_STORE_ID`]).
    #[must_use]
    pub fn store_id(mut self, id: impl Into<String>) -> Self {
        self.store_id = Some(id.into());
        self
    }

    /// The first store's webhook secret, `whsec_` + base64 (default
    /// [`DEFAULT_WEBHOOK_SECRET`]).
    #[must_use]
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// The first store's webhook body version (default `2024-04-25`).
    #[must_use]
    pub fn webhook_version(mut self, version: WebhookVersion) -> Self {
        self.webhook_version = version;
        self
    }

    /// Adds a store (repeat for more); see [`StoreSettings`] for whose it is.
    #[must_use]
    pub fn store(mut self, store: StoreSettings) -> Self {
        self.stores.push(store);
        self
    }

    /// Accepts only these channel keys (the first is used when a request names none);
    /// another key is `404 CHANNEL_NOT_FOUND`. Without it any key is accepted.
    #[must_use]
    pub fn channel_keys<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.channels = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// Retries webhooks on PortOne's schedule ([`REAL_RETRY_SCHEDULE`]: 1, 4, 16, 64,
    /// 256 minutes) multiplied by `factor` (e.g. `0.001` for 60 ms, 240 ms, ...).
    #[must_use]
    pub fn webhook_retry_scale(self, factor: f64) -> Self {
        let schedule = scaled_schedule(factor);
        self.webhook_retry_schedule(schedule)
    }

    /// Starts the fake.
    ///
    /// # Errors
    /// [`FakeError::Start`] when the address cannot be bound or the server thread not
    /// started, or the stores are misconfigured (a repeated id, a webhook secret that is
    /// not `whsec_` + base64, another store with the first store's API secret).
    pub fn try_start(self) -> Result<FakePortOne, FakeError> {
        let api_secret = self
            .api_secret
            .unwrap_or_else(|| DEFAULT_API_SECRET.to_owned());
        let store_id = self.store_id.unwrap_or_else(|| DEFAULT_STORE_ID.to_owned());
        let webhook_secret = self
            .webhook_secret
            .unwrap_or_else(|| DEFAULT_WEBHOOK_SECRET.to_owned());
        let first = StoreSettings::new(&store_id)
            .webhook_secret(&webhook_secret)
            .webhook_version(self.webhook_version);
        let world = World::new(&api_secret, first, self.stores, self.channels)
            .map_err(|e| FakeError::Start {
                fake: VENDOR.name,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            })?
            .with_retention(Retention::new(&self.harness));
        let first_store = store_id.clone();
        let server = fake_harness::start(&VENDOR, self.harness, |h| {
            let app = App(Arc::new(Inner {
                world: Mutex::new(world),
                harness: h.clone(),
                signing: Mutex::new(HashMap::new()),
                first_store,
            }));
            install_hooks(h, &app);
            (
                fake_harness::Routes::split(routes(), crate::routes::serve),
                app,
            )
        })?;
        Ok(FakePortOne {
            server,
            api_secret,
            store_id,
            webhook_secret,
        })
    }
}

/// The real retry schedule times `factor`.
pub(crate) fn scaled_schedule(factor: f64) -> Vec<Duration> {
    REAL_RETRY_SCHEDULE
        .iter()
        .map(|d| Duration::from_secs_f64((d.as_secs_f64() * factor).max(0.0)))
        .collect()
}

/// The `/internal/` routes, built once per process.
fn routes() -> Router {
    static ROUTES: OnceLock<Router> = OnceLock::new();
    ROUTES
        .get_or_init(|| crate::routes::router().with_state(()))
        .clone()
}

/// Signs every webhook attempt, and runs schedules when the clock moves.
fn install_hooks(h: &Arc<Harness>, app: &App) {
    let weak: Weak<Inner> = Arc::downgrade(&app.0);
    h.on_webhook_attempt(move |a| {
        let Some(inner) = weak.upgrade() else {
            return Vec::new();
        };
        let table = lock(&inner.signing);
        let Some((id, key)) = table.get(&a.event_id) else {
            return Vec::new();
        };
        wh::headers(key, id, a.body.as_bytes())
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect()
    });
    let weak: Weak<Inner> = Arc::downgrade(&app.0);
    h.on_clock_change(move || {
        if let Some(inner) = weak.upgrade() {
            App(inner).with_world(|_, _| ());
        }
    });
}

/// A running fake PortOne V2 server. Dropping it shuts the server down.
///
/// Derefs to [`fake_harness::Harness`] for the knobs every fake shares: `uri()`, `addr()`,
/// the clock (`now`, `advance`, `set_now`, `freeze_clock`), request faults (`set_latency`,
/// `fail_next`, `hang_next`, `lose_response_next`, `fail_next_after_acting`), the request
/// log (`received_requests`), webhooks (`webhooks`, `wait_for_webhooks`,
/// `drop_next_webhooks`, `duplicate_next_webhooks`, `reorder_next_webhooks`,
/// `set_webhook_delay`, `set_webhook_url`, `clear_webhook_url`,
/// `set_webhook_retry_schedule`).
#[derive(Debug)]
pub struct FakePortOne {
    server: Server<App>,
    api_secret: String,
    store_id: String,
    webhook_secret: String,
}

impl std::ops::Deref for FakePortOne {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.server
    }
}

fn refused(e: PortOneError) -> FakeError {
    FakeError::Refused {
        fake: VENDOR.name,
        status: e.status(),
        code: e.kind.as_str().to_owned(),
        message: e.message,
    }
}

impl FakePortOne {
    /// Starts a fake with default settings on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If no local port can be bound (see [`FakePortOneBuilder::try_start`]).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A builder for a configured fake.
    pub fn builder() -> FakePortOneBuilder {
        FakePortOneBuilder::default()
    }

    /// The first store's merchant's API secret.
    pub fn api_secret(&self) -> &str {
        &self.api_secret
    }

    /// The `Authorization` header value for [`Self::api_secret`]: `PortOne <secret>`.
    pub fn authorization(&self) -> String {
        format!("PortOne {}", self.api_secret)
    }

    /// The first store's id.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The first store's webhook secret (`whsec_…`).
    pub fn webhook_secret(&self) -> &str {
        &self.webhook_secret
    }

    /// The webhook secret of any store, if it exists.
    pub fn webhook_secret_of(&self, store_id: &str) -> Option<String> {
        let w = lock(&self.server.state().0.world);
        w.store(store_id).map(|s| s.webhook_secret.clone())
    }

    fn internal(
        &self,
        store: Option<&str>,
        f: impl FnOnce(&mut World, &str, DateTime<Utc>) -> Result<Value, PortOneError>,
    ) -> Result<Value, FakeError> {
        self.server.state().internal(store, f).map_err(refused)
    }

    /// The customer completes the payment window for `payment_id` (pre-registered or
    /// new): the payment as `GET /payments/{paymentId}` returns it — `PAID`,
    /// `VIRTUAL_ACCOUNT_ISSUED` or `FAILED`. Same as
    /// `POST /internal/payments/{paymentId}/checkout`.
    ///
    /// # Errors
    /// Refused `400 INVALID_REQUEST` for bad input, `409 ALREADY_PAID`, `404
    /// CHANNEL_NOT_FOUND`.
    pub async fn checkout(&self, payment_id: &str, checkout: Checkout) -> Result<Value, FakeError> {
        let store = checkout.store_id.clone();
        self.internal(store.as_deref(), |w, s, now| {
            w.checkout(s, payment_id, checkout, now)
        })
    }

    /// The customer pays the virtual account of `payment_id` (first store) in full: the
    /// payment, now `PAID`. Same as `POST /internal/payments/{paymentId}/deposit`.
    ///
    /// # Errors
    /// Refused `404 PAYMENT_NOT_FOUND`, `409 PAYMENT_NOT_WAITING_FOR_DEPOSIT`.
    pub async fn deposit(&self, payment_id: &str) -> Result<Value, FakeError> {
        self.deposit_in(&self.store_id, payment_id).await
    }

    /// [`Self::deposit`] for a payment of `store_id`.
    ///
    /// # Errors
    /// As [`Self::deposit`].
    pub async fn deposit_in(&self, store_id: &str, payment_id: &str) -> Result<Value, FakeError> {
        self.internal(Some(store_id), |w, s, now| w.deposit(s, payment_id, now))
    }

    /// The OTP the fake "sent" for identity verification `id` (first store). Same as
    /// `GET /internal/identity-verifications/{id}/otp`.
    ///
    /// # Errors
    /// Refused `404 IDENTITY_VERIFICATION_NOT_FOUND` / `IDENTITY_VERIFICATION_NOT_SENT`.
    pub fn identity_otp(&self, id: &str) -> Result<String, FakeError> {
        let v = self.internal(None, |w, s, _| Ok(json!(w.otp(s, id)?)))?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The customer completes the identity-verification window for `id` (first store) as
    /// `person`: the verification, now `VERIFIED`. Same as
    /// `POST /internal/identity-verifications/{id}/verify`.
    ///
    /// # Errors
    /// Refused `400 INVALID_REQUEST` for a bad person, `409
    /// IDENTITY_VERIFICATION_ALREADY_VERIFIED`.
    pub async fn verify_identity(&self, id: &str, person: Person) -> Result<Value, FakeError> {
        self.internal(None, |w, s, now| w.verify_identity(s, id, person, now))
    }

    /// Declines `card_number` from now on with the PG's `pg_code` and `pg_message` (in
    /// addition to [`crate::DECLINED_CARDS`]). Same as `POST /internal/cards/declined`.
    pub fn decline_card(&self, card_number: &str, pg_code: &str, pg_message: &str) {
        let _ = self.internal(None, |w, _, _| {
            w.decline_card(card_number, pg_code, pg_message);
            Ok(Value::Null)
        });
    }

    /// The payment `payment_id` of the first store as `GET /payments/{paymentId}` returns
    /// it, if it exists.
    pub fn payment(&self, payment_id: &str) -> Option<Value> {
        self.internal(None, |w, s, _| Ok(w.payment(s, payment_id)?.render()))
            .ok()
    }

    /// Shuts the server down and waits until its thread has stopped.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

//! The handle a test holds: [`FakeIamport::start`] / [`FakeIamport::builder`] and the
//! PortOne-specific inspection and knob methods.
//!
//! The vendor-neutral parts — boot on a pooled thread with its own runtime, request log,
//! fault counters, webhook dispatch, clock — are `fake_harness`'s; [`FakeIamport`] derefs
//! to [`fake_harness::Harness`] for those knobs, documented there once.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::{Bytes, to_bytes};
use axum::extract::Request;
use axum::response::Response;
use axum::{Extension, Router};
use fake_harness::{Config, FakeError, Harness, Server, Vendor};
use http::StatusCode;
use serde_json::Value;

use crate::envelope::{ApiError, Reply, json_response};
use crate::routes;
use crate::shared::Shared;
use crate::state::State;

/// The API key used when the builder is given none.
pub const DEFAULT_IMP_KEY: &str = "imp_key_fake";
/// The API secret used when the builder is given none.
pub const DEFAULT_IMP_SECRET: &str = "imp_secret_fake";
/// Largest request body accepted (bigger is `413`).
const MAX_BODY: usize = 1024 * 1024;

/// What the harness needs to know about PortOne v1.
// Fields the harness adds later take their defaults.
#[allow(clippy::needless_update)]
static VENDOR: Vendor = Vendor {
    name: "fake-iamport",
    // Fake-only endpoints are the test's own controls: never delayed or failed.
    faulted: |path| !path.starts_with("/internal/"),
    error: |status, message| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let e = ApiError {
            status,
            code: -1,
            message: format!("fake-iamport: {message}"),
        };
        json_response(Reply::error(&e), false)
    },
    webhook_headers: |_| Vec::new(),
    retry_schedule: &[
        Duration::from_secs(1),
        Duration::from_secs(5),
        Duration::from_secs(30),
    ],
    idempotency_lifetime_secs: None,
    body_limit: MAX_BODY,
    ..Vendor::DEFAULT
};

/// A refusal as the one error type of the fakes' Rust API.
pub(crate) fn refused(e: ApiError) -> FakeError {
    FakeError::Refused {
        fake: VENDOR.name,
        status: e.status.as_u16(),
        code: e.code.to_string(),
        message: e.message,
    }
}

/// Configures a fake before it starts; every setting has a default. The settings every
/// fake shares are documented in [`fake_harness::Config`].
#[derive(Debug, Clone, Default)]
pub struct FakeIamportBuilder {
    harness: Config,
    credentials: Vec<(String, String)>,
    form_encoded: bool,
}

impl FakeIamportBuilder {
    fake_harness::builder_methods!(FakeIamport);

    /// Accepts this `(imp_key, imp_secret)` pair; call again to accept more. With none
    /// given, `imp_key_fake`/`imp_secret_fake` is accepted.
    #[must_use]
    pub fn credentials(
        mut self,
        imp_key: impl Into<String>,
        imp_secret: impl Into<String>,
    ) -> Self {
        self.credentials.push((imp_key.into(), imp_secret.into()));
        self
    }

    /// Send webhooks as `application/x-www-form-urlencoded` instead of JSON.
    #[must_use]
    pub fn webhook_form_encoded(mut self, form: bool) -> Self {
        self.form_encoded = form;
        self
    }

    /// Starts the fake, reporting failure instead of panicking. Synchronous; works from
    /// any tokio flavour and from plain sync code.
    ///
    /// # Errors
    /// [`FakeError::Start`] when the address cannot be bound or the thread not spawned.
    pub fn try_start(self) -> Result<FakeIamport, FakeError> {
        static ROUTES: OnceLock<Router> = OnceLock::new();
        let routes = ROUTES.get_or_init(|| router().with_state(())).clone();
        let mut credentials = self.credentials;
        if credentials.is_empty() {
            credentials.push((DEFAULT_IMP_KEY.into(), DEFAULT_IMP_SECRET.into()));
        }
        let first = credentials[0].clone();
        let form = self.form_encoded;
        let server = fake_harness::start(&VENDOR, self.harness, |h| {
            let shared = Arc::new(Shared {
                harness: h.clone(),
                state: Mutex::new(State::new(credentials, form, h.clone())),
            });
            (fake_harness::Routes::split(routes, serve), shared)
        })?;
        Ok(FakeIamport {
            server,
            credentials: first,
        })
    }
}

/// The `/internal/` routes, independent of any instance: the harness's knobs and
/// PortOne's own. Every other path goes to [`serve`].
fn router() -> Router {
    Router::new()
        .merge(fake_harness::internal_routes())
        .merge(crate::internal::routes())
        .fallback(unknown_internal)
}

/// An `/internal/` path no route takes: the dispatcher's own 404.
async fn unknown_internal(Extension(shared): Extension<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let e = ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: -1,
            message: format!("request body is larger than {MAX_BODY} bytes or unreadable"),
        };
        return json_response(Reply::error(&e), false);
    };
    serve(&shared, parts, bytes)
}

/// The PortOne API: one request, dispatched by [`routes::handle`].
fn serve(shared: &Arc<Shared>, parts: http::request::Parts, bytes: Bytes) -> Response {
    let mut d = routes::handle(
        shared,
        &parts.method,
        parts.uri.path(),
        &parts.headers,
        &bytes,
    );
    // samchon's fake answers business refusals 422 (the real API: 200 with code -1), so
    // its SDK throws.
    if d.reply.status == StatusCode::OK
        && d.reply.code != 0
        && shared.harness.config().compat_mode() == fake_harness::Compat::Samchon
    {
        d.reply.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    json_response(d.reply, d.replayed)
}

/// A running fake PortOne v1 server; shuts down when dropped or on [`Self::shutdown`].
///
/// Derefs to [`fake_harness::Harness`]: `uri()`, the clock, fault and webhook knobs and
/// logs are the same on every fake. The methods here are PortOne's own.
#[derive(Debug)]
pub struct FakeIamport {
    server: Server<Arc<Shared>>,
    credentials: (String, String),
}

impl std::ops::Deref for FakeIamport {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.server
    }
}

impl FakeIamport {
    /// A builder to configure credentials, webhooks, latency, the clock, the port.
    pub fn builder() -> FakeIamportBuilder {
        FakeIamportBuilder::default()
    }

    /// Starts a fake with defaults on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When no local port can be bound (see [`FakeIamportBuilder::try_start`]).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub(crate) fn shared(&self) -> &Shared {
        self.server.state()
    }

    fn unix_now(&self) -> i64 {
        self.now().timestamp()
    }

    /// The first accepted `(imp_key, imp_secret)` pair.
    pub fn credentials(&self) -> (String, String) {
        self.credentials.clone()
    }

    /// Accepts another `(imp_key, imp_secret)` pair from now on.
    pub fn add_credentials(&self, imp_key: impl Into<String>, imp_secret: impl Into<String>) {
        self.shared()
            .lock_state()
            .credentials
            .push((imp_key.into(), imp_secret.into()));
    }

    /// Issues (or returns the current) access token for the first credentials, exactly as
    /// `POST /users/getToken` would.
    pub fn access_token(&self) -> String {
        let (key, secret) = self.credentials();
        let body = crate::fields::Body::from_pairs([("imp_key", key), ("imp_secret", secret)]);
        let now = self.unix_now();
        crate::auth::get_token(&mut self.shared().lock_state(), &body, now)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Deposits the full amount into a `ready` virtual account: it becomes `paid` and its
    /// webhook is sent. Returns the payment object.
    ///
    /// # Errors
    /// [`FakeError::Refused`]: `404` for an unknown `imp_uid`; `200`-coded refusals for a
    /// payment that is not a ready virtual account or whose due date has passed.
    pub async fn deposit(&self, imp_uid: &str) -> Result<Value, FakeError> {
        let now = self.unix_now();
        crate::vbanks::deposit(&mut self.shared().lock_state(), imp_uid, now).map_err(refused)
    }

    /// The payment object `GET /payments/{imp_uid}` would return.
    pub fn payment(&self, imp_uid: &str) -> Option<Value> {
        self.shared()
            .lock_state()
            .payments
            .get(imp_uid)
            .map(crate::model::Payment::to_json)
    }

    /// The latest payment with `merchant_uid`.
    pub fn payment_by_merchant_uid(&self, merchant_uid: &str) -> Option<Value> {
        self.shared()
            .lock_state()
            .latest_by_merchant_uid(merchant_uid, None)
            .map(crate::model::Payment::to_json)
    }

    /// The OTP "sent by SMS" for a certification request (over HTTP:
    /// `GET /internal/certifications/{imp_uid}/otp`).
    pub fn otp(&self, imp_uid: &str) -> Option<String> {
        self.shared()
            .lock_state()
            .certifications
            .get(imp_uid)
            .map(|c| c.otp.clone())
    }

    /// Sends later webhooks form-encoded (`true`) or as JSON (`false`).
    pub fn set_webhook_form_encoded(&self, form: bool) {
        self.shared().lock_state().form_encoded = form;
    }

    /// Declines `card_number` (dashes allowed) at registration and charge with `message`,
    /// in addition to the built-in table.
    pub fn decline_card(&self, card_number: &str, message: impl Into<String>) {
        self.shared()
            .lock_state()
            .custom_declines
            .insert(crate::fields::digits(card_number), message.into());
    }

    /// Stops the server and waits for its thread to finish (dropping also stops it).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

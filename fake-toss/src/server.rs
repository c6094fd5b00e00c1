//! [`FakeToss`] (the running fake, shut down on drop) and [`FakeTossBuilder`].
//!
//! The server runs on its own OS thread with its own single-threaded tokio runtime, as
//! wiremock does, so it works from `#[tokio::test]` of either flavour and from plain sync
//! code. The thread, its runtime and its bound, accepting listener usually come ready-made
//! from the `pool` module, so `start` only hands over the new instance's state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::auth::{Auth, basic_header};
use crate::clock::Clock;
use crate::error::TossError;
use crate::faults::Faults;
use crate::idempotency::Idempotency;
use crate::lock;
use crate::recorder::RecordedRequest;
use crate::requests::AuthKeyReq;
use crate::state::Shared;
use crate::store::Store;
use crate::webhook::{REAL_RETRY_SCHEDULE_MINUTES, WebhookHub, WebhookRecord, WebhookSettings};

/// The secret key a fake accepts when none is configured.
pub const DEFAULT_SECRET_KEY: &str = "test_sk_fake";

/// Configures a [`FakeToss`] before it starts. Obtain with [`FakeToss::builder`].
#[derive(Debug, Clone)]
pub struct FakeTossBuilder {
    secret_keys: Vec<String>,
    webhook_url: Option<String>,
    latency: Duration,
    retry_schedule: Vec<Duration>,
    webhook_timeout: Duration,
    host: String,
    port: u16,
    now: Option<DateTime<Utc>>,
    record_requests: bool,
}

impl Default for FakeTossBuilder {
    fn default() -> Self {
        Self {
            secret_keys: Vec::new(),
            webhook_url: None,
            latency: Duration::ZERO,
            retry_schedule: REAL_RETRY_SCHEDULE_MINUTES
                .iter()
                .map(|m| Duration::from_secs(m * 60))
                .collect(),
            webhook_timeout: Duration::from_secs(10),
            host: "127.0.0.1".to_owned(),
            port: 0,
            now: None,
            record_requests: true,
        }
    }
}

impl FakeTossBuilder {
    /// Adds an accepted secret key (call again for more). The first one added is what
    /// [`FakeToss::secret_key`] returns; without any, [`DEFAULT_SECRET_KEY`] is accepted.
    #[must_use]
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_keys.push(key.into());
        self
    }

    /// Where webhooks are POSTed. Without one, events are still logged (outcome `NoUrl`).
    #[must_use]
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Latency added before every `/v1` response.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Waits between a failed webhook delivery and each retry; its length is the number of
    /// retries. Defaults to the real schedule (7 retries: 1, 4, 16, 64, 256, 1024, 4096 min).
    #[must_use]
    pub fn webhook_retry_schedule(mut self, schedule: Vec<Duration>) -> Self {
        self.retry_schedule = schedule;
        self
    }

    /// How long one webhook attempt may take before it counts as failed (default 10 s).
    #[must_use]
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhook_timeout = timeout;
        self
    }

    /// The port to bind (default 0: any free port). For the binary; tests keep 0.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The address to bind (default `127.0.0.1`).
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Starts the fake's clock at `now` instead of the wall-clock time.
    #[must_use]
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Whether to keep the [`FakeToss::received_requests`] log (default `true`).
    #[must_use]
    pub fn record_requests(mut self, record: bool) -> Self {
        self.record_requests = record;
        self
    }

    /// Starts the fake. Usable from any async context (it does not need the caller's runtime).
    ///
    /// # Panics
    /// If the address cannot be bound or the server thread cannot start; use
    /// [`Self::try_start`] to handle that.
    pub async fn start(self) -> FakeToss {
        self.start_blocking()
    }

    /// Starts the fake from synchronous code.
    ///
    /// # Panics
    /// As [`Self::start`].
    pub fn start_blocking(self) -> FakeToss {
        match self.try_start() {
            Ok(fake) => fake,
            Err(e) => panic!("fake-toss failed to start: {e}"),
        }
    }

    /// Starts the fake, reporting failure instead of panicking.
    ///
    /// # Errors
    /// The bind error, or the error spawning the runtime or its thread.
    pub fn try_start(self) -> std::io::Result<FakeToss> {
        let launcher = crate::pool::Launcher::prepare(&self.host, self.port)?;
        let addr = launcher.addr();
        let keys = if self.secret_keys.is_empty() {
            vec![DEFAULT_SECRET_KEY.to_owned()]
        } else {
            self.secret_keys
        };
        let (hub, events) = WebhookHub::new(WebhookSettings {
            url: self.webhook_url,
            schedule: self.retry_schedule,
            timeout: self.webhook_timeout,
            ..WebhookSettings::default()
        });
        let clock = Clock::default();
        if let Some(now) = self.now {
            clock.set_now(now);
        }
        let faults = Faults::default();
        faults.set_latency(self.latency);
        let shared = Arc::new(Shared {
            clock,
            store: Mutex::new(Store::default()),
            hub: Arc::new(hub),
            faults,
            idempotency: Idempotency::default(),
            auth: Auth::new(keys),
            record_requests: self.record_requests,
            requests: Mutex::new(Vec::new()),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        launcher.launch(
            shared.clone(),
            crate::pool::Started {
                hub: shared.hub.clone(),
                events,
                stop: stop_rx,
                done: done_tx,
            },
        )?;
        Ok(FakeToss {
            addr,
            shared,
            stop: Some(stop_tx),
            done: Some(done_rx),
        })
    }
}

/// A running fake Toss Payments server. Dropping it shuts the server down.
///
/// ```no_run
/// # async fn demo() {
/// let toss = fake_toss::FakeToss::start().await;
/// let url = format!("{}/v1/payments/some-key", toss.uri());
/// let auth = toss.authorization();
/// # let _ = (url, auth);
/// # }
/// ```
#[derive(Debug)]
pub struct FakeToss {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
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

    /// The base URL, `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first accepted secret key.
    pub fn secret_key(&self) -> &str {
        self.shared
            .auth
            .keys()
            .first()
            .map_or(DEFAULT_SECRET_KEY, String::as_str)
    }

    /// All accepted secret keys.
    pub fn secret_keys(&self) -> &[String] {
        self.shared.auth.keys()
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
    /// `404 NOT_FOUND_PAYMENT` for an unknown key; `400` when the payment is not a virtual
    /// account waiting for a deposit (`EXPIRED_VIRTUAL_ACCOUNT`, `ALREADY_PROCESSED_PAYMENT`,
    /// `INVALID_REQUEST`).
    pub async fn deposit(&self, payment_key: &str) -> Result<Value, TossError> {
        let bytes = self
            .shared
            .with_store(|st, now| st.deposit(payment_key, now))?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Every request received so far, oldest first.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Every webhook delivery attempt so far (including dropped and URL-less ones).
    pub fn webhooks(&self) -> Vec<WebhookRecord> {
        self.shared.hub.log()
    }

    /// Waits (polling, up to `timeout`) until the webhook log holds at least `count`
    /// records matching `filter`, and returns the matching records.
    /// Needs a tokio runtime with timers (any `#[tokio::test]`).
    pub async fn wait_for_webhooks(
        &self,
        count: usize,
        timeout: Duration,
        filter: impl Fn(&WebhookRecord) -> bool,
    ) -> Vec<WebhookRecord> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let hits: Vec<_> = self.webhooks().into_iter().filter(|w| filter(w)).collect();
            if hits.len() >= count || tokio::time::Instant::now() >= deadline {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The payment as `GET /v1/payments/{paymentKey}` would return it, if it exists.
    pub fn payment(&self, payment_key: &str) -> Option<Value> {
        let bytes = self
            .shared
            .with_store(|st, now| st.get(payment_key, now))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The payment of an order, as `GET /v1/payments/orders/{orderId}` would return it.
    pub fn payment_by_order(&self, order_id: &str) -> Option<Value> {
        let bytes = self
            .shared
            .with_store(|st, now| st.get_by_order(order_id, now))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// What the payment widget does in a browser: authenticates `card_number` for
    /// `customer_key` and returns a one-time `authKey` for
    /// `POST /v1/billing/authorizations/issue`. Same as `POST /internal/billing/auth-keys`.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` / `INVALID_CARD_NUMBER` for a malformed key or number.
    pub fn issue_auth_key(
        &self,
        customer_key: &str,
        card_number: &str,
    ) -> Result<String, TossError> {
        let req = AuthKeyReq {
            customer_key: customer_key.to_owned(),
            card_number: card_number.to_owned(),
        };
        let v = self.shared.with_store(|st, _| st.create_auth_key(req))?;
        Ok(v["authKey"].as_str().unwrap_or_default().to_owned())
    }

    /// The fake's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Moves the fake's clock forward, expiring what fell due (webhooks are sent).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
        self.shared.with_store(|st, now| st.sweep(now));
    }

    /// Sets the fake's clock to `now` (it keeps ticking from there), expiring what fell due.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.shared.clock.set_now(now);
        self.shared.with_store(|st, now| st.sweep(now));
    }

    /// Sets the latency added before every `/v1` response.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults.set_latency(latency);
    }

    /// The next `n` `/v1` requests are answered `500 FAILED_INTERNAL_SYSTEM_PROCESSING`
    /// without being processed.
    pub fn fail_next(&self, n: u32) {
        self.shared.faults.add_fail(n);
    }

    /// The next `n` `/v1` requests are never answered (nor processed); the connection stays
    /// open until the client gives up.
    pub fn hang_next(&self, n: u32) {
        self.shared.faults.add_hang(n);
    }

    /// The next `n` `/v1` requests are processed but their responses are never sent — the
    /// "did my charge go through?" case idempotency keys exist for.
    pub fn lose_response_next(&self, n: u32) {
        self.shared.faults.add_lose(n);
    }

    /// The next `n` webhook events are dropped (logged with outcome `Dropped`, never sent).
    pub fn drop_next_webhooks(&self, n: u32) {
        lock(&self.shared.hub.settings).drop_next += n;
    }

    /// The next `n` webhook events are delivered twice.
    pub fn duplicate_next_webhooks(&self, n: u32) {
        lock(&self.shared.hub.settings).duplicate_next += n;
    }

    /// The next `n` webhook events are each held back and sent after the event that
    /// follows them (or after one second if none follows).
    pub fn reorder_next_webhooks(&self, n: u32) {
        lock(&self.shared.hub.settings).reorder_next += n;
    }

    /// Every webhook delivery waits `delay` first (zero turns it off).
    pub fn set_webhook_delay(&self, delay: Duration) {
        lock(&self.shared.hub.settings).delay = delay;
    }

    /// Points webhooks at `url` from now on (retries already scheduled follow too).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        lock(&self.shared.hub.settings).url = Some(url.into());
    }

    /// Stops sending webhooks (events are still logged with outcome `NoUrl`).
    pub fn clear_webhook_url(&self) {
        lock(&self.shared.hub.settings).url = None;
    }

    /// Replaces the webhook retry schedule (see [`FakeTossBuilder::webhook_retry_schedule`]).
    pub fn set_webhook_retry_schedule(&self, schedule: Vec<Duration>) {
        lock(&self.shared.hub.settings).schedule = schedule;
    }

    /// Makes `card_number` declined with `status`, `code` and `message` on this instance
    /// (in addition to [`crate::DECLINED_CARDS`]).
    pub fn decline_card(&self, card_number: &str, status: u16, code: &str, message: &str) {
        let err = TossError::new(status, code, message);
        self.shared
            .with_store(|st, _| st.decline(card_number.to_owned(), err));
    }

    /// Shuts the server down and waits until its thread has stopped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for FakeToss {
    fn drop(&mut self) {
        // Signal only: blocking here could stall the async test that drops us.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

//! The handle a test holds: `FakeIamport::start()` / `FakeIamport::builder()`, the
//! server thread with its own tokio runtime, and every inspection and knob method.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::response::Response;
use axum::serve::ListenerExt;
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::envelope::ApiError;
use crate::routes;
use crate::shared::{ReceivedRequest, RequestFault, RequestFaults, Shared, lock};
use crate::state::State;
use crate::webhooks::{self, WebhookAttempt, WebhookFaults, WebhookSettings};

/// The API key used when the builder is given none.
pub const DEFAULT_IMP_KEY: &str = "imp_key_fake";
/// The API secret used when the builder is given none.
pub const DEFAULT_IMP_SECRET: &str = "imp_secret_fake";
/// Largest request body accepted (bigger is `413`).
const MAX_BODY: usize = 1024 * 1024;

/// Why the fake could not start, or why a library call was refused.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// Binding the socket or starting the server thread failed.
    #[error("fake-iamport could not start: {0}")]
    Io(#[from] std::io::Error),
    /// The operation was refused the way the HTTP API would refuse it.
    #[error("fake-iamport refused ({status}): {message}")]
    Refused {
        /// The HTTP status the API would answer.
        status: u16,
        /// The envelope's message.
        message: String,
    },
}

impl From<ApiError> for FakeError {
    fn from(e: ApiError) -> Self {
        FakeError::Refused {
            status: e.status.as_u16(),
            message: e.message,
        }
    }
}

/// Configures a fake before it starts; every setting has a default.
#[derive(Debug, Clone)]
pub struct FakeIamportBuilder {
    credentials: Vec<(String, String)>,
    webhook_url: Option<String>,
    form_encoded: bool,
    retry_schedule: Vec<Duration>,
    latency: Duration,
    start_time: Option<i64>,
    ip: IpAddr,
    port: u16,
}

impl Default for FakeIamportBuilder {
    fn default() -> Self {
        Self {
            credentials: Vec::new(),
            webhook_url: None,
            form_encoded: false,
            retry_schedule: vec![
                Duration::from_secs(1),
                Duration::from_secs(5),
                Duration::from_secs(30),
            ],
            latency: Duration::ZERO,
            start_time: None,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
        }
    }
}

impl FakeIamportBuilder {
    /// Accepts this `(imp_key, imp_secret)` pair; call again to accept more. With none
    /// given, `imp_key_fake`/`imp_secret_fake` is accepted.
    pub fn credentials(
        mut self,
        imp_key: impl Into<String>,
        imp_secret: impl Into<String>,
    ) -> Self {
        self.credentials.push((imp_key.into(), imp_secret.into()));
        self
    }

    /// Where webhooks go for payments without a `notice_url` (default: nowhere).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Send webhooks as `application/x-www-form-urlencoded` instead of JSON.
    pub fn webhook_form_encoded(mut self, form: bool) -> Self {
        self.form_encoded = form;
        self
    }

    /// Waits between delivery attempts after a failed one; its length is the number of
    /// retries (default 1 s, 5 s, 30 s).
    pub fn webhook_retry_schedule(mut self, schedule: Vec<Duration>) -> Self {
        self.retry_schedule = schedule;
        self
    }

    /// Added before every API answer (default none).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Pins the clock at this Unix time (seconds); by default it follows system time.
    pub fn start_time(mut self, unix_secs: i64) -> Self {
        self.start_time = Some(unix_secs);
        self
    }

    /// The port to listen on (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The address to listen on (default 127.0.0.1).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// Starts the fake.
    ///
    /// # Panics
    /// When the socket cannot be bound or the thread not started (see [`Self::try_start`]).
    pub async fn start(self) -> FakeIamport {
        match self.try_start().await {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts the fake on its own thread and tokio runtime; it is listening when this
    /// returns (connections queue until the runtime accepts them).
    ///
    /// # Errors
    /// [`FakeError::Io`] when the address cannot be bound or the thread not spawned.
    pub async fn try_start(self) -> Result<FakeIamport, FakeError> {
        let listener = std::net::TcpListener::bind(SocketAddr::new(self.ip, self.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let mut credentials = self.credentials;
        if credentials.is_empty() {
            credentials.push((DEFAULT_IMP_KEY.into(), DEFAULT_IMP_SECRET.into()));
        }
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(credentials.clone(), self.webhook_url, events_tx)),
            clock: Clock::new(self.start_time),
            faults: Mutex::new(RequestFaults {
                latency: self.latency,
                ..RequestFaults::default()
            }),
            webhook_faults: Mutex::new(WebhookFaults::default()),
            webhook_settings: Mutex::new(WebhookSettings {
                form_encoded: self.form_encoded,
                retry_schedule: self.retry_schedule,
            }),
            webhook_log: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let server_shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("fake-iamport-{}", addr.port()))
            .spawn(move || serve_on_thread(server_shared, listener, events_rx, stop_rx, done_tx))?;
        Ok(FakeIamport {
            shared,
            addr,
            credentials,
            stop: Some(stop_tx),
            done: Some(done_rx),
        })
    }
}

fn serve_on_thread(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    events: tokio::sync::mpsc::UnboundedReceiver<webhooks::WebhookJob>,
    stop: oneshot::Receiver<()>,
    done: oneshot::Sender<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    if let Ok(rt) = runtime {
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            // Small request/response exchanges: do not let Nagle hold a response back.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(webhooks::run(shared.clone(), events));
            let app = Router::new().fallback(serve_request).with_state(shared);
            tokio::select! {
                _ = axum::serve(listener, app) => {}
                // Sent by shutdown(), or the sender dropped with the handle.
                _ = stop => {}
            }
        });
        // Dropping the runtime cancels hanging requests and pending webhook retries.
        rt.shutdown_background();
    }
    let _ = done.send(());
}

fn json_response(status: StatusCode, body: &Value, replayed: bool) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(AxumBody::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

async fn serve_request(AxumState(shared): AxumState<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let e = ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: -1,
            message: format!("request body is larger than {MAX_BODY} bytes or unreadable"),
        };
        return json_response(e.status, &e.body(), false);
    };
    let path = parts.uri.path().to_owned();
    lock(&shared.requests).push(ReceivedRequest {
        method: parts.method.as_str().to_owned(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: bytes.to_vec(),
    });
    // Fake-only endpoints are the test's own controls: never delayed or failed.
    if !path.starts_with("/internal/") {
        let (latency, fault) = shared.take_fault();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match fault {
            Some(RequestFault::Hang) => std::future::pending::<()>().await,
            Some(RequestFault::Fail) => {
                let e = ApiError::internal("fake-iamport: injected failure (fail_next)");
                return json_response(e.status, &e.body(), false);
            }
            None => {}
        }
    }
    let d = routes::handle(&shared, &parts.method, &path, &parts.headers, &bytes);
    if !path.starts_with("/internal/") {
        match shared.take_after_fault() {
            Some(RequestFault::Hang) => std::future::pending::<()>().await,
            Some(RequestFault::Fail) => {
                let e = ApiError::internal("fake-iamport: injected failure after acting");
                return json_response(e.status, &e.body(), false);
            }
            None => {}
        }
    }
    json_response(d.reply.status, &d.reply.body, d.replayed)
}

/// A running fake PortOne v1 server; shuts down when dropped or on [`Self::shutdown`].
#[derive(Debug)]
pub struct FakeIamport {
    shared: Arc<Shared>,
    addr: SocketAddr,
    credentials: Vec<(String, String)>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl Drop for FakeIamport {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first accepted `(imp_key, imp_secret)` pair.
    pub fn credentials(&self) -> (String, String) {
        self.credentials.first().cloned().unwrap_or_default()
    }

    /// Accepts another `(imp_key, imp_secret)` pair from now on.
    pub fn add_credentials(&self, imp_key: impl Into<String>, imp_secret: impl Into<String>) {
        lock(&self.shared.state)
            .credentials
            .push((imp_key.into(), imp_secret.into()));
    }

    /// Issues (or returns the current) access token for the first credentials, exactly as
    /// `POST /users/getToken` would.
    pub fn access_token(&self) -> String {
        let (key, secret) = self.credentials();
        let mut map = serde_json::Map::new();
        map.insert("imp_key".into(), Value::String(key));
        map.insert("imp_secret".into(), Value::String(secret));
        let body = json_body(map);
        let now = self.shared.clock.now();
        crate::auth::get_token(&mut lock(&self.shared.state), &body, now)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The fake's current Unix time in seconds.
    pub fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// Moves the fake's clock forward by whole seconds (tokens expire, OTPs lapse, ...).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Pins the fake's clock at `unix_secs`.
    pub fn set_now(&self, unix_secs: i64) {
        self.shared.clock.set_now(unix_secs);
    }

    /// Deposits the full amount into a `ready` virtual account: it becomes `paid` and its
    /// webhook is sent. Returns the payment object.
    ///
    /// # Errors
    /// [`FakeError::Refused`]: `404` for an unknown `imp_uid`; `200`-coded refusals for a
    /// payment that is not a ready virtual account or whose due date has passed.
    pub async fn deposit(&self, imp_uid: &str) -> Result<Value, FakeError> {
        let now = self.shared.clock.now();
        Ok(crate::vbanks::deposit(
            &mut lock(&self.shared.state),
            imp_uid,
            now,
        )?)
    }

    /// The payment object `GET /payments/{imp_uid}` would return.
    pub fn payment(&self, imp_uid: &str) -> Option<Value> {
        lock(&self.shared.state)
            .payments
            .get(imp_uid)
            .map(crate::payments::Payment::to_json)
    }

    /// The latest payment with `merchant_uid`.
    pub fn payment_by_merchant_uid(&self, merchant_uid: &str) -> Option<Value> {
        lock(&self.shared.state)
            .latest_by_merchant_uid(merchant_uid, None)
            .map(crate::payments::Payment::to_json)
    }

    /// The OTP "sent by SMS" for a certification request.
    pub fn otp(&self, imp_uid: &str) -> Option<String> {
        lock(&self.shared.state)
            .certifications
            .get(imp_uid)
            .map(|c| c.otp.clone())
    }

    /// Every request received so far, in arrival order.
    pub fn received_requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Every webhook attempt so far (including dropped ones and ones with no URL).
    pub fn webhooks(&self) -> Vec<WebhookAttempt> {
        lock(&self.shared.webhook_log).clone()
    }

    /// Polls the webhook log until it has at least `count` entries or `timeout` passes;
    /// returns the log either way. Runs on the caller's runtime, which needs its time
    /// driver (as `#[tokio::test]` runtimes have).
    pub async fn wait_for_webhooks(&self, count: usize, timeout: Duration) -> Vec<WebhookAttempt> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let log = self.webhooks();
            if log.len() >= count || tokio::time::Instant::now() >= deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends later webhooks (of payments without `notice_url`) to `url`.
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        lock(&self.shared.state).webhook_url = Some(url.into());
    }

    /// Stops sending webhooks for payments without `notice_url`.
    pub fn clear_webhook_url(&self) {
        lock(&self.shared.state).webhook_url = None;
    }

    /// Sends later webhooks form-encoded (`true`) or as JSON (`false`).
    pub fn set_webhook_form_encoded(&self, form: bool) {
        lock(&self.shared.webhook_settings).form_encoded = form;
    }

    /// Replaces the retry schedule (waits between attempts; its length is the retry count).
    pub fn set_webhook_retry_schedule(&self, schedule: Vec<Duration>) {
        lock(&self.shared.webhook_settings).retry_schedule = schedule;
    }

    /// Adds `latency` before every later API answer (`Duration::ZERO` turns it off).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.faults).latency = latency;
    }

    /// The next `n` API requests are answered `500` with code `-1` (fake-only
    /// `/internal/*` endpoints excepted).
    pub fn fail_next(&self, n: u32) {
        lock(&self.shared.faults).fail_next = n;
    }

    /// The next `n` API requests are never answered (until shutdown); used before `fail_next`.
    pub fn hang_next(&self, n: u32) {
        lock(&self.shared.faults).hang_next = n;
    }

    /// The next `n` API requests act (charge, cancel, ...) and are then answered `500`:
    /// the answer is lost, the effect is not. Tests at-most-once retries.
    pub fn fail_next_after_acting(&self, n: u32) {
        lock(&self.shared.faults).fail_after = n;
    }

    /// The next `n` API requests act and are then never answered (until shutdown).
    pub fn hang_next_after_acting(&self, n: u32) {
        lock(&self.shared.faults).hang_after = n;
    }

    /// The next `n` webhooks are not sent (logged as [`webhooks::WebhookOutcome::Dropped`]).
    pub fn drop_next_webhooks(&self, n: u32) {
        lock(&self.shared.webhook_faults).drop_next = n;
    }

    /// The next `n` webhooks are each sent twice.
    pub fn duplicate_next_webhooks(&self, n: u32) {
        lock(&self.shared.webhook_faults).duplicate_next = n;
    }

    /// Every later webhook waits `delay` before its first attempt (`ZERO` turns it off).
    pub fn set_webhook_delay(&self, delay: Duration) {
        lock(&self.shared.webhook_faults).delay = delay;
    }

    /// Holds the next `n` webhooks and sends them in reverse order once all `n` exist.
    pub fn reorder_next_webhooks(&self, n: usize) {
        let mut f = lock(&self.shared.webhook_faults);
        f.reorder_batch = n;
        f.reorder_buf.clear();
    }

    /// Declines `card_number` (dashes allowed) at registration and charge with `message`,
    /// in addition to the built-in table.
    pub fn decline_card(&self, card_number: &str, message: impl Into<String>) {
        lock(&self.shared.state)
            .custom_declines
            .insert(crate::fields::digits(card_number), message.into());
    }

    /// Stops the server and waits for its thread to finish (dropping also stops it).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

fn json_body(map: serde_json::Map<String, Value>) -> crate::fields::Body {
    let bytes = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    crate::fields::Body::parse(&headers, &bytes).unwrap_or_default()
}

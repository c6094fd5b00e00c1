//! [`start`]: boots a fake's routes on a pooled thread; [`Harness`] (the vendor-neutral
//! state and every knob a test turns) and [`Server`] (the running fake, stopped on drop).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::oneshot;
use tower::ServiceExt as _;

use crate::clock::Clock;
use crate::config::{Config, Vendor};
use crate::error::FakeError;
use crate::faults::{After, Before, Faults};
use crate::idempotency::Idempotency;
use crate::record::RecordedRequest;
use crate::routes::Routes;
use crate::webhook::{self, AttemptInfo, Hub, Settings, Webhook, WebhookRecord};
use crate::{connections, lock, pool};

/// One running fake's vendor-neutral state: address, clock, fault counters, request log,
/// webhook outbox and log, idempotency cache. Every fake's handle derefs to it, so these
/// methods are the same on every fake.
pub struct Harness {
    vendor: &'static Vendor,
    instance: u64,
    config: Config,
    addr: SocketAddr,
    clock: Clock,
    faults: Faults,
    record: AtomicBool,
    requests: Mutex<Vec<Received>>,
    pub(crate) hub: Hub,
    idempotency: Idempotency,
    on_clock_change: OnceLock<Box<dyn Fn() + Send + Sync>>,
    on_webhook_attempt: OnceLock<AttemptHook>,
}

/// One request as the log keeps it, copied out of hyper's buffers. The parsed parts
/// (`Uri`, `HeaderMap`, a small body) are slices of the connection's read buffer, so
/// keeping them would keep every request's whole buffer alive and make hyper allocate
/// a new one per request (in a profile: the fake's heap only grew, and growing it took
/// a third of the fake's time). Converted to a [`RecordedRequest`] when read.
struct Received {
    method: http::Method,
    /// The path and query, the headers and the body, in one allocation (a log entry is
    /// kept for the fake's life, so its size and count of allocations are paid on every
    /// request): `path?query\r\n`, every header as `name:value\r\n`, `\r\n`, then the
    /// body. A path holds no CR or LF, header names no `:` and values no CR or LF, so the
    /// parts split back exactly.
    bytes: Box<[u8]>,
}

impl Received {
    fn copy(parts: &http::request::Parts, body: &[u8]) -> Self {
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let headers: usize = parts
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 3)
            .sum();
        let mut bytes = Vec::with_capacity(path_and_query.len() + 2 + headers + 2 + body.len());
        bytes.extend_from_slice(path_and_query.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        for (name, value) in &parts.headers {
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.push(b':');
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(body);
        Self {
            method: parts.method.clone(),
            bytes: bytes.into_boxed_slice(),
        }
    }

    fn to_record(&self) -> RecordedRequest {
        let mut rest = &self.bytes[..];
        let mut lines = Vec::new();
        // The head's lines up to the empty one; what follows it is the body.
        while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
            let (line, after) = (&rest[..end], &rest[end + 2..]);
            rest = after;
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        let path_and_query = String::from_utf8_lossy(lines.first().copied().unwrap_or(b"/"));
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (path_and_query.into_owned(), None),
        };
        let headers = lines
            .iter()
            .skip(1)
            .filter_map(|line| {
                let colon = line.iter().position(|&b| b == b':')?;
                let (name, value) = (&line[..colon], &line[colon + 1..]);
                Some((
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                ))
            })
            .collect();
        RecordedRequest {
            method: self.method.to_string(),
            path,
            query,
            headers,
            body: rest.to_vec(),
        }
    }
}

/// Per-instance extra headers for a webhook attempt (see [`Harness::on_webhook_attempt`]).
type AttemptHook = Box<dyn Fn(&AttemptInfo<'_>) -> Vec<(String, String)> + Send + Sync>;

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("fake", &self.vendor.name)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A running fake; dropping it stops the server (without waiting; see [`Self::shutdown`]).
/// Derefs to [`Harness`] for the common knobs; [`Self::state`] is the vendor's state.
#[derive(Debug)]
pub struct Server<T> {
    harness: Arc<Harness>,
    state: T,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

/// Boots a fake: takes a pooled server thread (or binds `config`'s address), builds the
/// [`Harness`], lets `build` make the vendor's state and its routes from it, and serves
/// them behind the harness's request log and fault layer. Axum routes get the state and
/// the harness as request extensions (`Extension<T>`, `Extension<Arc<Harness>>`); an
/// [`crate::routes::Api`] function gets the state as its argument (see [`Routes`]).
///
/// Synchronous and independent of the caller's runtime: works from any tokio flavour and
/// from plain sync code. `routes` is usually a clone of a router the fake built once per
/// process and finished with `.with_state(())`: a router that never had `with_state`
/// turns each handler into a service again on every request (in axum 0.8, two
/// allocations and a boxed clone per request).
///
/// # Errors
/// [`FakeError::Start`] when the address cannot be bound or the thread not started.
pub fn start<T, F, R>(
    vendor: &'static Vendor,
    config: Config,
    build: F,
) -> Result<Server<T>, FakeError>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce(&Arc<Harness>) -> (R, T),
    R: Into<Routes<T>>,
{
    let failed = |source| FakeError::Start {
        fake: vendor.name,
        source,
    };
    let spare = pool::take(config.host, config.port).map_err(failed)?;
    let (hub, events) = Hub::new(Settings {
        url: config.webhook_url.clone(),
        schedule: config
            .webhook_retry_schedule
            .clone()
            .unwrap_or_else(|| vendor.retry_schedule.to_vec()),
        timeout: config.webhook_timeout,
        ..Settings::default()
    });
    let faults = Faults::default();
    faults.set_latency(config.latency);
    let harness = Arc::new(Harness {
        vendor,
        instance: instance_id(),
        addr: spare.addr,
        clock: Clock::new(config.now, config.freeze_clock),
        faults,
        record: AtomicBool::new(config.record_requests),
        requests: Mutex::new(Vec::new()),
        hub,
        idempotency: Idempotency::new(
            vendor
                .idempotency_lifetime_secs
                .map(chrono::Duration::seconds),
        ),
        on_clock_change: OnceLock::new(),
        on_webhook_attempt: OnceLock::new(),
        config,
    });
    let (routes, state) = build(&harness);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let app = App {
        harness: harness.clone(),
        state: state.clone(),
        routes: routes.into(),
    };
    let job: pool::Job = Box::new(move |listener| {
        Box::pin(async move {
            tokio::spawn(webhook::run(app.harness.clone(), events));
            tokio::select! {
                () = connections::serve(listener, app) => {}
                // Sent by shutdown(), or the sender dropped with the handle.
                _ = stop_rx => {}
            }
        })
    });
    spare.run(job, done_tx).map_err(failed)?;
    Ok(Server {
        harness,
        state,
        stop: Some(stop_tx),
        done: Some(done_rx),
    })
}

/// What every connection of one fake serves: its routes, with its state and harness,
/// behind [`Harness::handle`].
#[derive(Clone)]
struct App<T> {
    harness: Arc<Harness>,
    state: T,
    routes: Routes<T>,
}

impl<T> hyper::service::Service<http::Request<hyper::body::Incoming>> for App<T>
where
    T: Clone + Send + Sync + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, req: http::Request<hyper::body::Incoming>) -> Self::Future {
        let app = self.clone();
        Box::pin(async move {
            let App {
                harness,
                state,
                routes,
            } = app;
            let path = req.uri().path();
            let faulted = (harness.vendor.faulted)(path);
            if let Some(api) = routes.api_for(path) {
                // A plain function takes the whole body: read even with the log off.
                let (parts, body) = req.into_parts();
                let Some(bytes) = harness.read(body).await else {
                    return Ok(harness.too_large());
                };
                harness.log(&parts, &bytes);
                let run = async { api(&state, parts, bytes) };
                return Ok(harness.handle(faulted, run).await);
            }
            let Some(mut req) = harness.receive(req).await else {
                return Ok(harness.too_large());
            };
            req.extensions_mut().insert(state);
            req.extensions_mut().insert(harness.clone());
            let run = routes.router.oneshot(req);
            Ok(harness
                .handle(faulted, async { run.await.unwrap_or_else(|e| match e {}) })
                .await)
        })
    }
}

/// A process-unique id mixed with the start time, so ids rarely repeat across runs.
fn instance_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            u64::from(d.subsec_nanos()) ^ d.as_secs().rotate_left(32)
        });
    nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<T> Server<T> {
    /// The vendor's state, as given by `build` in [`start`].
    pub fn state(&self) -> &T {
        &self.state
    }

    /// The harness (also reachable through `Deref`).
    pub fn harness(&self) -> &Arc<Harness> {
        &self.harness
    }

    /// Stops the server and waits until its thread has ended (open connections are
    /// closed, hanging requests and pending webhook retries cancelled).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl<T> std::ops::Deref for Server<T> {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.harness
    }
}

impl<T> Drop for Server<T> {
    fn drop(&mut self) {
        // Signal only: blocking here could stall the async test that drops us.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Harness {
    /// The request as the routes take it, logged first when requests are recorded (the
    /// body read whole for that, up to the vendor's limit).
    ///
    /// `None` when recording and the body cannot be read or is over the limit.
    async fn receive(&self, req: http::Request<hyper::body::Incoming>) -> Option<Request> {
        if !self.record.load(Ordering::Relaxed) {
            return Some(req.map(Body::new));
        }
        let (parts, body) = req.into_parts();
        let bytes = self.read(body).await?;
        self.log(&parts, &bytes);
        // An empty body boxes nothing.
        let body = if bytes.is_empty() {
            Body::empty()
        } else {
            Body::from(bytes)
        };
        Some(Request::from_parts(parts, body))
    }

    /// The whole body, up to the vendor's limit; `None` when it is larger or unreadable.
    async fn read(&self, body: hyper::body::Incoming) -> Option<Bytes> {
        use http_body_util::BodyExt as _;
        use hyper::body::Body as _;
        // Most lookups are GETs without a body: nothing to read.
        if body.is_end_stream() {
            return Some(Bytes::new());
        }
        let collected = http_body_util::Limited::new(body, self.vendor.body_limit)
            .collect()
            .await
            .ok()?;
        Some(collected.to_bytes())
    }

    /// Adds the request to the log, when requests are recorded.
    fn log(&self, parts: &http::request::Parts, body: &[u8]) {
        if self.record.load(Ordering::Relaxed) {
            lock(&self.requests).push(Received::copy(parts, body));
        }
    }

    /// The vendor's `413` for a body over its limit.
    fn too_large(&self) -> Response {
        let limit = self.vendor.body_limit;
        (self.vendor.error)(
            413,
            &format!("body: unreadable or larger than {limit} bytes"),
        )
    }

    /// The fault layer around one request's `run` (a faulted path's, see
    /// [`Vendor::faulted`]; others just run).
    async fn handle(&self, faulted: bool, run: impl Future<Output = Response>) -> Response {
        if !faulted {
            return run.await;
        }
        let latency = self.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match self.faults.take_before() {
            Before::Run => {}
            Before::Fail => {
                return (self.vendor.error)(
                    500,
                    &format!("injected failure (fail_next) by {}", self.vendor.name),
                );
            }
            // Never answered: the connection stays open until the client gives up.
            Before::Hang => std::future::pending::<()>().await,
        }
        let response = run.await;
        match self.faults.take_after() {
            After::Answer => response,
            // Processed, but the answer never leaves: the client cannot tell what happened.
            After::Lose => std::future::pending().await,
            After::Fail => (self.vendor.error)(
                500,
                &format!(
                    "injected failure after acting (fail_next_after_acting) by {}",
                    self.vendor.name
                ),
            ),
        }
    }

    // ---- for the fake's own code -----------------------------------------------------

    /// The fake's description.
    pub fn vendor(&self) -> &'static Vendor {
        self.vendor
    }

    /// Identifies this instance (see [`crate::AttemptInfo::instance`]).
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// The settings it was started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The fake's clock (read it for every time-based rule).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The `Idempotency-Key` cache.
    pub fn idempotency(&self) -> &Idempotency {
        &self.idempotency
    }

    /// Queues a webhook event; returns its event id. Events leave in the order queued
    /// (call this while holding the lock that ordered the state change).
    pub fn send_webhook(&self, hook: Webhook) -> u64 {
        self.hub.emit(hook)
    }

    /// Registers what to run after the clock moved through [`Self::advance`],
    /// [`Self::set_now`] or `/internal/clock` (e.g. expire what fell due). Set once; later
    /// calls are ignored. Capture a `Weak` of the vendor state, not an `Arc`, or the fake
    /// is never freed.
    pub fn on_clock_change(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_clock_change.set(Box::new(hook));
    }

    /// Registers per-instance extra headers for every webhook attempt, e.g. a signature
    /// over [`AttemptInfo::body`] with this instance's secret. Set once; later calls are
    /// ignored. Capture a `Weak` of the vendor state, not an `Arc`.
    pub fn on_webhook_attempt(
        &self,
        hook: impl Fn(&AttemptInfo<'_>) -> Vec<(String, String)> + Send + Sync + 'static,
    ) {
        let _ = self.on_webhook_attempt.set(Box::new(hook));
    }

    pub(crate) fn attempt_headers(&self, info: &AttemptInfo<'_>) -> Vec<(String, String)> {
        self.on_webhook_attempt
            .get()
            .map(|hook| hook(info))
            .unwrap_or_default()
    }

    fn clock_changed(&self) {
        if let Some(hook) = self.on_clock_change.get() {
            hook();
        }
    }

    // ---- address -----------------------------------------------------------------------

    /// The base URL, `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    // ---- clock -------------------------------------------------------------------------

    /// The fake's current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Moves the fake's clock forward by `by`; what fell due expires (and its webhooks go).
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.clock_changed();
    }

    /// Sets the fake's clock to `now` (a ticking clock keeps ticking from there, a frozen
    /// one stays there); what fell due expires.
    pub fn set_now(&self, now: chrono::DateTime<chrono::Utc>) {
        self.clock.set_now(now);
        self.clock_changed();
    }

    /// Freezes the clock at its current time (`true`) or lets it tick again (`false`).
    pub fn freeze_clock(&self, frozen: bool) {
        self.clock.set_frozen(frozen);
    }

    // ---- request faults ------------------------------------------------------------------

    /// Sets the latency added before every API answer (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.faults.set_latency(latency);
    }

    /// The next `n` API requests are answered `500` without being processed (counts add
    /// up; the fake's `/internal/` routes are never faulted).
    pub fn fail_next(&self, n: u32) {
        self.faults.fail_next(n);
    }

    /// The next `n` API requests are never answered nor processed; the connection stays
    /// open until the client gives up (or the fake stops).
    pub fn hang_next(&self, n: u32) {
        self.faults.hang_next(n);
    }

    /// The next `n` API requests are processed but their answers are never sent — the
    /// "did my charge go through?" case idempotency keys exist for.
    pub fn lose_response_next(&self, n: u32) {
        self.faults.lose_response_next(n);
    }

    /// The next `n` API requests are processed and then answered `500`: the answer says
    /// failure, the effect took place.
    pub fn fail_next_after_acting(&self, n: u32) {
        self.faults.fail_next_after_acting(n);
    }

    /// The fault counters and latency (what `PUT /internal/faults` answers).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    // ---- request log -----------------------------------------------------------------------

    /// Every request received so far, oldest first (empty when recording is off).
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests)
            .iter()
            .map(Received::to_record)
            .collect()
    }

    /// Empties the request log.
    pub fn clear_received_requests(&self) {
        lock(&self.requests).clear();
    }

    /// Whether requests are being recorded (see [`Self::set_record_requests`]).
    pub fn records_requests(&self) -> bool {
        self.record.load(Ordering::Relaxed)
    }

    /// Turns the request log on or off from now on.
    pub fn set_record_requests(&self, record: bool) {
        self.record.store(record, Ordering::Relaxed);
    }

    // ---- webhooks -------------------------------------------------------------------------

    /// Every webhook delivery attempt so far, oldest first (dropped and URL-less included).
    pub fn webhooks(&self) -> Vec<WebhookRecord> {
        self.hub.log()
    }

    /// Empties the webhook log.
    pub fn clear_webhooks(&self) {
        self.hub.clear_log();
    }

    /// Waits (polling, up to `timeout`) until the webhook log holds at least `count`
    /// records matching `filter` (`|_| true` for any), and returns the matching records
    /// (fewer on timeout). Needs a tokio runtime with timers (any `#[tokio::test]`).
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

    /// The next `n` webhook events are dropped (logged with outcome `Dropped`, never sent).
    pub fn drop_next_webhooks(&self, n: u32) {
        lock(&self.hub.settings).drop_next += n;
    }

    /// The next `n` webhook events are each delivered twice (the copy is marked
    /// `duplicate`).
    pub fn duplicate_next_webhooks(&self, n: u32) {
        lock(&self.hub.settings).duplicate_next += n;
    }

    /// The next `n` webhook events are held back and sent in reverse order once all `n`
    /// exist, or [`crate::REORDER_WINDOW`] after the first was held (`n = 2`: the second
    /// event arrives before the first).
    pub fn reorder_next_webhooks(&self, n: u32) {
        lock(&self.hub.settings).reorder_next += n;
    }

    /// Every webhook delivery waits `delay` first (zero turns it off).
    pub fn set_webhook_delay(&self, delay: Duration) {
        lock(&self.hub.settings).delay = delay;
    }

    /// Points webhooks at `url` from now on (retries already scheduled follow too).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        lock(&self.hub.settings).url = Some(url.into());
    }

    /// Stops sending webhooks that carry no URL of their own (they are logged `NoUrl`).
    pub fn clear_webhook_url(&self) {
        lock(&self.hub.settings).url = None;
    }

    /// The configured webhook URL.
    pub fn webhook_url(&self) -> Option<String> {
        lock(&self.hub.settings).url.clone()
    }

    /// Replaces the webhook retry schedule (see [`Config::webhook_retry_schedule`]).
    pub fn set_webhook_retry_schedule(&self, schedule: Vec<Duration>) {
        lock(&self.hub.settings).schedule = schedule;
    }

    /// Sets how long one webhook attempt may take (see [`Config::webhook_timeout`]).
    pub fn set_webhook_timeout(&self, timeout: Duration) {
        lock(&self.hub.settings).timeout = timeout;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_gives_back_every_header_as_received() {
        let request = http::Request::post("/v1/payments/x?a=1&b=2")
            .header("authorization", "Basic dGVzdDo=")
            .header("x-colons", "a:b: c")
            .header("x-twice", "one")
            .header("x-twice", "two")
            .header("x-empty", "")
            .header("x-tab", "a\tb")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let record = Received::copy(&parts, b"{\"k\":1}").to_record();
        assert_eq!(record.method, "POST");
        assert_eq!(record.path, "/v1/payments/x");
        assert_eq!(record.query.as_deref(), Some("a=1&b=2"));
        let expected: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(record.headers, expected);
        assert_eq!(record.header("x-colons"), Some("a:b: c"));
        assert_eq!(record.body, b"{\"k\":1}");
    }

    #[test]
    fn the_log_gives_back_a_body_that_holds_blank_lines_and_a_request_without_headers() {
        let (parts, ()) = http::Request::post("/").body(()).unwrap().into_parts();
        let body = b"a\r\n\r\nb:c\r\n";
        let record = Received::copy(&parts, body).to_record();
        assert_eq!((record.path.as_str(), record.query), ("/", None));
        assert!(record.headers.is_empty());
        assert_eq!(record.body, body);
        assert!(Received::copy(&parts, b"").to_record().body.is_empty());
    }
}

//! `fake-lookup`: payment lookups on fake-toss (`GET /v1/payments/{paymentKey}`),
//! fake-iamport (`GET /payments/{imp_uid}`) and fake-portone
//! (`GET /payments/{paymentId}`), each compared with a wiremock server answering that
//! fake's own answer at the same path, the two taking turns in slices of a quarter second
//! (so the machine's drift during the run falls on both); and the start-up time of each fake
//! against `MockServer::start()` (pooled) and `MockServer::builder().start()` (a fresh
//! server each time). Everything starts with its defaults, as a test suite would start it.
//!
//! Each pair has a floor row too, in the same turns: hyper's bare server answering the
//! same bytes.
//!
//! The load is [`crate::raw_http`], one keep-alive connection per worker: on a 2-core
//! machine reqwest, or hyper's client connection, cost as much CPU as the server they
//! measured and squeezed every ratio towards 1. Each row also notes the server thread's
//! own CPU per lookup (from `/proc/self/task/*/schedstat`), a figure the load's cost does
//! not touch.

use crate::error::BenchError;
use crate::harness::Pg;
use crate::measure::{Budget, Measured, drive, thread_cpu_ns};
use crate::options::Scenario;
use crate::raw_http;
use crate::report::Row;
use crate::scenarios::Ctx;
use bytes::Bytes;
use fake_iamport::FakeIamport;
use fake_portone::FakePortOne;
use fake_toss::FakeToss;
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Drops `value` on the blocking pool. A wiremock `MockServer` blocks on a tokio lock in
/// its `Drop` (`futures::executor::block_on`); on a runtime worker whose cooperative
/// budget is spent that lock answers `Pending` forever and the drop spins (it hung this
/// bench once after a series of pooled starts), so servers are dropped off the workers.
async fn drop_off_runtime<T: Send + 'static>(value: T) {
    // A panic in a drop is the dropped value's bug; the row is measured either way.
    let _ = tokio::task::spawn_blocking(move || drop(value)).await;
}

/// Times `starts` sequential start-ups (each server dropped before the next).
async fn time_starts<F, Fut, T>(label: &str, starts: u64, start: F) -> Row
where
    F: Fn() -> Fut,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let mut measured = Measured::default();
    let mut first = None;
    let begun = Instant::now();
    for _ in 0..starts.max(1) {
        let at = Instant::now();
        let server = start().await;
        let took = at.elapsed();
        first.get_or_insert(took);
        measured.add(Ok(took));
        drop_off_runtime(server).await;
    }
    measured.elapsed = begun.elapsed();
    let first = first.unwrap_or_default();
    Row::measured(Scenario::FakeLookup, label, &measured).with_note(format!(
        "first (cold) start {:.3} ms",
        first.as_secs_f64() * 1000.0
    ))
}

/// The thread every fake serves on (fake-harness's pool names it).
const FAKE_THREAD: &str = "fake-harness-server";

/// The thread that starts the lookup rows' wiremock server; wiremock's own server thread
/// is unnamed and so inherits this name, which lets the row measure it apart.
const WIREMOCK_THREAD: &str = "wiremock-server";

/// How long one slice of a lookup row runs: the fake, wiremock and the floor take turns
/// slice by slice, so a change in the machine's speed during the run (on a shared 2-core
/// host it doubled and halved within seconds) falls on all three alike.
const SLICE: Duration = Duration::from_millis(250);

/// One server's lookup row, measured slice by slice: `concurrency` workers GET the
/// target's path, each on its own keep-alive connection ([`raw_http`]), and the row
/// notes what the server's thread spent on CPU per lookup, a figure the load's own cost
/// does not touch.
struct Lookups<F> {
    label: String,
    server_thread: &'static str,
    op: Arc<F>,
    measured: Measured,
    /// The share of the machine other processes took, weighted by slice time.
    others_cpu_seconds: f64,
    server_ns: u64,
}

/// A lookup row's load at `addr`, one keep-alive connection per worker: a connection
/// is taken out for a lookup and put back only after a good answer (a failed one is in
/// an unknown state, so the next lookup opens another).
fn lookup_load(
    concurrency: usize,
    t: &Target,
    addr: SocketAddr,
) -> impl Fn(usize, u64) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
+ Send
+ Sync
+ 'static {
    let connections: Arc<Vec<tokio::sync::Mutex<Option<raw_http::Connection>>>> = Arc::new(
        (0..concurrency)
            .map(|_| tokio::sync::Mutex::new(None))
            .collect(),
    );
    let request: Arc<[u8]> =
        raw_http::get_request(&addr.to_string(), &t.path, &t.authorization).into();
    move |worker: usize, _| {
        let connections = connections.clone();
        let request = request.clone();
        Box::pin(async move {
            let mut slot = connections[worker].lock().await;
            let mut connection = match slot.take() {
                Some(connection) => connection,
                None => raw_http::Connection::open(addr).await?,
            };
            connection.get(&request).await?;
            *slot = Some(connection);
            Ok(())
        })
    }
}

impl<F, Fut> Lookups<F>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn new(label: String, server_thread: &'static str, op: F) -> Self {
        Self {
            label,
            server_thread,
            op: Arc::new(op),
            measured: Measured::default(),
            others_cpu_seconds: 0.0,
            server_ns: 0,
        }
    }

    /// Runs the load for `budget` and counts it into the row (`measure`) or drops it
    /// (warm-up: connections open, caches warm).
    async fn run(&mut self, ctx: &Ctx<'_>, budget: Budget, measure: bool) {
        let op = self.op.clone();
        let cpu_before = thread_cpu_ns(self.server_thread);
        let slice = drive(
            &ctx.progress,
            &self.label,
            ctx.concurrency(),
            budget,
            Duration::ZERO,
            move |w, s| op(w, s),
        )
        .await;
        if !measure {
            return;
        }
        self.server_ns += thread_cpu_ns(self.server_thread).saturating_sub(cpu_before);
        self.others_cpu_seconds += slice.others_cpu.unwrap_or(0.0) * slice.elapsed.as_secs_f64();
        self.measured.elapsed += slice.elapsed;
        self.measured.merge(slice);
    }

    fn row(mut self) -> Row {
        let seconds = self.measured.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.measured.others_cpu = Some(self.others_cpu_seconds / seconds);
        }
        let mut row = Row::measured(Scenario::FakeLookup, &self.label, &self.measured);
        let successes = self
            .measured
            .operations
            .saturating_sub(self.measured.errors);
        if self.server_ns > 0 && successes > 0 {
            let per_lookup_us = self.server_ns as f64 / successes as f64 / 1000.0;
            row.note = Some(format!(
                "server thread {per_lookup_us:.1} µs CPU per lookup = {:.0} lookups per server CPU-second",
                1e6 / per_lookup_us
            ));
        }
        row
    }
}

/// `budget` cut into slices of about [`SLICE`] (a count budget into parts of up to
/// 10,000 operations, but never more than 40 parts, so larger ones above 400,000; at
/// least one slice either way).
fn slices(budget: Budget) -> Vec<Budget> {
    match budget {
        Budget::For(total) => {
            let n = (total.as_secs_f64() / SLICE.as_secs_f64()).ceil().max(1.0) as u32;
            vec![Budget::For(total / n); n as usize]
        }
        Budget::Count(total) => {
            let n = total.div_ceil(10_000).clamp(1, 40);
            (0..n)
                .map(|i| Budget::Count(total / n + u64::from(i < total % n)))
                .collect()
        }
    }
}

/// A wiremock server answering `body` (a fake's answer, byte for byte) to `GET path`,
/// started fresh on a thread named [`WIREMOCK_THREAD`] (see there).
async fn wiremock_serving(path_only: &str, body: Vec<u8>) -> Result<MockServer, BenchError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(WIREMOCK_THREAD.into())
        .spawn(move || {
            let started = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(MockServer::builder().start()));
            let _ = tx.send(started);
        })
        .map_err(|e| BenchError::Setup(format!("wiremock thread: {e}")))?;
    let server = rx
        .await
        .map_err(|_| BenchError::Setup("wiremock thread ended".into()))?
        .map_err(|e| BenchError::Setup(format!("wiremock runtime: {e}")))?;
    Mock::given(method("GET"))
        .and(path(path_only))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    Ok(server)
}

/// The thread of the lookup rows' floor server (see [`floor_serving`]).
const FLOOR_THREAD: &str = "hyper-floor";

/// The least any HTTP server on this stack can do for a lookup: hyper's bare HTTP/1.1
/// connection on one current-thread runtime answering `body` to every request, with no
/// routing, matching or recording. Its row is the floor under both the fakes and
/// wiremock (each of them is this plus its own work). Stops when the sender is dropped.
fn floor_serving(
    body: Bytes,
) -> Result<(SocketAddr, tokio::sync::oneshot::Sender<()>), BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| BenchError::Setup(format!("floor server: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::Setup(format!("floor server: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(FLOOR_THREAD.into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let accept = async {
                    while let Ok((tcp, _)) = listener.accept().await {
                        let _ = tcp.set_nodelay(true);
                        let body = body.clone();
                        let service = hyper::service::service_fn(move |_request| {
                            let response = http::Response::builder()
                                .header(http::header::CONTENT_TYPE, "application/json")
                                .body(http_body_util::Full::new(body.clone()));
                            async move { response }
                        });
                        tokio::spawn(
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(tcp), service),
                        );
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
        })
        .map_err(|e| BenchError::Setup(format!("floor thread: {e}")))?;
    Ok((addr, stop))
}

/// One fake's lookup: where it listens, the path of a payment it holds, the
/// `Authorization` it wants.
struct Target {
    fake: &'static str,
    addr: SocketAddr,
    path: String,
    authorization: String,
}

/// The fake's lookup row, wiremock's serving the same answer (with the ratio in a note)
/// and the floor's serving it too, measured in turns slice by slice (see [`SLICE`]).
async fn lookup_pair(ctx: &Ctx<'_>, t: Target) -> Result<Vec<Row>, BenchError> {
    let answer = {
        let mut connection = raw_http::Connection::open(t.addr)
            .await
            .map_err(BenchError::Setup)?;
        let request = raw_http::get_request(&t.addr.to_string(), &t.path, &t.authorization);
        let answer = connection
            .get(&request)
            .await
            .map_err(|e| BenchError::Setup(format!("{} lookup: {e}", t.fake)))?;
        Bytes::copy_from_slice(answer)
    };
    let (floor_addr, floor_stop) = floor_serving(answer.clone())?;
    let wiremock = wiremock_serving(&t.path, answer.to_vec()).await?;
    let concurrency = ctx.concurrency();
    // The fake, wiremock and the floor, in the order they take their turns.
    let mut servers = [
        (format!("fake-lookup {}", t.fake), FAKE_THREAD, t.addr),
        (
            format!("fake-lookup wiremock for {}", t.fake),
            WIREMOCK_THREAD,
            *wiremock.address(),
        ),
        (
            format!("fake-lookup floor for {}", t.fake),
            FLOOR_THREAD,
            floor_addr,
        ),
    ]
    .map(|(label, thread, addr)| Lookups::new(label, thread, lookup_load(concurrency, &t, addr)));
    if !ctx.warmup.is_zero() {
        for server in &mut servers {
            server.run(ctx, Budget::For(ctx.warmup), false).await;
        }
    }
    for slice in slices(ctx.budget) {
        for server in &mut servers {
            server.run(ctx, slice, true).await;
        }
    }
    drop(floor_stop);
    drop_off_runtime(wiremock).await;
    let [fake_row, mut mock_row, floor_row] = servers.map(Lookups::row);
    let ratio = fake_row.ops_per_sec / mock_row.ops_per_sec.max(f64::MIN_POSITIVE);
    mock_row.note = Some(format!(
        "wiremock answering {}'s answer at the same path, in turns with it; {} / wiremock = {ratio:.2}x; {}",
        t.fake,
        t.fake,
        mock_row.note.take().unwrap_or_default()
    ));
    Ok(vec![fake_row, mock_row, floor_row])
}

/// A paid card payment at fake-portone, through its HTTP API.
async fn portone_card(portone: &FakePortOne, id: &str) -> Result<(), BenchError> {
    let response = reqwest::Client::new()
        .post(format!("{}/payments/{id}/instant", portone.uri()))
        .header("Authorization", portone.authorization())
        .json(&json!({
            "method": {"card": {"credential": {"number": "4330123412341234", "expiryYear": "39", "expiryMonth": "12"}}},
            "orderName": "bench", "amount": {"total": 15_000}, "currency": "KRW",
        }))
        .send()
        .await
        .map_err(|e| BenchError::Setup(format!("fake-portone instant: {e}")))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(BenchError::Setup(format!(
            "fake-portone instant: {status} {body}"
        )));
    }
    Ok(())
}

/// The start rows, then the lookup rows.
///
/// # Errors
/// When a payment cannot be made at a fake.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let starts = ctx.options.starts;
    let mut rows = vec![
        time_starts("start fake-toss", starts, FakeToss::start).await,
        time_starts("start fake-iamport", starts, FakeIamport::start).await,
        time_starts("start fake-portone", starts, FakePortOne::start).await,
        time_starts("start wiremock", starts, MockServer::start).await,
        time_starts("start wiremock builder", starts, || {
            MockServer::builder().start()
        })
        .await,
    ];
    if let Some(row) = rows.get_mut(3) {
        row.note = Some(format!(
            "{}; MockServer::start() takes servers from a pool that dropped ones return to, so \
             after the first start it hands back a running server",
            row.note.take().unwrap_or_default()
        ));
    }
    if let Some(row) = rows.get_mut(4) {
        row.note = Some(format!(
            "{}; MockServer::builder().start() binds a fresh server every time (no pool)",
            row.note.take().unwrap_or_default()
        ));
    }

    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    let portone = FakePortOne::start().await;
    let pg = Pg::new(&toss, &iamport);
    let payment_key = pg
        .toss_card("lookup-1", 15_000)
        .await
        .map_err(BenchError::Setup)?;
    let token = pg.iamport_token().await.map_err(BenchError::Setup)?;
    let imp_uid = pg
        .iamport_card(&token, "lookup-2", 15_000)
        .await
        .map_err(BenchError::Setup)?;
    portone_card(&portone, "lookup-3").await?;

    let targets = [
        Target {
            fake: "fake-toss",
            addr: toss.addr(),
            path: format!("/v1/payments/{payment_key}"),
            authorization: toss.authorization(),
        },
        Target {
            fake: "fake-iamport",
            addr: iamport.addr(),
            path: format!("/payments/{imp_uid}"),
            authorization: token,
        },
        Target {
            fake: "fake-portone",
            addr: portone.addr(),
            path: "/payments/lookup-3".into(),
            authorization: portone.authorization(),
        },
    ];
    for target in targets {
        rows.extend(lookup_pair(ctx, target).await?);
    }
    Ok(rows)
}

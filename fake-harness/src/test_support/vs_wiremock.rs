//! One fake against wiremock, in the same run, for a fake's `vs_wiremock` bench:
//!
//! - `interleaved` (printed first): start → first answered request → drop, alternating
//!   the fake and a fresh `MockServer::builder().start()` round by round, so background
//!   load hits both alike; then rounds of 200 sequential lookups of one real payment of
//!   the fake against a wiremock mock answering the same JSON. Medians and ratios.
//! - criterion groups `start_to_first_request` (the fake, wiremock fresh and pooled) and
//!   `lookup` (sequential and 16 concurrent).
//!
//! Both sides start with their defaults, as a test suite would start them. A bench is
//! then `struct X(FakeX); impl Subject for X { .. }` (a local type: the bench is
//! its own crate) and `fn main() { vs_wiremock::main::<X>() }`.

use std::future::Future;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What the comparison needs from a fake.
pub trait Subject: Sized {
    /// The fake's name in the printed rows, e.g. `fake-portone`.
    const NAME: &'static str;
    /// Starts a fresh instance with its defaults.
    fn start() -> Self;
    /// The base URL.
    fn uri(&self) -> String;
    /// Makes one payment through the fake's HTTP API and returns how to look it up.
    fn prepare_lookup(&self, client: &reqwest::Client) -> impl Future<Output = Lookup>;
}

/// One lookup request: `GET {uri}{path}` with `Authorization: {authorization}`.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The path (and query), starting with `/`.
    pub path: String,
    /// The `Authorization` header value.
    pub authorization: String,
}

fn runtime() -> Runtime {
    // The client side gets one thread; each server runs on its own thread, as the fakes
    // and wiremock both do.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
}

/// A client without idle connections: every server is new, so every first request
/// opens a connection.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

#[derive(Clone, Copy)]
enum Start {
    Fake,
    WiremockFresh,
    WiremockPooled,
}

async fn first_request(client: &reqwest::Client, uri: &str) {
    let r = client
        .get(format!("{uri}/first-request"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("first request: {e}"));
    let _ = r.bytes().await;
}

async fn start_and_ask<S: Subject>(client: &reqwest::Client, which: Start) {
    match which {
        Start::Fake => {
            let fake = S::start();
            first_request(client, &fake.uri()).await;
        }
        Start::WiremockFresh => {
            let s = MockServer::builder().start().await;
            first_request(client, &s.uri()).await;
        }
        Start::WiremockPooled => {
            let s = MockServer::start().await;
            first_request(client, &s.uri()).await;
        }
    }
}

/// GETs `url` and checks it is a 200 with a body.
async fn get_ok(client: &reqwest::Client, url: &str, authorization: &str) {
    let r = client
        .get(url)
        .header("authorization", authorization)
        .send()
        .await
        .unwrap_or_else(|e| panic!("lookup: {e}"));
    let status = r.status();
    let body = r.bytes().await.unwrap_or_default();
    assert!(
        status == 200 && !body.is_empty(),
        "lookup {url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
}

/// The lookup targets: a fake holding one payment, a wiremock server answering the same
/// JSON at the same path, and both URLs.
struct Targets<S> {
    _fake: S,
    _mock: MockServer,
    fake_url: String,
    mock_url: String,
    authorization: String,
}

fn targets<S: Subject>(rt: &Runtime, client: &reqwest::Client) -> Targets<S> {
    let fake = S::start();
    rt.block_on(async {
        let lookup = fake.prepare_lookup(client).await;
        let fake_url = format!("{}{}", fake.uri(), lookup.path);
        let answer = client
            .get(&fake_url)
            .header("authorization", &lookup.authorization)
            .send()
            .await
            .unwrap_or_else(|e| panic!("lookup: {e}"))
            .bytes()
            .await
            .unwrap_or_default();
        let mock = MockServer::start().await;
        let bare_path = lookup.path.split('?').next().unwrap_or_default().to_owned();
        Mock::given(method("GET"))
            .and(path(bare_path))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(answer.to_vec(), "application/json"),
            )
            .mount(&mock)
            .await;
        let mock_url = format!("{}{}", mock.uri(), lookup.path);
        Targets {
            _fake: fake,
            _mock: mock,
            fake_url,
            mock_url,
            authorization: lookup.authorization,
        }
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// A/B rounds, alternating the fake and wiremock; prints medians and ratios.
fn interleaved<S: Subject>(rt: &Runtime) {
    let fresh = fresh_client();
    let (mut fake, mut mock) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        for (which, into) in [(Start::Fake, &mut fake), (Start::WiremockFresh, &mut mock)] {
            let t = Instant::now();
            rt.block_on(start_and_ask::<S>(&fresh, which));
            into.push(t.elapsed());
            // Tests do some work between servers; back-to-back starts measure the pool.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let (f, m) = (median(fake), median(mock));
    println!(
        "interleaved start->first request (median of 300): {} {f:?}, wiremock fresh {m:?}, wiremock/fake = {:.2}",
        S::NAME,
        m.as_secs_f64() / f.as_secs_f64()
    );

    let client = reqwest::Client::new();
    let t = targets::<S>(rt, &client);
    let round = |url: &str| {
        let at = Instant::now();
        rt.block_on(async {
            for _ in 0..200 {
                get_ok(&client, url, &t.authorization).await;
            }
        });
        at.elapsed()
    };
    round(&t.fake_url);
    round(&t.mock_url);
    let (mut fr, mut mr) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        fr.push(round(&t.fake_url));
        mr.push(round(&t.mock_url));
    }
    let per_s = |d: Duration| 200.0 / d.as_secs_f64();
    let (f, m) = (per_s(median(fr)), per_s(median(mr)));
    println!(
        "interleaved lookups (median of 30 rounds of 200 sequential GETs): {} {f:.0}/s, wiremock {m:.0}/s, fake/wiremock = {:.2}",
        S::NAME,
        f / m
    );
}

fn start_to_first_request<S: Subject>(c: &mut Criterion, rt: &Runtime) {
    let client = fresh_client();
    let mut g = c.benchmark_group("start_to_first_request");
    g.sample_size(40).measurement_time(Duration::from_secs(4));
    for (name, which) in [
        (format!("{} start", S::NAME), Start::Fake),
        (
            "wiremock MockServer::builder().start (fresh)".to_owned(),
            Start::WiremockFresh,
        ),
        (
            "wiremock MockServer::start (pooled)".to_owned(),
            Start::WiremockPooled,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(start_and_ask::<S>(&client, which)));
        });
    }
    g.finish();
}

/// Polls the futures together until all are done (no extra dependency).
async fn join_all<F: Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set: Vec<_> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

fn lookup<S: Subject>(c: &mut Criterion, rt: &Runtime) {
    let client = reqwest::Client::new();
    let t = targets::<S>(rt, &client);
    let mut g = c.benchmark_group("lookup");
    g.sample_size(40).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    for (name, url) in [("sequential", &t.fake_url), ("sequential", &t.mock_url)] {
        let who = if url == &t.fake_url {
            S::NAME
        } else {
            "wiremock"
        };
        g.bench_function(format!("{who} {name}"), |b| {
            b.iter(|| rt.block_on(get_ok(&client, url, &t.authorization)));
        });
    }
    g.throughput(Throughput::Elements(16));
    for url in [&t.fake_url, &t.mock_url] {
        let who = if url == &t.fake_url {
            S::NAME
        } else {
            "wiremock"
        };
        g.bench_function(format!("{who} 16 concurrent"), |b| {
            b.iter(|| {
                rt.block_on(join_all(
                    (0..16).map(|_| get_ok(&client, url, &t.authorization)),
                ));
            });
        });
    }
    g.finish();
}

/// The whole bench: the interleaved rounds, then the criterion groups (criterion's
/// command-line options apply, e.g. a filter).
pub fn main<S: Subject>() {
    let rt = runtime();
    interleaved::<S>(&rt);
    let mut c = Criterion::default().configure_from_args();
    start_to_first_request::<S>(&mut c, &rt);
    lookup::<S>(&mut c, &rt);
    c.final_summary();
}

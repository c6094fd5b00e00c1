//! fake-portone against wiremock, in the same run:
//! - `start_to_first_request`: from `start()` to the first answered request (a GET both
//!   answer 404) and the drop, per instance, against a fresh
//!   `MockServer::builder().start()` (and wiremock's pooled `MockServer::start()`);
//! - `lookup`: `GET /payments/{paymentId}` on a real payment of the fake versus a wiremock
//!   mock returning the same payment JSON, one at a time and 16 at once.
//! - `interleaved` (printed first, not a criterion group): the same measurements in
//!   alternating rounds, fake then wiremock, so background load hits both alike; medians
//!   and ratios are printed.
//!
//! Run: `cargo bench -p fake-portone --bench vs_wiremock`.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fake_portone::FakePortOne;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AUTH: &str = "PortOne portone-fake-api-secret";

fn runtime() -> tokio::runtime::Runtime {
    // The client side gets one thread; each server runs on its own thread, as both crates do.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn first_request(client: &reqwest::Client, uri: &str) {
    let r = client
        .get(format!("{uri}/payments/missing"))
        .header("authorization", AUTH)
        .send()
        .await
        .expect("served");
    assert_eq!(r.status(), 404);
}

#[derive(Clone, Copy)]
enum Server {
    Fake,
    WiremockFresh,
    WiremockPooled,
}

async fn start_and_ask(client: &reqwest::Client, which: Server) {
    match which {
        Server::Fake => {
            let p = FakePortOne::start().await;
            first_request(client, &p.uri()).await;
        }
        Server::WiremockFresh => {
            let s = MockServer::builder().start().await;
            first_request(client, &s.uri()).await;
        }
        Server::WiremockPooled => {
            let s = MockServer::start().await;
            first_request(client, &s.uri()).await;
        }
    }
}

fn fresh_client() -> reqwest::Client {
    // No idle pooling: every server is new, so every first request opens a connection.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

fn start_to_first_request(c: &mut Criterion) {
    let rt = runtime();
    let client = fresh_client();
    let mut g = c.benchmark_group("start_to_first_request");
    g.sample_size(40).measurement_time(Duration::from_secs(4));
    for (name, which) in [
        ("fake-portone FakePortOne::start", Server::Fake),
        (
            "wiremock MockServer::builder().start (fresh)",
            Server::WiremockFresh,
        ),
        (
            "wiremock MockServer::start (pooled)",
            Server::WiremockPooled,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(start_and_ask(&client, which)))
        });
    }
    g.finish();
}

async fn get_ok(client: &reqwest::Client, url: &str) {
    let r = client
        .get(url)
        .header("authorization", AUTH)
        .send()
        .await
        .expect("served");
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.expect("body");
    assert!(body.len() > 100);
}

/// A paid payment in a fresh fake, and a wiremock server answering the same JSON.
fn lookup_targets(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
) -> (FakePortOne, String, MockServer, String) {
    let portone = FakePortOne::builder()
        .record_requests(false)
        .start_blocking();
    rt.block_on(async {
        let r = client
            .post(format!("{}/payments/bench-1/instant", portone.uri()))
            .header("authorization", AUTH)
            .json(&json!({
                "method": {"card": {"credential": {"number": "4330123412341234", "expiryYear": "39", "expiryMonth": "12"}}},
                "orderName": "bench", "amount": {"total": 15_000}, "currency": "KRW",
            }))
            .send()
            .await
            .expect("instant");
        assert_eq!(r.status(), 200);
        let fake_url = format!("{}/payments/bench-1", portone.uri());
        let payment: Value = client
            .get(&fake_url)
            .header("authorization", AUTH)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("payment");
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/payments/[^/]+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&payment))
            .mount(&server)
            .await;
        let mock_url = format!("{}/payments/bench-1", server.uri());
        (portone, fake_url, server, mock_url)
    })
}

fn lookup(c: &mut Criterion) {
    let rt = runtime();
    let client = reqwest::Client::new();
    let (_portone, fake_url, _mock, mock_url) = lookup_targets(&rt, &client);
    let mut g = c.benchmark_group("lookup");
    g.sample_size(40).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    g.bench_function("fake-portone sequential", |b| {
        b.iter(|| rt.block_on(get_ok(&client, &fake_url)));
    });
    g.bench_function("wiremock sequential", |b| {
        b.iter(|| rt.block_on(get_ok(&client, &mock_url)));
    });
    g.throughput(Throughput::Elements(16));
    let burst = |url: &str| {
        rt.block_on(async {
            let calls: Vec<_> = (0..16).map(|_| Box::pin(get_ok(&client, url))).collect();
            join_all(calls).await;
        });
    };
    g.bench_function("fake-portone 16 concurrent", |b| {
        b.iter(|| burst(&fake_url))
    });
    g.bench_function("wiremock 16 concurrent", |b| b.iter(|| burst(&mock_url)));
    g.finish();
}

/// Polls the futures together until all are done (no extra dependency).
async fn join_all<F: std::future::Future<Output = ()> + Unpin>(mut set: Vec<F>) {
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| std::pin::Pin::new(f).poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A/B rounds, alternating fake-portone and wiremock; prints medians and ratios.
fn interleaved(_: &mut Criterion) {
    let rt = runtime();
    let fresh = fresh_client();
    let (mut fake, mut mock) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        for (which, into) in [
            (Server::Fake, &mut fake),
            (Server::WiremockFresh, &mut mock),
        ] {
            let t = Instant::now();
            rt.block_on(start_and_ask(&fresh, which));
            into.push(t.elapsed());
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let (f, m) = (median(fake), median(mock));
    println!(
        "interleaved start->first request (median of 300): fake-portone {f:?}, wiremock fresh {m:?}, wiremock/fake = {:.2}",
        m.as_secs_f64() / f.as_secs_f64()
    );

    let client = reqwest::Client::new();
    let (_portone, fake_url, _mock, mock_url) = lookup_targets(&rt, &client);
    let round = |url: &str| {
        let t = Instant::now();
        rt.block_on(async {
            for _ in 0..200 {
                get_ok(&client, url).await;
            }
        });
        t.elapsed()
    };
    round(&fake_url);
    round(&mock_url);
    let (mut fr, mut mr) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        fr.push(round(&fake_url));
        mr.push(round(&mock_url));
    }
    let per_s = |d: Duration| 200.0 / d.as_secs_f64();
    let (f, m) = (per_s(median(fr)), per_s(median(mr)));
    println!(
        "interleaved lookups (median of 30 rounds of 200 sequential GETs): fake-portone {f:.0}/s, wiremock {m:.0}/s, fake/wiremock = {:.2}",
        f / m
    );
}

criterion_group!(benches, interleaved, start_to_first_request, lookup);
criterion_main!(benches);

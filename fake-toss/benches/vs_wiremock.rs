//! fake-toss against wiremock, in the same run:
//! - `start_to_first_request`: from `start()` to the first answered request (a GET that
//!   both answer 404) and the drop, per instance; "paced" leaves 1 ms untimed between
//!   starts (as tests do work between servers), the others start back to back;
//! - `lookup`: `GET /v1/payments/{paymentKey}` on a real payment of the fake versus a
//!   wiremock mock returning the same payment JSON, one request at a time and 16 at once.
//!
//! - `interleaved` (printed first, not a criterion group): the same two measurements taken
//!   in alternating rounds, fake then wiremock, so background load hits both alike;
//!   medians and the ratio are printed.
//!
//! Run: `cargo bench -p fake-toss --bench vs_wiremock`.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fake_toss::FakeToss;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn runtime() -> tokio::runtime::Runtime {
    // The client side gets one thread; each server runs on its own thread, as both crates do.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn first_request(client: &reqwest::Client, uri: &str, auth: &str) {
    let r = client
        .get(format!("{uri}/v1/payments/missing"))
        .header("authorization", auth)
        .send()
        .await
        .expect("served");
    assert_eq!(r.status(), 404);
}

fn start_to_first_request(c: &mut Criterion) {
    let rt = runtime();
    // No idle pooling: every server is new, so every first request opens a connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let auth = "Basic dGVzdF9za19mYWtlOg==";
    let mut g = c.benchmark_group("start_to_first_request");
    g.sample_size(40).measurement_time(Duration::from_secs(4));
    // Paced: 1 ms of untimed pause between starts, as a test does work between servers.
    // Each timed iteration is start + first request + drop, for both servers.
    let paced = |b: &mut criterion::Bencher, fake: bool| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                rt.block_on(async {
                    if fake {
                        let toss = FakeToss::start().await;
                        first_request(&client, &toss.uri(), auth).await;
                    } else {
                        let server = MockServer::start().await;
                        first_request(&client, &server.uri(), auth).await;
                    }
                });
                total += t.elapsed();
                std::thread::sleep(Duration::from_millis(1));
            }
            total
        });
    };
    g.bench_function("paced fake-toss FakeToss::start", |b| paced(b, true));
    g.bench_function("paced wiremock MockServer::start (pooled)", |b| {
        paced(b, false)
    });
    g.bench_function("fake-toss FakeToss::start", |b| {
        b.iter(|| {
            rt.block_on(async {
                let toss = FakeToss::start().await;
                first_request(&client, &toss.uri(), auth).await;
            });
        });
    });
    g.bench_function("wiremock MockServer::start (pooled)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let server = MockServer::start().await;
                first_request(&client, &server.uri(), auth).await;
            });
        });
    });
    g.bench_function("wiremock MockServer::builder().start (fresh)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let server = MockServer::builder().start().await;
                first_request(&client, &server.uri(), auth).await;
            });
        });
    });
    g.finish();
}

async fn get_ok(client: &reqwest::Client, url: &str, auth: &str) {
    let r = client
        .get(url)
        .header("authorization", auth)
        .send()
        .await
        .expect("served");
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.expect("body");
    assert!(body.len() > 100);
}

fn lookup(c: &mut Criterion) {
    let rt = runtime();
    let client = reqwest::Client::new();
    let toss = FakeToss::builder().start_blocking();
    let auth = toss.authorization();
    let payment: Value = rt.block_on(async {
        client
            .post(format!("{}/v1/payments/key-in", toss.uri()))
            .header("authorization", &auth)
            .json(&json!({
                "method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "39",
                "cardExpirationMonth": "12", "amount": 15000, "orderId": "bench-order-1",
                "orderName": "bench",
            }))
            .send()
            .await
            .expect("key-in")
            .json()
            .await
            .expect("payment")
    });
    let key = payment["paymentKey"]
        .as_str()
        .expect("paymentKey")
        .to_owned();
    let fake_url = format!("{}/v1/payments/{key}", toss.uri());
    let (mock, mock_url) = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1/payments/[^/]+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&payment))
            .mount(&server)
            .await;
        let url = format!("{}/v1/payments/{key}", server.uri());
        (server, url)
    });

    let mut g = c.benchmark_group("lookup");
    g.sample_size(40).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    g.bench_function("fake-toss sequential", |b| {
        b.iter(|| rt.block_on(get_ok(&client, &fake_url, &auth)));
    });
    g.bench_function("wiremock sequential", |b| {
        b.iter(|| rt.block_on(get_ok(&client, &mock_url, &auth)));
    });
    g.throughput(Throughput::Elements(16));
    let burst = |url: &str| {
        rt.block_on(async {
            let calls = (0..16).map(|_| get_ok(&client, url, &auth));
            futures_join_all(calls).await;
        });
    };
    g.bench_function("fake-toss 16 concurrent", |b| b.iter(|| burst(&fake_url)));
    g.bench_function("wiremock 16 concurrent", |b| b.iter(|| burst(&mock_url)));
    g.finish();
    drop(mock);
}

/// Joins futures without another dependency: spawn-free, polled together by `join!` pairs.
async fn futures_join_all<F: std::future::Future<Output = ()>>(futs: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A/B rounds: start→first request (with a 1 ms pause between starts) and 200-lookup
/// rounds, alternating fake-toss and wiremock; prints medians and ratios.
fn interleaved(_: &mut Criterion) {
    let rt = runtime();
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let auth = "Basic dGVzdF9za19mYWtlOg==";
    let (mut fake_start, mut mock_start) = (Vec::new(), Vec::new());
    for _ in 0..400 {
        let t = Instant::now();
        rt.block_on(async {
            let toss = FakeToss::start().await;
            first_request(&fresh, &toss.uri(), auth).await;
        });
        fake_start.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(1));
        let t = Instant::now();
        rt.block_on(async {
            let server = MockServer::start().await;
            first_request(&fresh, &server.uri(), auth).await;
        });
        mock_start.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(1));
    }
    let (fs, ms) = (median(fake_start), median(mock_start));
    println!(
        "interleaved start->first request (median of 400): fake-toss {fs:?}, wiremock pooled {ms:?}, wiremock/fake = {:.2}",
        ms.as_secs_f64() / fs.as_secs_f64()
    );

    let client = reqwest::Client::new();
    let toss = FakeToss::builder().start_blocking();
    let auth = toss.authorization();
    let (fake_url, mock, mock_url) = rt.block_on(async {
        let payment: Value = client
            .post(format!("{}/v1/payments/key-in", toss.uri()))
            .header("authorization", &auth)
            .json(&json!({
                "method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "39",
                "cardExpirationMonth": "12", "amount": 15000, "orderId": "bench-order-2",
            }))
            .send()
            .await
            .expect("key-in")
            .json()
            .await
            .expect("payment");
        let key = payment["paymentKey"]
            .as_str()
            .expect("paymentKey")
            .to_owned();
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1/payments/[^/]+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&payment))
            .mount(&server)
            .await;
        let mock_url = format!("{}/v1/payments/{key}", server.uri());
        (
            format!("{}/v1/payments/{key}", toss.uri()),
            server,
            mock_url,
        )
    });
    let round = |url: &str| {
        let t = Instant::now();
        rt.block_on(async {
            for _ in 0..200 {
                get_ok(&client, url, &auth).await;
            }
        });
        t.elapsed()
    };
    round(&fake_url);
    round(&mock_url);
    let (mut fake_rounds, mut mock_rounds) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        fake_rounds.push(round(&fake_url));
        mock_rounds.push(round(&mock_url));
    }
    let per_s = |d: Duration| 200.0 / d.as_secs_f64();
    let (f, m) = (per_s(median(fake_rounds)), per_s(median(mock_rounds)));
    println!(
        "interleaved lookups (median of 30 rounds of 200 sequential GETs): fake-toss {f:.0}/s, wiremock {m:.0}/s, fake/wiremock = {:.2}",
        f / m
    );
    drop(mock);
}

criterion_group!(benches, interleaved, start_to_first_request, lookup);
criterion_main!(benches);

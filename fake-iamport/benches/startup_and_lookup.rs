//! Start-up and lookup speed of the fake against a wiremock server returning a canned
//! payment: time from `start()` to the first served request, and sequential
//! `GET /payments/{imp_uid}` lookups over one keep-alive connection.
//!
//! Criterion measures each case; then a paired run alternates the cases round by round
//! (so machine load hits both alike) and prints medians, lookups/s and ratios.
//!
//! Run: `cargo bench -p fake-iamport --bench startup_and_lookup`

use std::time::{Duration, Instant};

use criterion::Criterion;
use fake_iamport::FakeIamport;
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn runtime() -> Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .unwrap_or_default()
}

/// A vbank payment issued through the fake's HTTP API (so the canned body is real).
async fn issue_payment(fake: &FakeIamport, client: &reqwest::Client, token: &str) -> Value {
    let due = fake.now().timestamp() + 86_400;
    let r = client
        .post(format!("{}/vbanks", fake.uri()))
        .header("Authorization", token)
        .json(
            &json!({"merchant_uid": "bench-1", "amount": 1000, "vbank_code": "004",
                      "vbank_due": due, "vbank_holder": "bench"}),
        )
        .send()
        .await;
    match r {
        Ok(r) => r.json::<Value>().await.unwrap_or_default(),
        Err(e) => panic!("issue: {e}"),
    }
}

async fn first_request(client: &reqwest::Client, url: String) {
    match client.get(url).header("Authorization", "x").send().await {
        Ok(r) => {
            let _ = r.bytes().await;
        }
        Err(e) => panic!("first request: {e}"),
    }
}

async fn canned_mock(server: &MockServer, body: Value) {
    Mock::given(method("GET"))
        .and(path_regex("^/payments/.+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// The start-up cases: start, mount/prepare, serve one request from a new client, drop.
#[derive(Clone, Copy, Debug)]
enum Startup {
    Fake,
    /// `MockServer::start()`: wiremock hands out a pooled, already running server.
    WiremockPooled,
    /// `MockServer::builder().listener(..)`: a fresh wiremock server, like the fake's.
    WiremockFresh,
}

async fn start_once(case: Startup) {
    match case {
        Startup::Fake => {
            let fake = FakeIamport::start().await;
            first_request(&client(), format!("{}/payments/imp_1", fake.uri())).await;
        }
        Startup::WiremockPooled => {
            let server = MockServer::start().await;
            canned_mock(&server, json!({"code": 0})).await;
            first_request(&client(), format!("{}/payments/imp_1", server.uri())).await;
        }
        Startup::WiremockFresh => {
            let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
                Ok(l) => l,
                Err(e) => panic!("bind: {e}"),
            };
            let server = MockServer::builder().listener(listener).start().await;
            canned_mock(&server, json!({"code": 0})).await;
            first_request(&client(), format!("{}/payments/imp_1", server.uri())).await;
        }
    }
}

async fn lookup_once(client: &reqwest::Client, url: &str, token: &str) {
    match client.get(url).header("Authorization", token).send().await {
        Ok(r) => {
            let _ = r.bytes().await;
        }
        Err(e) => panic!("lookup: {e}"),
    }
}

struct Targets {
    _fake: FakeIamport,
    _server: MockServer,
    fake_url: String,
    mock_url: String,
    token: String,
}

fn targets(rt: &Runtime, client: &reqwest::Client) -> Targets {
    rt.block_on(async {
        let fake = FakeIamport::start().await;
        let token = fake.access_token();
        let payment = issue_payment(&fake, client, &token).await;
        let imp_uid = payment["response"]["imp_uid"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let fake_url = format!("{}/payments/{imp_uid}", fake.uri());
        let server = MockServer::start().await;
        canned_mock(&server, payment).await;
        let mock_url = format!("{}/payments/{imp_uid}", server.uri());
        Targets {
            _fake: fake,
            _server: server,
            fake_url,
            mock_url,
            token,
        }
    })
}

fn criterion_cases(c: &mut Criterion, rt: &Runtime) {
    let mut g = c.benchmark_group("start_to_first_request");
    g.measurement_time(Duration::from_secs(4));
    for (name, case) in [
        ("fake_iamport", Startup::Fake),
        ("wiremock_pooled", Startup::WiremockPooled),
        ("wiremock_fresh", Startup::WiremockFresh),
    ] {
        g.bench_function(name, |b| b.iter(|| rt.block_on(start_once(case))));
    }
    g.finish();

    let client = client();
    let t = targets(rt, &client);
    let mut g = c.benchmark_group("lookup_payment");
    g.measurement_time(Duration::from_secs(4));
    for (name, url) in [("fake_iamport", &t.fake_url), ("wiremock", &t.mock_url)] {
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(lookup_once(&client, url, &t.token)))
        });
    }
    g.finish();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Alternates the cases round by round and prints medians of per-operation times.
fn paired(rt: &Runtime) {
    const ROUNDS: usize = 15;
    let cases = [
        Startup::Fake,
        Startup::WiremockPooled,
        Startup::WiremockFresh,
    ];
    let mut startup: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..ROUNDS {
        for (i, case) in cases.iter().enumerate() {
            let n = 20;
            let t0 = Instant::now();
            for _ in 0..n {
                rt.block_on(start_once(*case));
            }
            startup[i].push(t0.elapsed().as_secs_f64() / f64::from(n));
        }
    }
    let client = client();
    let t = targets(rt, &client);
    let mut lookups: Vec<Vec<f64>> = vec![Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (i, url) in [&t.fake_url, &t.mock_url].iter().enumerate() {
            let n = 200;
            let t0 = Instant::now();
            rt.block_on(async {
                for _ in 0..n {
                    lookup_once(&client, url, &t.token).await;
                }
            });
            lookups[i].push(t0.elapsed().as_secs_f64() / f64::from(n));
        }
    }
    let s: Vec<f64> = startup.into_iter().map(median).collect();
    let l: Vec<f64> = lookups.into_iter().map(median).collect();
    println!("\npaired run ({ROUNDS} alternating rounds, medians):");
    println!(
        "  start->first request: fake {:.0} µs | wiremock pooled {:.0} µs | wiremock fresh {:.0} µs",
        s[0] * 1e6,
        s[1] * 1e6,
        s[2] * 1e6
    );
    println!(
        "    ratio fake/wiremock-pooled {:.2}, fake/wiremock-fresh {:.2}",
        s[0] / s[1],
        s[0] / s[2]
    );
    println!(
        "  lookups: fake {:.0}/s ({:.0} µs) | wiremock {:.0}/s ({:.0} µs) | fake/wiremock throughput {:.2}",
        1.0 / l[0],
        l[0] * 1e6,
        1.0 / l[1],
        l[1] * 1e6,
        l[1] / l[0]
    );
}

// Written out instead of `criterion_group!`, whose generated fn has no doc comment.
fn main() {
    let rt = runtime();
    let mut c = Criterion::default().configure_from_args();
    criterion_cases(&mut c, &rt);
    c.final_summary();
    paired(&rt);
}

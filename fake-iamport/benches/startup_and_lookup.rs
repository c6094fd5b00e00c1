//! Start-up and lookup speed of the fake against a wiremock server returning a canned
//! payment: time from `start()` to the first served request, and sequential
//! `GET /payments/{imp_uid}` lookups over one keep-alive connection.
//!
//! Run: `cargo bench -p fake-iamport --bench startup_and_lookup`

use std::time::Duration;

use criterion::Criterion;
use fake_iamport::FakeIamport;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn runtime() -> tokio::runtime::Runtime {
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
    let due = fake.now() + 86_400;
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

fn startup(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("start_to_first_request");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("fake_iamport", |b| {
        b.iter(|| {
            rt.block_on(async {
                let fake = FakeIamport::start().await;
                // A fresh client each time: a first request includes the connect.
                first_request(&client(), format!("{}/payments/imp_1", fake.uri())).await;
                fake.shutdown().await;
            })
        })
    });
    g.bench_function("wiremock", |b| {
        b.iter(|| {
            rt.block_on(async {
                let server = MockServer::start().await;
                Mock::given(method("GET"))
                    .and(path_regex("^/payments/.+$"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": 0})))
                    .mount(&server)
                    .await;
                first_request(&client(), format!("{}/payments/imp_1", server.uri())).await;
            })
        })
    });
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let rt = runtime();
    let client = client();
    let (fake, fake_url, token, canned) = rt.block_on(async {
        let fake = FakeIamport::start().await;
        let token = fake.access_token();
        let payment = issue_payment(&fake, &client, &token).await;
        let imp_uid = payment["response"]["imp_uid"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let url = format!("{}/payments/{imp_uid}", fake.uri());
        (fake, url, token, payment)
    });
    let (server, mock_url) = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex("^/payments/.+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(canned))
            .mount(&server)
            .await;
        let url = format!("{}/payments/imp_123456789012", server.uri());
        (server, url)
    });
    let mut g = c.benchmark_group("lookup_payment");
    g.measurement_time(Duration::from_secs(5));
    for (name, url) in [("fake_iamport", &fake_url), ("wiremock", &mock_url)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    match client.get(url).header("Authorization", &token).send().await {
                        Ok(r) => {
                            let _ = r.bytes().await;
                        }
                        Err(e) => panic!("lookup: {e}"),
                    }
                })
            })
        });
    }
    g.finish();
    drop(server);
    drop(fake);
}

// Written out instead of `criterion_group!`, whose generated fn has no doc comment.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    startup(&mut c);
    lookup(&mut c);
    c.final_summary();
}

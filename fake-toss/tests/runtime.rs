//! How the fake runs: any tokio flavour, sync code, parallel instances, shutdown, binary.
#![allow(missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Api;
use fake_toss::FakeToss;

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let toss = FakeToss::start().await;
    assert_eq!(
        toss.uri(),
        format!("http://127.0.0.1:{}", toss.addr().port())
    );
    assert!(!toss.uri().ends_with('/'));
    assert_eq!(toss.secret_key(), fake_toss::DEFAULT_SECRET_KEY);
    let api = Api::new(&toss);
    assert_eq!(
        api.card_payment("order-rt-1", 1_000).await["status"],
        "DONE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_a_multi_thread_runtime() {
    let toss = FakeToss::start().await;
    assert_eq!(
        Api::new(&toss).card_payment("order-rt-2", 1_000).await["status"],
        "DONE"
    );
}

fn raw_get(addr: std::net::SocketAddr, path: &str, auth: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn works_from_plain_sync_code() {
    let toss = FakeToss::builder().start_blocking();
    let answer = raw_get(toss.addr(), "/v1/payments/missing", &toss.authorization());
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("NOT_FOUND_PAYMENT"));
    assert_eq!(toss.received_requests().len(), 1);
    assert_eq!(toss.received_requests()[0].path, "/v1/payments/missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_instances_are_independent() {
    let mut tasks = Vec::new();
    for i in 0..8 {
        tasks.push(tokio::spawn(async move {
            let toss = FakeToss::start().await;
            let api = Api::new(&toss);
            // The same order id in every instance: no instance sees another's.
            let p = api.card_payment("order-shared", 1_000 + i).await;
            assert_eq!(toss.received_requests().len(), 1);
            (toss.addr(), p["totalAmount"].as_i64().unwrap())
        }));
    }
    let mut ports = std::collections::HashSet::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let (addr, amount) = t.await.unwrap();
        assert_eq!(amount, 1_000 + i as i64);
        ports.insert(addr.port());
    }
    assert_eq!(ports.len(), 8);
}

fn refuses(addr: std::net::SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
}

#[tokio::test]
async fn shutdown_and_drop_close_the_port() {
    let toss = FakeToss::start().await;
    let addr = toss.addr();
    toss.hang_next(1);
    // A request left hanging does not keep the server alive.
    let api = Api::new(&toss);
    let hung = tokio::spawn(async move {
        api.http
            .get(format!("{}/v1/payments/x", api.base))
            .header("authorization", api.auth)
            .send()
            .await
    });
    for _ in 0..500 {
        if !toss.received_requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    toss.shutdown().await;
    assert!(refuses(addr));
    assert!(
        hung.await.unwrap().is_err(),
        "the hung request ends with the server"
    );

    let toss = FakeToss::start().await;
    let addr = toss.addr();
    drop(toss);
    let mut closed = false;
    for _ in 0..1000 {
        if refuses(addr) {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(closed, "dropped fake still listening");
}

#[test]
fn the_binary_serves_the_same_api() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-toss"))
        .args([
            "--port",
            "0",
            "--secret-key",
            "test_sk_bin",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let uri = line.split_whitespace().nth(3).unwrap().to_owned();
    let addr: std::net::SocketAddr = uri.trim_start_matches("http://").parse().unwrap();
    use base64::Engine as _;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("test_sk_bin:")
    );
    let answer = raw_get(addr, "/v1/payments/missing", &auth);
    let wrong = raw_get(addr, "/v1/payments/missing", "Basic dGVzdF9za19mYWtlOg==");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
}

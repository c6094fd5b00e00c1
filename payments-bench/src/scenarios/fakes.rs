//! `fake-lookup`: payment lookups on fake-toss (`GET /v1/payments/{paymentKey}`),
//! fake-iamport (`GET /payments/{imp_uid}`) and fake-portone
//! (`GET /payments/{paymentId}`), each right after (and compared with) a wiremock server
//! answering that fake's own answer at the same path, with plain reqwest (no SDK); and
//! the start-up time of each fake against `MockServer::start()` (pooled) and
//! `MockServer::builder().start()` (a fresh server each time). Everything starts with
//! its defaults, as a test suite would start it.

use crate::error::BenchError;
use crate::harness::Pg;
use crate::measure::{Measured, drive};
use crate::options::Scenario;
use crate::report::Row;
use crate::scenarios::Ctx;
use fake_iamport::FakeIamport;
use fake_portone::FakePortOne;
use fake_toss::FakeToss;
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
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

/// GETs `url` with `authorization` on `concurrency` workers, each with its own client.
async fn lookups(ctx: &Ctx<'_>, label: &str, url: String, authorization: String) -> Row {
    let clients: Arc<Vec<reqwest::Client>> = Arc::new(
        (0..ctx.concurrency())
            .map(|_| reqwest::Client::new())
            .collect(),
    );
    let url = Arc::new(url);
    let authorization = Arc::new(authorization);
    let measured = drive(
        &ctx.progress,
        label,
        ctx.concurrency(),
        ctx.budget,
        ctx.warmup,
        move |worker, _| {
            let client = clients[worker].clone();
            let (url, authorization) = (url.clone(), authorization.clone());
            async move {
                let response = client
                    .get(url.as_str())
                    .header("Authorization", authorization.as_str())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let body = response.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() || body.is_empty() {
                    return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
                }
                Ok(())
            }
        },
    )
    .await;
    Row::measured(Scenario::FakeLookup, label, &measured)
}

/// A wiremock server answering `body` (a fake's answer, byte for byte) to `GET path`.
async fn wiremock_serving(path_only: &str, body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(path_only))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}

/// One fake's lookup: its base URL, the path of a payment it holds, the `Authorization`
/// it wants.
struct Target {
    fake: &'static str,
    uri: String,
    path: String,
    authorization: String,
}

/// The fake's lookup row, then wiremock's serving the same answer (rows side by side, so
/// the ratio compares moments of similar machine load), with the ratio in a note.
async fn lookup_pair(ctx: &Ctx<'_>, t: Target) -> Result<Vec<Row>, BenchError> {
    let answer = reqwest::Client::new()
        .get(format!("{}{}", t.uri, t.path))
        .header("Authorization", &t.authorization)
        .send()
        .await
        .map_err(|e| BenchError::Setup(format!("{} lookup: {e}", t.fake)))?
        .bytes()
        .await
        .map_err(|e| BenchError::Setup(format!("{} lookup: {e}", t.fake)))?;
    let wiremock = wiremock_serving(&t.path, answer.to_vec()).await;
    let fake_row = lookups(
        ctx,
        &format!("fake-lookup {}", t.fake),
        format!("{}{}", t.uri, t.path),
        t.authorization.clone(),
    )
    .await;
    let mut mock_row = lookups(
        ctx,
        &format!("fake-lookup wiremock for {}", t.fake),
        format!("{}{}", wiremock.uri(), t.path),
        t.authorization,
    )
    .await;
    drop_off_runtime(wiremock).await;
    let ratio = fake_row.ops_per_sec / mock_row.ops_per_sec.max(f64::MIN_POSITIVE);
    mock_row.note = Some(format!(
        "wiremock answering {}'s answer at the same path; {} / wiremock = {ratio:.2}x",
        t.fake, t.fake
    ));
    Ok(vec![fake_row, mock_row])
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
            uri: toss.uri(),
            path: format!("/v1/payments/{payment_key}"),
            authorization: toss.authorization(),
        },
        Target {
            fake: "fake-iamport",
            uri: iamport.uri(),
            path: format!("/payments/{imp_uid}"),
            authorization: token,
        },
        Target {
            fake: "fake-portone",
            uri: portone.uri(),
            path: "/payments/lookup-3".into(),
            authorization: portone.authorization(),
        },
    ];
    for target in targets {
        rows.extend(lookup_pair(ctx, target).await?);
    }
    Ok(rows)
}

//! `fake-lookup`: payment lookups on fake-toss (`GET /v1/payments/{paymentKey}`) and
//! fake-iamport (`GET /payments/{imp_uid}`) next to a wiremock server serving the same
//! canned Toss payment, with plain reqwest (no SDK); and the start-up time of each,
//! `FakeToss::start()` / `FakeIamport::start()` against `MockServer::start()` (pooled)
//! and `MockServer::builder().start()` (a fresh server each time). All three
//! start with their defaults, as a test suite would call them.

use crate::error::BenchError;
use crate::harness::Pg;
use crate::measure::{Measured, drive};
use crate::options::Scenario;
use crate::report::Row;
use crate::scenarios::Ctx;
use fake_iamport::FakeIamport;
use fake_toss::FakeToss;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use wiremock::matchers::{method, path_regex};
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

/// The start rows, then the lookup rows.
///
/// # Errors
/// When a payment cannot be made at a fake.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let starts = ctx.options.starts;
    let mut rows = vec![
        time_starts("start fake-toss", starts, FakeToss::start).await,
        time_starts("start fake-iamport", starts, FakeIamport::start).await,
        time_starts("start wiremock", starts, MockServer::start).await,
        time_starts("start wiremock builder", starts, || {
            MockServer::builder().start()
        })
        .await,
    ];
    if let Some(row) = rows.get_mut(2) {
        row.note = Some(format!(
            "{}; MockServer::start() takes servers from a pool that dropped ones return to, so \
             after the first start it hands back a running server",
            row.note.take().unwrap_or_default()
        ));
    }
    if let Some(row) = rows.get_mut(3) {
        row.note = Some(format!(
            "{}; MockServer::builder().start() binds a fresh server every time (no pool)",
            row.note.take().unwrap_or_default()
        ));
    }

    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    let pg = Pg::new(&toss, &iamport);
    let payment_key = pg
        .toss_card("lookup-1", 15_000)
        .await
        .map_err(BenchError::Setup)?;
    let canned = pg
        .toss_payment(&payment_key)
        .await
        .map_err(BenchError::Setup)?;
    let token = pg.iamport_token().await.map_err(BenchError::Setup)?;
    let imp_uid = pg
        .iamport_card(&token, "lookup-2", 15_000)
        .await
        .map_err(BenchError::Setup)?;
    let wiremock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/payments/[^/]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&canned))
        .mount(&wiremock)
        .await;

    rows.push(
        lookups(
            ctx,
            "fake-lookup fake-toss",
            format!("{}/v1/payments/{payment_key}", toss.uri()),
            toss.authorization(),
        )
        .await,
    );
    rows.push(
        lookups(
            ctx,
            "fake-lookup fake-iamport",
            format!("{}/payments/{imp_uid}", iamport.uri()),
            token,
        )
        .await,
    );
    rows.push(
        lookups(
            ctx,
            "fake-lookup wiremock",
            format!("{}/v1/payments/{payment_key}", wiremock.uri()),
            toss.authorization(),
        )
        .await,
    );
    drop_off_runtime(wiremock).await;
    Ok(rows)
}

//! `webhook`: virtual-account deposits at fake-iamport at a fixed rate -> the fake's
//! webhook to the server -> the server asks the PG, updates the history and writes the
//! outbox row in one transaction -> the outbox delivers to the in-process receiver,
//! which verifies it. Latency is from the deposit call to the verified receipt.

use crate::error::BenchError;
use crate::harness::{Engine, PASSWORD, STORE, Stack};
use crate::measure::{Budget, Measured};
use crate::options::Scenario;
use crate::report::Row;
use crate::scenarios::Ctx;
use futures::StreamExt;
use payments_core::records::{PaymentHistoryCreate, Source, Vendor, VendorCode};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// How long after the last deposit missing webhooks are waited for.
const DRAIN: Duration = Duration::from_secs(10);
/// Concurrent setup calls (virtual accounts and history registrations).
const SETUP_CONCURRENCY: usize = 16;
/// How long the setup's own webhooks (`ready`, one per virtual account) may take to go
/// through before the measured deposits start.
const SETTLE: Duration = Duration::from_secs(30);

/// Runs the webhook row.
///
/// # Errors
/// When the stack does not start or the virtual accounts cannot be prepared.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let mut rows = vec![run_on(ctx, Engine::Sqlite).await?];
    for engine in ctx.postgres_engines() {
        let row = run_on(ctx, engine).await?;
        rows.push(crate::scenarios::histories::engine_note(row, engine));
    }
    Ok(rows)
}

/// One webhook row on `engine` (on two instances the PG's webhooks reach the first,
/// and both instances' workers deliver).
async fn run_on(ctx: &mut Ctx<'_>, engine: Engine<'_>) -> Result<Row, BenchError> {
    let rate = ctx.options.webhook_rate.max(1);
    let count = match ctx.budget {
        Budget::Count(count) => count,
        Budget::For(duration) => (duration.as_secs_f64() * f64::from(rate)).ceil() as u64,
    }
    .max(1);
    let (stack, _) = Stack::start_on(engine, &[]).await?;
    let label = format!("webhook {rate}/s{}", engine.suffix());

    // Setup, not measured: a waiting virtual account and its history per deposit.
    let started = Instant::now();
    let token = stack.pg.iamport_token().await.map_err(BenchError::Setup)?;
    let client = stack.client()?;
    let receiver_url = stack.receiver.url.clone();
    let pg = stack.pg.clone();
    let prepared: Vec<Result<(String, String), String>> = futures::stream::iter(0..count)
        .map(|n| {
            let (pg, client, token, receiver_url) = (
                pg.clone(),
                client.clone(),
                token.clone(),
                receiver_url.clone(),
            );
            async move {
                let order = format!("vbank-{n}");
                let imp_uid = pg.iamport_vbank(&token, &order, 50_000).await?;
                let input = PaymentHistoryCreate {
                    vendor: Vendor {
                        code: VendorCode::Iamport,
                        store_id: STORE.into(),
                        uid: imp_uid.clone(),
                    },
                    source: Source {
                        schema: "bench".into(),
                        table: "orders".into(),
                        id: order.clone(),
                    },
                    price: 50_000,
                    password: PASSWORD.into(),
                    webhook_url: Some(receiver_url),
                };
                client
                    .histories()
                    .create(&input)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok((order, imp_uid))
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await;
    let prepared: Vec<(String, String)> = prepared
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| BenchError::Setup(format!("webhook setup: {e}")))?;
    // Issuing each virtual account sends its `ready` webhook, and the fake sends first
    // attempts one at a time in order: unless they are all through before the first
    // deposit, every deposit's webhook queues behind the setup's (that backlog, not the
    // server, was the ~1 s of this row). Setup is not measured, so wait for it.
    let settled = stack
        .iamport
        .wait_for_webhooks(prepared.len(), SETTLE, |w| w.event_type == "ready")
        .await
        .len();
    ctx.notes.push(format!(
        "{label}: {} virtual accounts issued and registered, {settled} of their `ready` \
         webhooks through, in {:.2?}",
        prepared.len(),
        started.elapsed()
    ));

    // Open loop: one deposit every 1/rate seconds, whatever the server is doing.
    let done = Arc::new(AtomicU64::new(0));
    let bar = ctx.progress.bar(&label, Budget::Count(count), done.clone());
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut deposit_errors = Measured::default();
    let started = Instant::now();
    for (order, imp_uid) in &prepared {
        ticks.tick().await;
        stack.receiver.expect(order);
        if let Err(error) = stack.iamport.deposit(imp_uid).await {
            stack.receiver.forget(order);
            deposit_errors.add(Err(format!("deposit {imp_uid}: {error}")));
        }
        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let mut measured = stack.receiver.wait_all(DRAIN).await;
    measured.elapsed = started.elapsed();
    measured.merge(deposit_errors);
    bar.finish();
    stack.stop().await;
    Ok(Row::measured(Scenario::Webhook, label, &measured).with_note(
        "latency from FakeIamport::deposit to the verified receipt; ops/s = receipts per second",
    ))
}

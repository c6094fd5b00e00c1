//! The history rows, at the server's default configuration: `history-read`
//! (`histories().at` on preloaded records, closed loop and open loop), `history-create`
//! (a Toss card payment at the fake, then registered: verified with the PG, sealed,
//! stored) and `scale` (history-read at growing numbers of stored histories).

use crate::error::BenchError;
use crate::harness::{Engine, PASSWORD, STORE, Stack};
use crate::measure::{drive, drive_rate, mix};
use crate::options::Scenario;
use crate::preload::PreloadSet;
use crate::report::Row;
use crate::scenarios::{Ctx, TWO_INSTANCES};
use payments_client::PaymentsClient;
use payments_core::records::{Password, PaymentHistoryCreate, Source, Vendor, VendorCode};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Reads random records of `ids` with the record password, checking each answer, on
/// one connection per client.
pub(crate) async fn read_row(
    ctx: &Ctx<'_>,
    scenario: Scenario,
    label: &str,
    clients: Arc<Vec<PaymentsClient>>,
    ids: Arc<Vec<Uuid>>,
    warmup: Duration,
) -> Row {
    let measured = drive(
        &ctx.progress,
        label,
        clients.len(),
        ctx.budget,
        warmup,
        move |worker, sequence| read_one(clients[worker].clone(), ids.clone(), sequence),
    )
    .await;
    Row::measured(scenario, label, &measured)
}

/// Reads the record `sequence` picks (uniformly) and checks the answer is that record.
pub(crate) async fn read_one(
    client: PaymentsClient,
    ids: Arc<Vec<Uuid>>,
    sequence: u64,
) -> Result<(), String> {
    if ids.is_empty() {
        return Err("no preloaded histories".to_owned());
    }
    let id = ids[(mix(sequence) % ids.len() as u64) as usize];
    let password = Password {
        password: PASSWORD.to_owned().into(),
    };
    let history = client
        .histories()
        .at(id, &password)
        .await
        .map_err(|e| e.to_string())?;
    if history.id != id {
        return Err(format!("asked for {id}, got {}", history.id));
    }
    Ok(())
}

/// `history-read`, closed loop and at `--read-rate` open loop.
///
/// # Errors
/// When the stack does not start.
pub async fn read(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let options = ctx.options;
    let set = PreloadSet {
        count: options.preload.max(1),
        prefix: "read".into(),
    };
    let (stack, mut preloaded) = Stack::start(std::slice::from_ref(&set)).await?;
    let loaded = preloaded
        .pop()
        .ok_or_else(|| BenchError::Setup("history-read: nothing was preloaded".into()))?;
    let clients = stack.clients(ctx.concurrency())?;
    ctx.notes.push(format!(
        "history-read: {} histories preloaded in {:.2?}",
        loaded.ids.len(),
        loaded.elapsed
    ));
    let ids = Arc::new(loaded.ids);
    let mut rows = vec![
        read_row(
            ctx,
            Scenario::HistoryRead,
            "history-read",
            clients.clone(),
            ids.clone(),
            ctx.warmup,
        )
        .await,
    ];
    let rate = options.read_rate.max(1);
    let label = format!("history-read open-loop {rate}/s");
    let measured = drive_rate(
        &ctx.progress,
        &label,
        ctx.concurrency(),
        rate,
        ctx.budget,
        move |slot, sequence| read_one(clients[slot].clone(), ids.clone(), sequence),
    )
    .await;
    rows.push(
        Row::measured(Scenario::HistoryRead, label, &measured).with_note(
            "fixed arrival rate over the same connections; latency from when each read was due",
        ),
    );
    stack.stop().await;
    for engine in ctx.postgres_engines() {
        let (stack, mut preloaded) = Stack::start_on(engine, std::slice::from_ref(&set)).await?;
        let loaded = preloaded
            .pop()
            .ok_or_else(|| BenchError::Setup("history-read: nothing was preloaded".into()))?;
        let label = format!("history-read{}", engine.suffix());
        ctx.notes.push(format!(
            "{label}: {} histories preloaded in {:.2?}",
            loaded.ids.len(),
            loaded.elapsed
        ));
        let clients = stack.clients(ctx.concurrency())?;
        let row = read_row(
            ctx,
            Scenario::HistoryRead,
            &label,
            clients,
            Arc::new(loaded.ids),
            ctx.warmup,
        )
        .await;
        rows.push(engine_note(row, engine));
        stack.stop().await;
    }
    Ok(rows)
}

/// Notes a row of two instances as such.
pub(crate) fn engine_note(row: Row, engine: Engine<'_>) -> Row {
    match engine {
        Engine::Postgres { instances, .. } if instances > 1 => row.with_note(TWO_INSTANCES),
        _ => row,
    }
}

/// `history-create`: a Toss card payment at the fake, then registered with the server.
///
/// # Errors
/// When the stack does not start.
pub async fn create(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let mut rows = vec![create_on(ctx, Engine::Sqlite).await?];
    for engine in ctx.postgres_engines() {
        let row = create_on(ctx, engine).await?;
        rows.push(engine_note(row, engine));
    }
    Ok(rows)
}

/// One `history-create` row on `engine`.
async fn create_on(ctx: &mut Ctx<'_>, engine: Engine<'_>) -> Result<Row, BenchError> {
    let (stack, _) = Stack::start_on(engine, &[]).await?;
    let clients = stack.clients(ctx.concurrency())?;
    let pg = stack.pg.clone();
    let label = format!("history-create{}", engine.suffix());
    let measured = drive(
        &ctx.progress,
        &label,
        ctx.concurrency(),
        ctx.budget,
        ctx.warmup,
        move |worker, sequence| {
            let client = clients[worker].clone();
            let pg = pg.clone();
            async move {
                let order = format!("create-{sequence}");
                let payment_key = pg.toss_card(&order, 15_000).await?;
                let input = PaymentHistoryCreate {
                    vendor: Vendor {
                        code: VendorCode::TossPayments,
                        store_id: STORE.into(),
                        uid: payment_key,
                    },
                    source: Source {
                        schema: "bench".into(),
                        table: "orders".into(),
                        id: order,
                    },
                    price: 15_000,
                    password: PASSWORD.to_owned().into(),
                    webhook_url: None,
                };
                let history = client
                    .histories()
                    .create(&input)
                    .await
                    .map_err(|e| e.to_string())?;
                if history.price != 15_000 || history.paid_at.is_none() {
                    return Err(format!(
                        "unexpected history: price {} paid_at {:?}",
                        history.price, history.paid_at
                    ));
                }
                Ok(())
            }
        },
    )
    .await;
    stack.stop().await;
    Ok(Row::measured(Scenario::HistoryCreate, label, &measured)
        .with_note("one operation = key-in card payment at fake-toss + histories().create"))
}

/// `scale`: history-read on a server holding each of `--scale` histories.
///
/// # Errors
/// When a stack does not start or the preload fails.
pub async fn scale(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let mut rows = Vec::new();
    let sizes = ctx.options.scale.clone();
    for count in sizes {
        let set = PreloadSet {
            count: count.max(1),
            prefix: "scale".into(),
        };
        let (stack, mut preloaded) = Stack::start(std::slice::from_ref(&set)).await?;
        let loaded = preloaded
            .pop()
            .ok_or_else(|| BenchError::Setup("scale: nothing was preloaded".into()))?;
        let label = format!("scale {count}");
        let size = std::fs::metadata(&stack.database)
            .map(|m| m.len())
            .unwrap_or(0);
        ctx.notes.push(format!(
            "{label}: {} histories preloaded in {:.2?} ({} MiB database)",
            loaded.ids.len(),
            loaded.elapsed,
            size / (1024 * 1024)
        ));
        let clients = stack.clients(ctx.concurrency())?;
        let ids = Arc::new(loaded.ids);
        rows.push(read_row(ctx, Scenario::Scale, &label, clients, ids, ctx.warmup).await);
        stack.stop().await;
    }
    Ok(rows)
}

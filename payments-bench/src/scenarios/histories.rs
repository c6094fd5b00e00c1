//! The history rows: `history-read` (`histories().at` on preloaded records, at the low
//! and the configured PBKDF2 factor), `history-create` (a Toss card payment at the fake,
//! then registered: verified with the PG, sealed, stored) and `scale` (history-read at
//! growing numbers of stored histories).

use crate::error::BenchError;
use crate::harness::{PASSWORD, STORE, Stack};
use crate::measure::{drive, drive_rate, mix};
use crate::options::Scenario;
use crate::preload::PreloadSet;
use crate::report::Row;
use crate::scenarios::Ctx;
use payments_client::PaymentsClient;
use payments_core::records::{Password, PaymentHistoryCreate, Source, Vendor, VendorCode};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Records preloaded at the configured factor: hashing them costs nothing (one hash is
/// shared), but reading each costs a full PBKDF2 run, so a few suffice.
const CONFIGURED_RECORDS: usize = 256;

/// Reads random records of `ids` with the record password, checking each answer.
async fn read_row(
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
        ctx.concurrency(),
        ctx.budget,
        warmup,
        move |worker, sequence| read_one(clients[worker].clone(), ids.clone(), sequence),
    )
    .await;
    Row::measured(scenario, label, &measured)
}

/// Reads the record `sequence` picks (uniformly) and checks the answer is that record.
async fn read_one(
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

/// `history-read` at the low and at the configured factor.
///
/// # Errors
/// When the stack does not start.
pub async fn read(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let options = ctx.options;
    let sets = [
        PreloadSet {
            count: options.preload.max(1),
            iterations: options.iterations_low,
            prefix: "low".into(),
        },
        PreloadSet {
            count: options.preload.clamp(1, CONFIGURED_RECORDS),
            iterations: options.iterations,
            prefix: "configured".into(),
        },
    ];
    let (stack, preloaded) = Stack::start(options.iterations_low, &sets).await?;
    let clients = stack.clients(ctx.concurrency())?;
    let mut rows = Vec::new();
    let mut low_ids = None;
    for (set, loaded) in sets.iter().zip(preloaded) {
        let label = format!("history-read pbkdf2={}", set.iterations);
        ctx.notes.push(format!(
            "{label}: {} histories preloaded in {:.2?}",
            loaded.ids.len(),
            loaded.elapsed
        ));
        let ids = Arc::new(loaded.ids);
        let warmup = ctx.warmup_at(set.iterations);
        rows.push(
            read_row(
                ctx,
                Scenario::HistoryRead,
                &label,
                clients.clone(),
                ids.clone(),
                warmup,
            )
            .await,
        );
        low_ids.get_or_insert(ids);
    }
    if let Some(ids) = low_ids {
        let rate = options.read_rate.max(1);
        let label = format!(
            "history-read pbkdf2={} open-loop {rate}/s",
            options.iterations_low
        );
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
    }
    stack.stop().await;
    Ok(rows)
}

/// `history-create` at the low and at the configured factor, each on its own server
/// (the factor is the server's `password_iterations`).
///
/// # Errors
/// When a stack does not start.
pub async fn create(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let mut rows = Vec::new();
    for iterations in [ctx.options.iterations_low, ctx.options.iterations] {
        let (stack, _) = Stack::start(iterations, &[]).await?;
        let clients = stack.clients(ctx.concurrency())?;
        let pg = stack.pg.clone();
        let label = format!("history-create pbkdf2={iterations}");
        let warmup = ctx.warmup_at(iterations);
        let measured = drive(
            &ctx.progress,
            &label,
            ctx.concurrency(),
            ctx.budget,
            warmup,
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
        rows.push(
            Row::measured(Scenario::HistoryCreate, label, &measured)
                .with_note("one operation = key-in card payment at fake-toss + histories().create"),
        );
        stack.stop().await;
    }
    Ok(rows)
}

/// `scale`: history-read (low factor) on a server holding each of `--scale` histories.
///
/// # Errors
/// When a stack does not start or the preload fails.
pub async fn scale(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let mut rows = Vec::new();
    let sizes = ctx.options.scale.clone();
    for count in sizes {
        let set = PreloadSet {
            count: count.max(1),
            iterations: ctx.options.iterations_low,
            prefix: "scale".into(),
        };
        let (stack, mut preloaded) =
            Stack::start(ctx.options.iterations_low, std::slice::from_ref(&set)).await?;
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

//! `flood`: `--concurrency` connections send wrong passwords for random records of one
//! preloaded set (each record takes five, then answers `429`), and while they do, a few
//! other connections time `/monitors/health` and correct reads of records of another
//! set. Three rows: the guesses (a refusal, `403` or `429`, is the expected answer),
//! health under the flood, and correct reads under the flood.

use crate::error::BenchError;
use crate::harness::Stack;
use crate::measure::{Measured, drive, mix};
use crate::options::Scenario;
use crate::preload::PreloadSet;
use crate::report::Row;
use crate::scenarios::Ctx;
use crate::scenarios::histories::read_row;
use payments_client::{ErrorCode, PaymentsClient};
use payments_core::records::Password;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use uuid::Uuid;

/// Connections that time health and correct reads during the flood.
const OBSERVERS: usize = 4;

/// One wrong password for a random record of `ids`; a refusal is the success.
async fn guess(client: &PaymentsClient, ids: &[Uuid], sequence: u64) -> Result<(), String> {
    let id = ids[(mix(sequence) % ids.len() as u64) as usize];
    let wrong = Password {
        password: format!("guess-{sequence}").into(),
    };
    match client.histories().at(id, &wrong).await {
        Ok(_) => Err(format!("a wrong password opened {id}")),
        Err(error)
            if matches!(
                error.code(),
                Some(ErrorCode::WrongPassword | ErrorCode::TooManyAttempts)
            ) =>
        {
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

/// The three flood rows.
///
/// # Errors
/// When the stack does not start.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let count = ctx.options.preload.max(1);
    let sets = [
        PreloadSet {
            count,
            prefix: "flooded".into(),
        },
        PreloadSet {
            count,
            prefix: "observed".into(),
        },
    ];
    let (stack, mut preloaded) = Stack::start(&sets).await?;
    let (Some(observed), Some(flooded)) = (preloaded.pop(), preloaded.pop()) else {
        return Err(BenchError::Setup("flood: nothing was preloaded".into()));
    };
    let flooded = Arc::new(flooded.ids);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut flooders = Vec::new();
    for (worker, client) in stack.clients(ctx.concurrency())?.iter().enumerate() {
        let (client, ids, stop) = (client.clone(), flooded.clone(), stop.clone());
        flooders.push(tokio::spawn(async move {
            let mut measured = Measured::default();
            let mut sequence = worker as u64;
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let outcome = guess(&client, &ids, sequence).await;
                measured.add(outcome.map(|()| start.elapsed()));
                sequence += 1 << 20;
            }
            measured
        }));
    }

    let health_clients = stack.clients(OBSERVERS)?;
    let health = drive(
        &ctx.progress,
        "flood health",
        OBSERVERS,
        ctx.budget,
        ctx.warmup,
        move |worker, _| {
            let client = health_clients[worker].clone();
            async move {
                client
                    .monitors()
                    .health()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        },
    )
    .await;
    let mut rows = vec![
        Row::measured(Scenario::Flood, "flood health", &health).with_note(format!(
            "GET /monitors/health on {OBSERVERS} connections while {} connections send wrong passwords",
            ctx.concurrency()
        )),
    ];
    let read = read_row(
        ctx,
        Scenario::Flood,
        "flood read",
        stack.clients(OBSERVERS)?,
        Arc::new(observed.ids),
        ctx.warmup,
    )
    .await;
    rows.push(read.with_note(format!(
        "correct reads of other records on {OBSERVERS} connections while {} connections send wrong passwords",
        ctx.concurrency()
    )));

    stop.store(true, Ordering::Relaxed);
    let mut guesses = Measured::default();
    for flooder in flooders {
        match flooder.await {
            Ok(measured) => guesses.merge(measured),
            Err(error) => guesses.add(Err(format!("a flood task died: {error}"))),
        }
    }
    guesses.elapsed = started.elapsed();
    let checks = stack.server.password_checks();
    rows.insert(
        0,
        Row::measured(Scenario::Flood, "flood guesses", &guesses).with_note(format!(
            "wrong passwords for {} records, each answered 403 or 429; {checks} password hashes checked in all",
            flooded.len()
        )),
    );
    stack.stop().await;
    Ok(rows)
}

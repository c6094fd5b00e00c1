//! The sweep: a background task that deletes what has expired — idempotency keys past
//! `[idempotency] ttl_ms`, accepted certifications too old to be presented again — at
//! start and then every `[idempotency] sweep_interval_ms`,
//! in batches of `sweep_batch`, so the tables do not grow for ever and no statement
//! deletes more than one batch. Several instances on one database may sweep at once:
//! a delete of what another already deleted deletes nothing.

use crate::app::App;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The most batches one round deletes; what is left waits for the next round, so a
/// backlog (a first start after a long time) is worked off without holding the writer.
const MAX_BATCHES_PER_ROUND: u32 = 100;

/// Runs until `shutdown` turns true (or its sender is gone).
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(app.config.idempotency.sweep_interval_ms.max(10));
    loop {
        if *shutdown.borrow() {
            return;
        }
        sweep_once(&app).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// One round: deletes expired idempotency keys, then forgotten certifications, batch by
/// batch until a batch comes back short (none left) or [`MAX_BATCHES_PER_ROUND`] ran;
/// returns how many rows it deleted. Failures are logged: the next round tries again.
pub async fn sweep_once(app: &App) -> u64 {
    let keys = batches("idempotency keys", app, |limit| {
        let expired_before = crate::http::idempotency::expired_before(app, app.now_ms());
        app.store.idempotency_sweep(expired_before, limit)
    })
    .await;
    let certifications = batches("certification uses", app, |limit| {
        app.store
            .certification_sweep(crate::certifications::forget_before(app), limit)
    })
    .await;
    keys + certifications
}

/// Runs `delete` (given the batch size) until a batch comes back short.
async fn batches<'a, F, Fut>(what: &str, app: &App, delete: F) -> u64
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = Result<u64, crate::store::StoreError>> + 'a,
{
    let batch = app.config.idempotency.sweep_batch.max(1);
    let mut deleted = 0;
    for _ in 0..MAX_BATCHES_PER_ROUND {
        match delete(batch).await {
            Ok(count) => {
                deleted += count;
                if count < u64::from(batch) {
                    break;
                }
            }
            Err(error) => {
                tracing::error!(%error, "sweep: cannot delete expired {what}");
                break;
            }
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "sweep: expired {what} deleted");
    }
    deleted
}

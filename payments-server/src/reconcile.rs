//! The reconciliation worker: a PG webhook may never arrive (the server was down longer
//! than the PG's retries, or the webhook was lost on the way), so every history whose
//! payment is not final at the PG is asked about again until it is: a virtual account
//! awaiting its deposit (checked from the moment it is recorded), and a payment a cancel
//! was sent for (checked once its answer is overdue, in case it was lost). What the PG
//! says is applied exactly as a webhook's fetch is, through the same coalesced path
//! (`webhooks::intake::refresh_coalesced`): the history, its transaction and
//! the outbox messages (the caller's webhook, the merchant's events) in one database
//! transaction. A charge whose outcome its request never learned (the PG's answer
//! lost, the caller never retrying) is resolved by asking the PG for its order
//! ([`crate::pending_charges`]).
//!
//! Bounds: one round per `[reconcile] interval_ms`, at most `max_per_round` PG lookups
//! per round, one at a time; a payment still waiting is asked again after a backoff
//! that doubles from `interval_ms` up to `max_backoff_ms` (kept per history, its
//! `next_check_at`).
//!
//! Several instances on one database: each round *claims* its checks (the rows' next
//! check moves to the end of a lease, `FOR UPDATE SKIP LOCKED` on PostgreSQL), as the
//! outbox claims deliveries, so two instances do not ask the PG about the same payment
//! at once; and applying is idempotent anyway (version-checked, a view applied twice
//! changes nothing the second time), so a claim that ran out while its worker was
//! still asking costs a second lookup, never a second webhook.

use crate::app::App;
use crate::pending_charges::Resolution;
use crate::store::checks::awaits_pg;
use crate::store::{DueChargeCheck, DueCheck};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Runs a round every `[reconcile] interval_ms`, the first one interval after start
/// (so a start, or a rolling restart of several instances, is not a burst of PG
/// lookups on top of the start itself), until `shutdown` turns true; a round stops
/// between two checks when it does, and gives its unchecked claims back.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let interval = Duration::from_millis(app.config.reconcile.interval_ms.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        round(&app, &shutdown).await;
    }
}

/// How long a claim lasts: one PG lookup at its time limit, and time to apply what it
/// found. A worker that dies holding claims delays those checks this long, no longer.
fn lease_ms(app: &App) -> i64 {
    let per_call = i64::try_from(app.config.vendors.timeout_ms).unwrap_or(i64::MAX / 4);
    per_call.saturating_mul(2).saturating_add(10_000)
}

/// Claims the due checks (at most `max_per_round` in all, histories first, then
/// pending charges) and makes them one after the other. Returns how many were made.
pub async fn round(app: &Arc<App>, shutdown: &watch::Receiver<bool>) -> usize {
    let budget = app.config.reconcile.max_per_round;
    let now = app.now_ms();
    let claimed_until = now.saturating_add(lease_ms(app));
    let due = match app.store.claim_checks(now, claimed_until, budget).await {
        Ok(due) => due,
        Err(error) => {
            tracing::error!(%error, "reconcile: cannot claim due checks");
            Vec::new()
        }
    };
    let mut made = 0;
    for check in due {
        if *shutdown.borrow() {
            // Given back, due at once: the next start (or another instance) takes it.
            give_back(app, &check, claimed_until).await;
            continue;
        }
        check_one(app, check, claimed_until).await;
        made += 1;
    }
    let left = budget.saturating_sub(made);
    if left == 0 || *shutdown.borrow() {
        return made;
    }
    let now = app.now_ms();
    let claimed_until = now.saturating_add(lease_ms(app));
    let charges = match app
        .store
        .claim_charge_checks(now, claimed_until, left)
        .await
    {
        Ok(due) => due,
        Err(error) => {
            tracing::error!(%error, "reconcile: cannot claim due charge checks");
            return made;
        }
    };
    for check in charges {
        if *shutdown.borrow() {
            let id = check.transaction_id;
            let back = app
                .store
                .finish_charge_check(id, claimed_until, Some(app.now_ms()), check.checks)
                .await;
            if let Err(error) = back {
                tracing::warn!(transaction = %id, %error, "reconcile: a claim was not given back; it runs out on its own");
            }
            continue;
        }
        check_charge(app, check, claimed_until).await;
        made += 1;
    }
    made
}

/// Resolves one pending charge ([`crate::pending_charges`]) and sets its next check.
async fn check_charge(app: &Arc<App>, check: DueChargeCheck, claimed_until: i64) {
    let DueChargeCheck {
        transaction_id,
        context_sealed,
        checks,
    } = check;
    let checks = checks.saturating_add(1);
    let again = match crate::pending_charges::resolve(app, transaction_id, &context_sealed).await {
        Ok(Resolution::Final) => false,
        Ok(Resolution::Again) => true,
        Err(error) => {
            tracing::warn!(transaction = %transaction_id, %error, checks, "reconcile: a pending charge could not be resolved; asking again later");
            true
        }
    };
    let next = again.then(|| next_after(app, checks));
    if let Err(error) = app
        .store
        .finish_charge_check(transaction_id, claimed_until, next, checks)
        .await
    {
        tracing::error!(transaction = %transaction_id, %error, "reconcile: cannot record a charge check; it is made again once its claim runs out");
    }
}

/// When to check again after the `checks`-th check.
fn next_after(app: &App, checks: u32) -> i64 {
    let wait = app.config.reconcile.backoff(checks);
    app.now_ms()
        .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4))
}

/// Asks the PG about one history, applies what changed, and sets its next check.
async fn check_one(app: &Arc<App>, check: DueCheck, claimed_until: i64) {
    let DueCheck { history, checks } = check;
    let id = history.id;
    let vendor = history.vendor.code;
    let checks = checks.saturating_add(1);
    let still_waiting = match crate::webhooks::intake::refresh_coalesced(app, history).await {
        Ok(Some(current)) => awaits_pg(current.status),
        // A fetch of it ran within the coalescing window (a webhook's, or this worker's
        // own a moment ago), and its follow-up fetches once more: what it applied is
        // what the store holds now.
        Ok(None) => match app.store.history_by_id(id).await {
            Ok(Some(current)) => awaits_pg(current.status),
            Ok(None) => false,
            Err(_) => true,
        },
        Err(error) => {
            tracing::warn!(history = %id, vendor = %vendor, %error, checks, "reconcile: the PG could not be asked, or its answer not applied; asking again later");
            true
        }
    };
    let next = still_waiting.then(|| next_after(app, checks));
    if let Err(error) = app
        .store
        .finish_check(id, claimed_until, next, checks)
        .await
    {
        tracing::error!(history = %id, %error, "reconcile: cannot record a check; it is made again once its claim runs out");
    }
}

async fn give_back(app: &App, check: &DueCheck, claimed_until: i64) {
    let id = check.history.id;
    if let Err(error) = app
        .store
        .finish_check(id, claimed_until, Some(app.now_ms()), check.checks)
        .await
    {
        tracing::warn!(history = %id, %error, "reconcile: a claim was not given back; it runs out on its own");
    }
}

//! Monitors: `health` (plain), `performance` and `system` (sealed-v2 only, never compat:
//! see [`super::envelope::SealedGet`]).

use super::envelope::SealedGet;
use crate::app::App;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// `GET /monitors/health`: the server is up and its database answers. Anyone may ask,
/// so a failure says only "unhealthy": the database's error (paths, hosts, SQL) goes to
/// the log.
pub async fn health(State(app): State<Arc<App>>) -> Response {
    match app.store.outbox_depth().await {
        Ok(_) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(error) => {
            tracing::error!(%error, "health: the database does not answer");
            super::error::ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                payments_core::records::ErrorCode::Unhealthy,
                "unhealthy",
            )
            .into_response()
        }
    }
}

/// `GET /monitors/performance` body.
#[derive(Debug, Serialize)]
pub struct Performance {
    /// CPU time used by the process.
    pub cpu: Cpu,
    /// Memory used by the process.
    pub memory: Memory,
    /// Server resources.
    pub resource: Resource,
}

/// CPU time in milliseconds (from `/proc/self/stat`; zero where unavailable).
#[derive(Debug, Serialize)]
pub struct Cpu {
    /// User-mode CPU time.
    pub user_ms: u64,
    /// Kernel-mode CPU time.
    pub system_ms: u64,
}

/// Memory in bytes (from `/proc/self/statm`; zero where unavailable).
#[derive(Debug, Serialize)]
pub struct Memory {
    /// Resident set size.
    pub resident: u64,
    /// Virtual size.
    pub virtual_size: u64,
}

/// What the server is holding.
#[derive(Debug, Serialize)]
pub struct Resource {
    /// Requests being served (open request connections).
    pub open_connections: i64,
    /// Webhook deliveries pending in the outbox.
    pub outbox_depth: i64,
    /// PG payments a webhook named that no history holds, kept for an operator (see
    /// `docs/operations.md`, "Unknown payments").
    pub unknown_payments: i64,
    /// Histories the reconciliation worker is still to ask the PG about (a payment not
    /// final at the PG, a cancel whose answer may be lost).
    pub reconcile_pending: i64,
    /// Seconds since start.
    pub uptime_seconds: i64,
}

fn cpu() -> Cpu {
    // Fields 14 and 15 of /proc/self/stat, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Cpu {
        user_ms: ticks(11) * 10,
        system_ms: ticks(12) * 10,
    }
}

fn memory() -> Memory {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: Vec<u64> = statm
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let page = 4096;
    Memory {
        virtual_size: pages.first().copied().unwrap_or(0) * page,
        resident: pages.get(1).copied().unwrap_or(0) * page,
    }
}

/// `GET /monitors/performance`.
pub async fn performance(
    State(app): State<Arc<App>>,
    SealedGet(context): SealedGet,
) -> Result<Response, super::error::ApiError> {
    let outbox_depth = app.store.outbox_depth().await?;
    let unknown_payments = app.store.unknown_payment_count().await?;
    let reconcile_pending = app.store.checks_pending().await?;
    let body = Performance {
        cpu: cpu(),
        memory: memory(),
        resource: Resource {
            open_connections: app.in_flight.load(Ordering::Relaxed),
            outbox_depth,
            unknown_payments,
            reconcile_pending,
            uptime_seconds: (app.clock.now() - app.started_at).num_seconds(),
        },
    };
    Ok(context.reply(StatusCode::OK, &body))
}

/// `GET /monitors/system` body.
#[derive(Debug, Serialize)]
pub struct System {
    /// The crate version.
    pub version: &'static str,
    /// The git commit the binary was built from (`unknown` outside a checkout).
    pub commit: &'static str,
    /// When the server started.
    #[serde(with = "payments_core::timestamp")]
    pub started_at: payments_core::timestamp::Timestamp,
    /// The server's name.
    pub name: &'static str,
}

/// `GET /monitors/system`.
pub async fn system(State(app): State<Arc<App>>, SealedGet(context): SealedGet) -> Response {
    context.reply(
        StatusCode::OK,
        &System {
            version: env!("CARGO_PKG_VERSION"),
            commit: env!("PAYMENTS_GIT_COMMIT"),
            started_at: app.started_at,
            name: "payments-server",
        },
    )
}

//! `baseline`: `client.monitors().health()` (the SDK over reqwest, as every other row)
//! against a bare axum `GET /monitors/health` that answers `200 ok` on this runtime. The
//! ceiling of the client stack, the runtime and loopback TCP on this machine; the other
//! rows' "vs baseline" column divides by it.

use crate::error::BenchError;
use crate::harness::{SECRET, sdk_client};
use crate::measure::drive;
use crate::options::Scenario;
use crate::report::Row;
use crate::scenarios::Ctx;
use payments_core::envelope::{Envelope, SealedV2Key};
use std::sync::Arc;

/// Runs the baseline row.
///
/// # Errors
/// When the handler cannot bind or a client cannot be built.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| BenchError::Setup(format!("baseline bind: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::Setup(format!("baseline addr: {e}")))?;
    let router =
        axum::Router::new().route("/monitors/health", axum::routing::get(|| async { "ok" }));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let envelope = Envelope::SealedV2(SealedV2Key::derive(SECRET));
    let uri = format!("http://{addr}");
    let clients = Arc::new(
        (0..ctx.concurrency())
            .map(|_| sdk_client(&uri, &envelope))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let measured = drive(
        &ctx.progress,
        "baseline",
        ctx.concurrency(),
        ctx.budget,
        ctx.warmup,
        move |worker, _| {
            let client = clients[worker].clone();
            async move { client.monitors().health().await.map_err(|e| e.to_string()) }
        },
    )
    .await;
    server.abort();
    Ok(vec![Row::measured(
        Scenario::Baseline,
        "baseline",
        &measured,
    )])
}

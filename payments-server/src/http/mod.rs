//! The HTTP API (`shared/spec/payments-wire.md` §3, plus the routes in `docs/`): the
//! only layer that knows HTTP. A route extracts and opens its body, calls one use case
//! and answers; a use case's error becomes `{status, code, message}` in `error.rs`.
//! [`router`] builds the API, the one public item here: tests call it without a socket,
//! and an embedder mounts it in its own axum app. The modules are `pub(crate)`:
//!
//! - `histories`, `reservations`, `charges`, `transactions`, `certifications`,
//!   `coupons`, `webhooks`: the route groups, one file each.
//! - `admission`: body deadline, read and write slots, load shedding.
//! - `monitors`: health, performance and system.
//! - `envelope`: the sealed-route extractor and responder.
//! - `idempotency`: `Idempotency-Key` replay on POST and PUT routes.
//! - `replay`: a sealed-v2 request is accepted once.
//! - `error`: `ApiError` and the mapping of every use case's error to it.

pub(crate) mod admission;
pub(crate) mod caller;
pub(crate) mod certifications;
pub(crate) mod charges;
pub(crate) mod coupons;
pub(crate) mod envelope;
pub(crate) mod error;
pub(crate) mod histories;
pub(crate) mod idempotency;
pub(crate) mod monitors;
pub(crate) mod replay;
pub(crate) mod reservations;
pub(crate) mod serve;
pub(crate) mod transactions;
pub(crate) mod webhooks;

pub(crate) use error::ApiError;

use crate::app::App;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// The whole API over a shared [`App`] (built by
/// [`PaymentServerBuilder::build`](crate::PaymentServerBuilder::build)), to serve or to
/// mount in an embedder's own axum app. Only the routes: the background
/// workers (outbox deliveries, sweep, reconciliation) run under
/// [`PaymentServerBuilder::start`](crate::PaymentServerBuilder::start). Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: PG-webhook intake is limited
/// per source address only when the peer address is known.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.config.body_limit;
    let admitted = Router::new()
        .merge(histories::routes())
        .merge(reservations::routes())
        .merge(charges::routes())
        .merge(transactions::routes())
        .merge(certifications::routes())
        .merge(webhooks::routes())
        .merge(coupons::routes())
        .route("/monitors/performance", get(monitors::performance))
        .route("/monitors/system", get(monitors::system))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            admission::admit,
        ));
    Router::new()
        // Outside admission: a load balancer must see a busy server as up.
        .route("/monitors/health", get(monitors::health))
        .merge(admitted)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            count_in_flight,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

async fn count_in_flight(
    State(app): State<Arc<App>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    app.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    app.in_flight.fetch_sub(1, Ordering::Relaxed);
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// A record id from the path (`/payments/histories/{id}`). Anything else, including
/// a path segment that is not UTF-8 once percent-decoded, names no record: `404`, in
/// the wire's error shape (axum's own rejection is plain text).
pub(crate) struct RecordId(pub(crate) Uuid);

impl<S: Send + Sync> FromRequestParts<S> for RecordId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("the path names no record id"))?;
        Uuid::parse_str(&id).map(RecordId).map_err(|_| {
            ApiError::not_found(format!("{} is not a record id", crate::validate::echo(&id)))
        })
    }
}

//! `/payments/reservations`: record a billing key, read it back.

use super::envelope::Sealed;
use super::{ApiError, RecordId, idempotency};
use crate::app::App;
use crate::reservations;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{patch, post};
use payments_core::records::{Accessor, Password, ReservationCreate};
use std::sync::Arc;

/// The reservation routes, merged into [`super::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/payments/reservations", post(create))
        .route("/payments/reservations/get", patch(by_source))
        .route("/payments/reservations/{id}", patch(by_id))
}

async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    sealed: Sealed<ReservationCreate>,
) -> Response {
    idempotency::run(
        &app,
        &headers,
        "POST /payments/reservations",
        StatusCode::CREATED,
        sealed,
        |app, body, _, _| reservations::create(app, body),
    )
    .await
}

async fn by_source(
    State(app): State<Arc<App>>,
    sealed: Sealed<Accessor>,
) -> Result<Response, ApiError> {
    let reservation = reservations::get_by_source(app, sealed.value).await?;
    Ok(sealed.context.reply(StatusCode::OK, &reservation))
}

async fn by_id(
    State(app): State<Arc<App>>,
    RecordId(id): RecordId,
    sealed: Sealed<Password>,
) -> Result<Response, ApiError> {
    let reservation = reservations::get_by_id(app, id, sealed.value.password.expose()).await?;
    Ok(sealed.context.reply(StatusCode::OK, &reservation))
}

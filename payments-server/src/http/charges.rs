//! `POST /payments/charges`: charge an order to a saved card, once per idempotency key.

use super::envelope::Sealed;
use super::idempotency;
use crate::app::App;
use crate::charges;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use payments_core::records::charges::ChargeCreate;
use std::sync::Arc;

/// The charge route, merged into [`super::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/payments/charges", post(create))
}

async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    sealed: Sealed<ChargeCreate>,
) -> Response {
    idempotency::run(
        &app,
        &headers,
        "POST /payments/charges",
        StatusCode::CREATED,
        sealed,
        charges::create,
    )
    .await
}

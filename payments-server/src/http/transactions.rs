//! `PATCH /payments/transactions/{id}`: read a transaction with its password.

use super::envelope::Sealed;
use super::{ApiError, RecordId};
use crate::app::App;
use crate::transactions;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::patch;
use payments_core::records::charges::TransactionAccess;
use std::sync::Arc;

/// The transaction route, merged into [`super::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/payments/transactions/{id}", patch(by_id))
}

async fn by_id(
    State(app): State<Arc<App>>,
    RecordId(id): RecordId,
    sealed: Sealed<TransactionAccess>,
) -> Result<Response, ApiError> {
    let record = transactions::get(&app, id, sealed.value.password.expose()).await?;
    Ok(sealed.context.reply(StatusCode::OK, &record))
}

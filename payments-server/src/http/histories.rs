//! `/payments/histories`: record a PG payment, read it back, cancel it.

use super::envelope::Sealed;
use super::{ApiError, RecordId, idempotency};
use crate::app::App;
use crate::histories;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post, put};
use payments_core::envelope::EnvelopeKind;
use payments_core::records::{Accessor, CancelCreate, ErrorCode, Password, PaymentHistoryCreate};
use std::sync::Arc;

/// The history routes, merged into [`super::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/payments/histories", post(create))
        .route("/payments/histories/get", patch(by_source))
        .route("/payments/histories/cancel", put(cancel))
        .route("/payments/histories/{id}", patch(by_id))
}

async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    sealed: Sealed<PaymentHistoryCreate>,
) -> Response {
    idempotency::run(
        &app,
        &headers,
        "POST /payments/histories",
        StatusCode::CREATED,
        sealed,
        |app, body, kind, _| histories::create(app, body, kind),
    )
    .await
}

async fn cancel(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    sealed: Sealed<CancelCreate>,
) -> Response {
    // A cancel moves money and, unlike a create, no uniqueness rule stops a second one:
    // over sealed-v2 it must carry a key (bound into the tag), so a replay or a retry
    // refunds once. Compat has no tag to bind it to and stays as the nestia clients send it.
    if sealed.context.kind() == EnvelopeKind::SealedV2
        && !headers.contains_key(idempotency::IDEMPOTENCY_HEADER)
    {
        return ApiError::bad_request(
            ErrorCode::IdempotencyKeyRequired,
            "cancels over sealed-v2 need an Idempotency-Key header: a retried or replayed cancel must refund once",
        )
        .into_response();
    }
    idempotency::run(
        &app,
        &headers,
        "PUT /payments/histories/cancel",
        StatusCode::OK,
        sealed,
        |app, body, _, key| histories::cancel(app, body, key),
    )
    .await
}

async fn by_source(
    State(app): State<Arc<App>>,
    sealed: Sealed<Accessor>,
) -> Result<Response, ApiError> {
    let history = histories::get_by_source(app, sealed.value).await?;
    Ok(sealed.context.reply(StatusCode::OK, &history))
}

async fn by_id(
    State(app): State<Arc<App>>,
    RecordId(id): RecordId,
    sealed: Sealed<Password>,
) -> Result<Response, ApiError> {
    let history = histories::get_by_id(app, id, sealed.value.password.expose()).await?;
    Ok(sealed.context.reply(StatusCode::OK, &history))
}

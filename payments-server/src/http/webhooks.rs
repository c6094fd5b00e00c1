//! PG webhooks in (`/payments/webhooks/toss`, `/payments/webhooks/iamport`,
//! `/payments/webhooks/portone`, plain JSON or form bodies, answered plain; PortOne V2's
//! signed) and the re-delivery of what the server sent out
//! (`/payments/webhooks/{id}/redeliver`, `/payments/events/{id}/redeliver`, sealed) with
//! the listing of what gave up (`/payments/deliveries/failed`, sealed).

use super::envelope::{Sealed, decode_json, read_body};
use super::{ApiError, RecordId};
use crate::app::App;
use crate::webhooks::{intake, outbox};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{patch, post};
use payments_core::records::deliveries::FailedDeliveriesQuery;
use payments_core::records::{ErrorCode, Password};
use std::net::SocketAddr;
use std::sync::Arc;

/// The webhook routes, merged into [`super::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/payments/webhooks/toss", post(toss))
        .route("/payments/webhooks/iamport", post(iamport))
        .route("/payments/webhooks/portone", post(portone))
        .route("/payments/webhooks/{id}/redeliver", post(redeliver_webhook))
        .route("/payments/events/{id}/redeliver", post(redeliver_event))
        .route("/payments/deliveries/failed", patch(failed_deliveries))
}

/// Refuses a source address past its PG-webhook budget (`[limits] intake_burst`,
/// `intake_refill_ms`), before the body is read. Unsigned webhooks may come from
/// anyone; a PG answered `429` retries later. A router driven without a socket (tests)
/// has no peer address and no limit.
fn admit(app: &App, request: &Request) -> Result<(), ApiError> {
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
        return Ok(());
    };
    let source = crate::rate_limit::source_key(peer.ip());
    app.intake.check(&source, app.now_ms()).map_err(|ms| {
        tracing::warn!(%source, "PG webhooks from this address over the limit");
        ApiError::too_many(
            crate::rate_limit::retry_after_secs(ms),
            "too many PG webhooks from this address",
        )
    })
}

fn media_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == expected)
}

fn unsupported(expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UnsupportedMediaType,
        format!("Content-Type must be {expected}"),
    )
}

async fn toss(
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<axum::Json<intake::Ack>, ApiError> {
    admit(&app, &request)?;
    if !media_type_is(request.headers(), "application/json") {
        return Err(unsupported("application/json"));
    }
    let bytes = read_body(request, &app).await?;
    let (body, _) = decode_json::<serde_json::Value>(&bytes)?;
    Ok(axum::Json(intake::toss(&app, &body).await?))
}

async fn iamport(
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<axum::Json<intake::Ack>, ApiError> {
    admit(&app, &request)?;
    let form = media_type_is(request.headers(), "application/x-www-form-urlencoded");
    if !form && !media_type_is(request.headers(), "application/json") {
        return Err(unsupported(
            "application/json or application/x-www-form-urlencoded",
        ));
    }
    let bytes = read_body(request, &app).await?;
    let notice: intake::IamportNotice = if form {
        serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidWebhook, e.to_string()))?
    } else {
        decode_json(&bytes)?.0
    };
    Ok(axum::Json(intake::iamport(&app, &notice).await?))
}

/// The signature is checked over the raw bytes before the content type or the body is
/// looked at, so a forged webhook learns nothing and touches nothing.
async fn portone(
    State(app): State<Arc<App>>,
    request: Request,
) -> Result<axum::Json<intake::Ack>, ApiError> {
    admit(&app, &request)?;
    let headers = request.headers().clone();
    let form = media_type_is(&headers, "application/x-www-form-urlencoded");
    let bytes = read_body(request, &app).await?;
    let parse = |raw: &[u8]| {
        if form {
            // The 2024-01-01 body may come as form fields: read them as a JSON object.
            serde_urlencoded::from_bytes::<serde_json::Map<String, serde_json::Value>>(raw)
                .map(serde_json::Value::Object)
                .map_err(|e| intake::IntakeError::Invalid(format!("form body: {e}")))
        } else {
            serde_json::from_slice(raw)
                .map_err(|e| intake::IntakeError::Invalid(format!("JSON body: {e}")))
        }
    };
    Ok(axum::Json(
        intake::portone(&app, &headers, &bytes, parse).await?,
    ))
}

async fn redeliver_webhook(
    State(app): State<Arc<App>>,
    RecordId(id): RecordId,
    sealed: Sealed<Password>,
) -> Result<Response, ApiError> {
    let answer = outbox::redeliver_webhook(&app, id, sealed.value.password.expose()).await?;
    Ok(sealed.context.reply(StatusCode::ACCEPTED, &answer))
}

/// Events belong to the merchant, whose sealed request is its authority.
async fn redeliver_event(
    State(app): State<Arc<App>>,
    RecordId(id): RecordId,
    sealed: Sealed<serde_json::Value>,
) -> Result<Response, ApiError> {
    let answer = outbox::redeliver_event(&app, id).await?;
    Ok(sealed.context.reply(StatusCode::ACCEPTED, &answer))
}

/// The merchant's sealed request is the authority, as for events.
async fn failed_deliveries(
    State(app): State<Arc<App>>,
    sealed: Sealed<FailedDeliveriesQuery>,
) -> Result<Response, ApiError> {
    let page = outbox::failed_deliveries(&app, &sealed.value).await?;
    Ok(sealed.context.reply(StatusCode::OK, &page))
}

//! The HTTP API (`shared/spec/payments-wire.md` §3, plus the re-delivery route in
//! `docs/`): [`router`] builds it so tests can call it without a socket.
//!
//! - [`envelope`]: the sealed-route extractor and responder.
//! - [`idempotency`]: `Idempotency-Key` replay on POST and PUT routes.
//! - [`monitors`]: health, performance and system.

pub mod coupons;
pub mod envelope;
pub mod idempotency;
pub mod monitors;

use crate::app::App;
use crate::error::ApiError;
use crate::store::MessageKind;
use crate::webhooks::intake;
use crate::{certifications, charges, histories, reservations, transactions};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use envelope::{Sealed, decode_json, read_body};
use payments_core::records::charges::{CertificationVerify, ChargeCreate, TransactionAccess};
use payments_core::records::{
    Accessor, CancelCreate, Password, PaymentHistoryCreate, ReservationCreate,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// The whole API over a shared [`App`].
pub fn router(app: Arc<App>) -> Router {
    let limit = app.config.body_limit;
    Router::new()
        .route("/payments/histories", post(create_history))
        .route("/payments/histories/get", patch(history_by_source))
        .route("/payments/histories/cancel", put(cancel_history))
        .route("/payments/histories/{id}", patch(history_by_id))
        .route("/payments/reservations", post(create_reservation))
        .route("/payments/reservations/get", patch(reservation_by_source))
        .route("/payments/reservations/{id}", patch(reservation_by_id))
        .route("/payments/webhooks/toss", post(toss_webhook))
        .route("/payments/webhooks/iamport", post(iamport_webhook))
        .route("/payments/webhooks/{id}/redeliver", post(redeliver_webhook))
        .route("/payments/events/{id}/redeliver", post(redeliver_event))
        .route("/payments/charges", post(create_charge))
        .route("/payments/transactions/{id}", patch(transaction_by_id))
        .route("/payments/certifications", post(verify_certification))
        .route("/monitors/health", get(monitors::health))
        .route("/monitors/performance", get(monitors::performance))
        .route("/monitors/system", get(monitors::system))
        .merge(coupons::routes())
        .fallback(not_found)
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

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("{id:?} is not a record id")))
}

async fn create_history(
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

async fn cancel_history(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    sealed: Sealed<CancelCreate>,
) -> Response {
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

async fn history_by_source(State(app): State<Arc<App>>, sealed: Sealed<Accessor>) -> Response {
    match histories::get_by_source(app, sealed.value).await {
        Ok(history) => sealed.context.reply(StatusCode::OK, &history),
        Err(error) => error.into_response(),
    }
}

async fn history_by_id(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    sealed: Sealed<Password>,
) -> Response {
    let result = match parse_id(&id) {
        Ok(id) => histories::get_by_id(app, id, sealed.value.password.expose()).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(history) => sealed.context.reply(StatusCode::OK, &history),
        Err(error) => error.into_response(),
    }
}

async fn create_reservation(
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

async fn reservation_by_source(State(app): State<Arc<App>>, sealed: Sealed<Accessor>) -> Response {
    match reservations::get_by_source(app, sealed.value).await {
        Ok(reservation) => sealed.context.reply(StatusCode::OK, &reservation),
        Err(error) => error.into_response(),
    }
}

async fn reservation_by_id(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    sealed: Sealed<Password>,
) -> Response {
    let result = match parse_id(&id) {
        Ok(id) => reservations::get_by_id(app, id, sealed.value.password.expose()).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(reservation) => sealed.context.reply(StatusCode::OK, &reservation),
        Err(error) => error.into_response(),
    }
}

/// Re-delivery answer: the webhook and where its delivery stands.
#[derive(Debug, serde::Serialize)]
struct Redelivery {
    webhook_id: Uuid,
    state: String,
}

async fn redeliver_webhook(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    sealed: Sealed<Password>,
) -> Response {
    let result = async {
        let webhook_id = parse_id(&id)?;
        let Some((MessageKind::Webhook, Some(history_id))) =
            app.store.message_info(webhook_id).await?
        else {
            return Err(ApiError::not_found(format!("no webhook {webhook_id}")));
        };
        // The history's password authorises re-delivery of its webhooks.
        histories::get_by_id(app.clone(), history_id, sealed.value.password.expose()).await?;
        redeliver(&app, webhook_id).await
    }
    .await;
    match result {
        Ok(answer) => sealed.context.reply(StatusCode::ACCEPTED, &answer),
        Err(error) => error.into_response(),
    }
}

/// Events belong to the merchant, whose sealed request is its authority.
async fn redeliver_event(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    sealed: Sealed<serde_json::Value>,
) -> Response {
    let result = async {
        let event_id = parse_id(&id)?;
        let Some((MessageKind::Event, _)) = app.store.message_info(event_id).await? else {
            return Err(ApiError::not_found(format!("no event {event_id}")));
        };
        redeliver(&app, event_id).await
    }
    .await;
    match result {
        Ok(answer) => sealed.context.reply(StatusCode::ACCEPTED, &answer),
        Err(error) => error.into_response(),
    }
}

async fn redeliver(app: &App, id: Uuid) -> Result<Redelivery, ApiError> {
    app.store.redeliver(id, app.now_ms()).await?;
    app.outbox_wake.notify_one();
    Ok(Redelivery {
        webhook_id: id,
        state: "pending".into(),
    })
}

async fn create_charge(
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

async fn transaction_by_id(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    sealed: Sealed<TransactionAccess>,
) -> Response {
    let result = match parse_id(&id) {
        Ok(id) => transactions::get(&app, id, sealed.value.password.expose()).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(record) => sealed.context.reply(StatusCode::OK, &record),
        Err(error) => error.into_response(),
    }
}

async fn verify_certification(
    State(app): State<Arc<App>>,
    sealed: Sealed<CertificationVerify>,
) -> Response {
    match certifications::verify(app, sealed.value).await {
        Ok(identity) => sealed.context.reply(StatusCode::OK, &identity),
        Err(error) => error.into_response(),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == "application/json")
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().unwrap_or("").trim() == "application/x-www-form-urlencoded"
        })
}

fn unsupported(expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        format!("Content-Type must be {expected}"),
    )
}

async fn toss_webhook(State(app): State<Arc<App>>, request: Request) -> Response {
    let result = async {
        if !is_json(request.headers()) {
            return Err(unsupported("application/json"));
        }
        let bytes = read_body(request, &app).await?;
        let (body, _) = decode_json::<serde_json::Value>(&bytes)?;
        intake::toss(&app, &body).await
    }
    .await;
    match result {
        Ok(ack) => axum::Json(ack).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn iamport_webhook(State(app): State<Arc<App>>, request: Request) -> Response {
    let result = async {
        let form = is_form(request.headers());
        if !form && !is_json(request.headers()) {
            return Err(unsupported(
                "application/json or application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(request, &app).await?;
        let notice: intake::IamportNotice = if form {
            serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| ApiError::bad_request("INVALID_WEBHOOK", e.to_string()))?
        } else {
            decode_json(&bytes)?.0
        };
        intake::iamport(&app, &notice).await
    }
    .await;
    match result {
        Ok(ack) => axum::Json(ack).into_response(),
        Err(error) => error.into_response(),
    }
}

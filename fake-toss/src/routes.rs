//! The fake-only `/internal` routes (the harness's knobs plus Toss's own, behind the
//! secret key), and the JSON body reader [`crate::api`] shares. The request log
//! and fault injection wrap all of it in the harness.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::TossError;
use crate::fields as rq;
use crate::state::Shared;

type S = Extension<Arc<Shared>>;
type Answer = Result<Response, TossError>;

/// The `/internal` routes, independent of any instance (built once per process; the
/// harness attaches each instance's state as an extension). Every other path goes to
/// [`crate::api::serve`].
pub(crate) fn router() -> Router {
    let guarded = Router::new()
        .merge(fake_harness::internal_routes())
        .route("/internal/{payment_key}/deposit", put(deposit))
        .route("/internal/billing/auth-keys", post(auth_key))
        .route("/internal/cards/declined", post(decline_card))
        .layer(from_fn(internal_guard));
    Router::new()
        .merge(guarded)
        .route("/internal/webhook", post(self_webhook))
        .fallback(unknown_internal)
}

/// The `/internal` guard: the secret key only (fault knobs never apply to test controls).
async fn internal_guard(Extension(s): S, req: Request, next: Next) -> Response {
    if let Err(e) = s.auth.check(req.headers()) {
        return e.into_response();
    }
    next.run(req).await
}

// ---- extractors and response helpers ---------------------------------------------------

/// A JSON body whose errors are Toss-style `400 INVALID_REQUEST` naming the problem.
/// An empty body reads as `{}` so that all-optional bodies may be omitted.
struct JsonBody<T>(T);

impl<St: Send + Sync, T: DeserializeOwned> FromRequest<St> for JsonBody<T> {
    type Rejection = TossError;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| TossError::invalid(format!("body: {e}")))?;
        json_body(&bytes).map(JsonBody)
    }
}

/// Reads a JSON body; an empty body reads as `{}`, so that all-optional bodies may be
/// omitted.
///
/// # Errors
/// `400 INVALID_REQUEST` naming what serde found wrong.
pub(crate) fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, TossError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| TossError::invalid(format!("body: {e}")))
}

fn created_json(v: &Value) -> Response {
    fake_harness::json_response(StatusCode::CREATED, v.to_string())
}

/// An `/internal/` path no route takes.
async fn unknown_internal(req: Request) -> TossError {
    not_found(req.method(), req.uri().path())
}

/// The answer for a method and path the fake does not serve.
pub(crate) fn not_found(method: &Method, path: &str) -> TossError {
    TossError::new(404, "NOT_FOUND", format!("no route for {method} {path}"))
}

// ---- fake-only -------------------------------------------------------------------------

async fn deposit(Extension(s): S, Path(key): Path<String>) -> Answer {
    s.with_store(|st, now| st.deposit(&key, now))
        .map(|b| fake_harness::json_response(StatusCode::OK, b))
}

async fn auth_key(Extension(s): S, JsonBody(r): JsonBody<crate::billing::AuthKeyReq>) -> Answer {
    s.with_store(|st, _| st.create_auth_key(r))
        .map(|v| created_json(&v))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeclineReq {
    card_number: String,
    status: Option<u16>,
    code: String,
    message: Option<String>,
}

async fn decline_card(Extension(s): S, JsonBody(r): JsonBody<DeclineReq>) -> Answer {
    rq::card_number(&r.card_number)?;
    let status = r.status.unwrap_or(403);
    if !(400..=599).contains(&status) {
        return Err(TossError::invalid(format!(
            "status: must be 400-599, got {status}"
        )));
    }
    rq::text("code", &r.code, 100)?;
    let err = TossError::new(
        status,
        &r.code,
        r.message.unwrap_or_else(|| "declined by fake-toss".into()),
    );
    let body = json!({ "cardNumber": r.card_number, "error": err.body(), "status": status });
    s.with_store(|st, _| st.decline(r.card_number, err));
    Ok(created_json(&body))
}

/// The spec's `POST /internal/webhook`: a receiver the fake can point webhooks at itself.
async fn self_webhook(JsonBody(_body): JsonBody<Value>) -> Response {
    (StatusCode::CREATED, axum::Json(json!({}))).into_response()
}

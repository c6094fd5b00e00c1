//! The HTTP surface: the Toss v1 routes, the fake-only `/internal` routes (the harness's
//! knobs plus Toss's own), and the middleware that checks the secret key and applies
//! `Idempotency-Key`. The request log and fault injection wrap all of it in the harness.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use fake_harness::idempotency::Begin;
use http::{Method, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::TossError;
use crate::fields as rq;
use crate::idempotency::{self, MAX_KEY_LEN};
use crate::state::Shared;

type S = Extension<Arc<Shared>>;
type Answer = Result<Response, TossError>;

/// Largest request body the fake reads.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The routes and middleware, independent of any instance (built once per process; the
/// harness attaches each instance's state as an extension).
pub(crate) fn router() -> Router {
    let api = Router::new()
        .route("/v1/payments/key-in", post(key_in))
        .route("/v1/payments/confirm", post(confirm))
        .route("/v1/payments/orders/{order_id}", get(payment_by_order))
        .route(
            "/v1/payments/{payment_key}",
            get(payment).post(confirm_by_path),
        )
        .route("/v1/payments/{payment_key}/cancel", post(cancel))
        .route("/v1/virtual-accounts", post(virtual_account))
        .route("/v1/billing/authorizations/card", post(billing_card))
        .route("/v1/billing/authorizations/issue", post(billing_issue))
        .route(
            "/v1/billing/authorizations/{billing_key}",
            post(billing_read),
        )
        .route(
            "/v1/billing/{billing_key}",
            post(billing_charge).delete(billing_delete),
        )
        .route("/v1/cash-receipts", post(cash_receipt))
        .route(
            "/v1/cash-receipts/{receipt_key}/cancel",
            post(cash_receipt_cancel),
        )
        .layer(from_fn(api_guard));
    let internal = Router::new()
        .merge(fake_harness::internal_routes())
        .route("/internal/{payment_key}/deposit", put(deposit))
        .route("/internal/billing/auth-keys", post(auth_key))
        .route("/internal/cards/declined", post(decline_card))
        .layer(from_fn(internal_guard));
    Router::new()
        .merge(api)
        .merge(internal)
        .route("/internal/webhook", post(self_webhook))
        .fallback(not_found)
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
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(JsonBody)
            .map_err(|e| TossError::invalid(format!("body: {e}")))
    }
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn created(body: Bytes) -> Response {
    json_bytes(StatusCode::CREATED, body)
}

fn created_json(v: &Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

// ---- middleware ------------------------------------------------------------------------

/// The `/v1` guard: the secret key, then `Idempotency-Key` (faults were applied before).
async fn api_guard(Extension(s): S, req: Request, next: Next) -> Response {
    let secret = match s.auth.check(req.headers()) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let idem_key = if req.method() == Method::POST {
        req.headers().get("idempotency-key").cloned()
    } else {
        None
    };
    match idem_key {
        None => next.run(req).await,
        Some(raw) => {
            let Ok(key) = raw.to_str() else {
                return TossError::invalid("Idempotency-Key: must be visible ASCII")
                    .into_response();
            };
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                return TossError::invalid(format!(
                    "Idempotency-Key: must be 1-{MAX_KEY_LEN} characters, got {}",
                    key.len()
                ))
                .into_response();
            }
            let scope = idempotency::scope(secret, req.method().as_str(), req.uri().path(), key);
            let key = key.to_owned();
            idempotent(&s, &scope, &key, req, next).await
        }
    }
}

/// Forgets an in-flight idempotency entry if its request is dropped before finishing.
struct AbandonGuard<'a> {
    shared: &'a Shared,
    scope: &'a str,
    finished: bool,
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.harness.idempotency().abandon(self.scope);
        }
    }
}

async fn idempotent(s: &Shared, scope: &str, key: &str, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return TossError::invalid("body: unreadable or larger than 2 MiB").into_response();
    };
    let cache = s.harness.idempotency();
    match cache.begin(
        scope,
        &idempotency::fingerprint(&bytes),
        s.harness.clock().now(),
    ) {
        Err(c) => idempotency::conflict(&c, key).into_response(),
        Ok(Begin::Replay(a)) => json_bytes(
            StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK),
            a.body,
        ),
        Ok(Begin::Run) => {
            let mut guard = AbandonGuard {
                shared: s,
                scope,
                finished: false,
            };
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (rparts, rbody) = response.into_parts();
            let rbytes = axum::body::to_bytes(rbody, usize::MAX)
                .await
                .unwrap_or_default();
            cache.finish(scope, rparts.status.as_u16(), rbytes.clone());
            guard.finished = true;
            Response::from_parts(rparts, Body::from(rbytes))
        }
    }
}

/// The `/internal` guard: the secret key only (fault knobs never apply to test controls).
async fn internal_guard(Extension(s): S, req: Request, next: Next) -> Response {
    if let Err(e) = s.auth.check(req.headers()) {
        return e.into_response();
    }
    next.run(req).await
}

async fn not_found(req: Request) -> TossError {
    TossError::new(
        404,
        "NOT_FOUND",
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

// ---- payments --------------------------------------------------------------------------

async fn payment(Extension(s): S, Path(key): Path<String>) -> Answer {
    s.with_store(|st, now| st.get(&key, now))
        .map(|b| json_bytes(StatusCode::OK, b))
}

async fn payment_by_order(Extension(s): S, Path(order_id): Path<String>) -> Answer {
    s.with_store(|st, now| st.get_by_order(&order_id, now))
        .map(|b| json_bytes(StatusCode::OK, b))
}

async fn key_in(Extension(s): S, JsonBody(r): JsonBody<crate::payments::KeyIn>) -> Answer {
    s.with_store(|st, now| st.key_in(r, now)).map(created)
}

async fn confirm(Extension(s): S, JsonBody(r): JsonBody<crate::payments::Approval>) -> Answer {
    let key = r
        .payment_key
        .clone()
        .ok_or_else(|| TossError::invalid("paymentKey: required"))?;
    s.with_store(|st, now| st.confirm(&key, &r.order_id, r.amount, now))
        .map(created)
}

async fn confirm_by_path(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<crate::payments::Approval>,
) -> Answer {
    if let Some(k) = r.payment_key.as_deref().filter(|k| *k != key) {
        return Err(TossError::invalid(format!(
            "paymentKey: body names {k:?} but the path names {key:?}"
        )));
    }
    s.with_store(|st, now| st.confirm(&key, &r.order_id, r.amount, now))
        .map(created)
}

async fn cancel(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<crate::payments::CancelReq>,
) -> Answer {
    s.with_store(|st, now| st.cancel(&key, r, now)).map(created)
}

async fn virtual_account(
    Extension(s): S,
    JsonBody(r): JsonBody<crate::virtual_accounts::VirtualAccountReq>,
) -> Answer {
    s.with_store(|st, now| st.issue_virtual_account(r, now))
        .map(created)
}

// ---- billing ---------------------------------------------------------------------------

async fn billing_card(
    Extension(s): S,
    JsonBody(r): JsonBody<crate::billing::BillingCardReq>,
) -> Answer {
    s.with_store(|st, now| st.billing_card(r, now))
        .map(|v| created_json(&v))
}

async fn billing_issue(Extension(s): S, JsonBody(r): JsonBody<crate::billing::IssueReq>) -> Answer {
    s.with_store(|st, now| st.issue_billing(r, now))
        .map(|v| created_json(&v))
}

async fn billing_read(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<crate::billing::CustomerKeyReq>,
) -> Answer {
    s.with_store(|st, _| st.read_billing(&key, &r))
        .map(|v| created_json(&v))
}

async fn billing_charge(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<crate::billing::ChargeReq>,
) -> Answer {
    s.with_store(|st, now| st.charge(&key, r, now)).map(created)
}

async fn billing_delete(Extension(s): S, Path(key): Path<String>) -> Answer {
    s.with_store(|st, now| st.delete_billing(&key, now))?;
    Ok(StatusCode::OK.into_response())
}

// ---- cash receipts ---------------------------------------------------------------------

async fn cash_receipt(
    Extension(s): S,
    JsonBody(r): JsonBody<crate::cash_receipts::CashReceiptReq>,
) -> Answer {
    s.with_store(|st, now| st.issue_cash_receipt(r, now))
        .map(|v| created_json(&v))
}

async fn cash_receipt_cancel(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<crate::cash_receipts::CashReceiptCancelReq>,
) -> Answer {
    s.with_store(|st, now| st.cancel_cash_receipt(&key, &r, now))
        .map(|v| created_json(&v))
}

// ---- fake-only -------------------------------------------------------------------------

async fn deposit(Extension(s): S, Path(key): Path<String>) -> Answer {
    s.with_store(|st, now| st.deposit(&key, now))
        .map(|b| json_bytes(StatusCode::OK, b))
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

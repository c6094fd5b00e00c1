//! The HTTP surface: the Toss v1 routes, the fake-only `/internal` routes, and the
//! middleware that records requests, injects faults, checks the secret key and applies
//! `Idempotency-Key`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::ServiceExt;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request, State};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use http::{Method, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower::Layer as _;

use crate::clock::toss_time;
use crate::error::TossError;
use crate::idempotency::{Begin, MAX_KEY_LEN, Scope};
use crate::lock;
use crate::pool::Slot;
use crate::recorder::RecordedRequest;
use crate::requests as rq;
use crate::state::Shared;

type S = Extension<Arc<Shared>>;
type Answer = Result<Response, TossError>;

/// Largest request body the fake reads.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Serves `listener` until the future is dropped, answering with the state found in
/// `slot` (filled by `start()` before it returns the address, so before any request can
/// name this port).
///
/// The routes are built once per process and shared by every instance (building them
/// costs more than the rest of a start); the instance's state reaches handlers as an
/// extension that one outer layer attaches.
pub(crate) async fn serve(listener: tokio::net::TcpListener, slot: Slot) -> std::io::Result<()> {
    static TEMPLATE: OnceLock<Router> = OnceLock::new();
    let router = TEMPLATE.get_or_init(router).clone();
    let app = from_fn_with_state(slot, attach).layer(router);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
}

async fn attach(State(slot): State<Slot>, mut req: Request, next: Next) -> Response {
    match slot.get() {
        Some(shared) => {
            req.extensions_mut().insert(shared.clone());
            next.run(req).await
        }
        None => TossError::new(
            503,
            "NOT_STARTED",
            "fake-toss: this server is not started yet",
        )
        .into_response(),
    }
}

/// The routes and middleware, independent of any instance.
fn router() -> Router {
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
        .route("/v1/billing/{billing_key}", post(billing_charge))
        .route("/v1/cash-receipts", post(cash_receipt))
        .route(
            "/v1/cash-receipts/{receipt_key}/cancel",
            post(cash_receipt_cancel),
        )
        .layer(from_fn(api_guard));
    let internal = Router::new()
        .route("/internal/{payment_key}/deposit", put(deposit))
        .route("/internal/billing/auth-keys", post(auth_key))
        .route("/internal/clock", get(clock_get).put(clock_set))
        .route("/internal/clock/advance", post(clock_advance))
        .route("/internal/faults", put(faults_set))
        .route("/internal/cards/declined", post(decline_card))
        .route("/internal/webhooks", get(webhook_log))
        .layer(from_fn(internal_guard));
    Router::new()
        .merge(api)
        .merge(internal)
        .route("/internal/webhook", post(self_webhook))
        .fallback(not_found)
        .layer(from_fn(record))
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

/// Records every request (method, path, headers, body) before anything else runs.
async fn record(Extension(s): S, req: Request, next: Next) -> Response {
    if !s.record_requests {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return TossError::new(
            413,
            "INVALID_REQUEST",
            "body: unreadable or larger than 2 MiB",
        )
        .into_response();
    };
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: bytes.to_vec(),
    };
    lock(&s.requests).push(recorded);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The `/v1` guard: injected faults, then the secret key, then `Idempotency-Key`.
async fn api_guard(Extension(s): S, req: Request, next: Next) -> Response {
    let latency = s.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if s.faults.take_fail() {
        return TossError::new(
            500,
            "FAILED_INTERNAL_SYSTEM_PROCESSING",
            "내부 시스템 처리 작업이 실패했습니다. (injected by fake-toss)",
        )
        .into_response();
    }
    if s.faults.take_hang() {
        // Never answered: the connection stays open until the client gives up.
        std::future::pending::<()>().await;
    }
    let lose = s.faults.take_lose();
    let secret = match s.auth.check(req.headers()) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let idem_key = if req.method() == Method::POST {
        req.headers().get("idempotency-key").cloned()
    } else {
        None
    };
    let response = match idem_key {
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
            let scope = Scope {
                secret_key: secret.to_owned(),
                method: req.method().to_string(),
                path: req.uri().path().to_owned(),
                key: key.to_owned(),
            };
            idempotent(&s, scope, req, next).await
        }
    };
    if lose {
        // Processed, but the answer never leaves: the client cannot tell what happened.
        std::future::pending::<()>().await;
    }
    response
}

/// Forgets an in-flight idempotency entry if its request is dropped before finishing.
struct AbandonGuard<'a> {
    shared: &'a Shared,
    scope: &'a Scope,
    finished: bool,
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.idempotency.abandon(self.scope);
        }
    }
}

async fn idempotent(s: &Shared, scope: Scope, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return TossError::invalid("body: unreadable or larger than 2 MiB").into_response();
    };
    match s.idempotency.begin(&scope, &bytes, s.clock.now()) {
        Err(e) => e.into_response(),
        Ok(Begin::Replay { status, body }) => {
            json_bytes(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)
        }
        Ok(Begin::Run) => {
            let mut guard = AbandonGuard {
                shared: s,
                scope: &scope,
                finished: false,
            };
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (rparts, rbody) = response.into_parts();
            let rbytes = axum::body::to_bytes(rbody, usize::MAX)
                .await
                .unwrap_or_default();
            s.idempotency
                .finish(&scope, rparts.status.as_u16(), rbytes.clone());
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

async fn key_in(Extension(s): S, JsonBody(r): JsonBody<rq::KeyIn>) -> Answer {
    s.with_store(|st, now| st.key_in(r, now)).map(created)
}

async fn confirm(Extension(s): S, JsonBody(r): JsonBody<rq::Approval>) -> Answer {
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
    JsonBody(r): JsonBody<rq::Approval>,
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
    JsonBody(r): JsonBody<rq::CancelReq>,
) -> Answer {
    s.with_store(|st, now| st.cancel(&key, r, now)).map(created)
}

async fn virtual_account(Extension(s): S, JsonBody(r): JsonBody<rq::VirtualAccountReq>) -> Answer {
    s.with_store(|st, now| st.issue_virtual_account(r, now))
        .map(created)
}

// ---- billing ---------------------------------------------------------------------------

async fn billing_card(Extension(s): S, JsonBody(r): JsonBody<rq::BillingCardReq>) -> Answer {
    s.with_store(|st, now| st.billing_card(r, now))
        .map(|v| created_json(&v))
}

async fn billing_issue(Extension(s): S, JsonBody(r): JsonBody<rq::IssueReq>) -> Answer {
    s.with_store(|st, now| st.issue_billing(r, now))
        .map(|v| created_json(&v))
}

async fn billing_read(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<rq::CustomerKeyReq>,
) -> Answer {
    s.with_store(|st, _| st.read_billing(&key, &r))
        .map(|v| created_json(&v))
}

async fn billing_charge(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<rq::ChargeReq>,
) -> Answer {
    s.with_store(|st, now| st.charge(&key, r, now)).map(created)
}

// ---- cash receipts ---------------------------------------------------------------------

async fn cash_receipt(Extension(s): S, JsonBody(r): JsonBody<rq::CashReceiptReq>) -> Answer {
    s.with_store(|st, now| st.issue_cash_receipt(r, now))
        .map(|v| created_json(&v))
}

async fn cash_receipt_cancel(
    Extension(s): S,
    Path(key): Path<String>,
    JsonBody(r): JsonBody<rq::CashReceiptCancelReq>,
) -> Answer {
    s.with_store(|st, now| st.cancel_cash_receipt(&key, &r, now))
        .map(|v| created_json(&v))
}

// ---- fake-only -------------------------------------------------------------------------

async fn deposit(Extension(s): S, Path(key): Path<String>) -> Answer {
    s.with_store(|st, now| st.deposit(&key, now))
        .map(|b| json_bytes(StatusCode::OK, b))
}

async fn auth_key(Extension(s): S, JsonBody(r): JsonBody<rq::AuthKeyReq>) -> Answer {
    s.with_store(|st, _| st.create_auth_key(r))
        .map(|v| created_json(&v))
}

fn clock_json(s: &Shared) -> Response {
    axum::Json(json!({ "now": toss_time(s.clock.now()) })).into_response()
}

async fn clock_get(Extension(s): S) -> Response {
    clock_json(&s)
}

#[derive(Deserialize)]
struct ClockSet {
    now: String,
}

async fn clock_set(Extension(s): S, JsonBody(r): JsonBody<ClockSet>) -> Answer {
    let at = chrono::DateTime::parse_from_rfc3339(&r.now)
        .map_err(|e| TossError::invalid(format!("now: not an RFC 3339 time ({e})")))?;
    s.clock.set_now(at.with_timezone(&chrono::Utc));
    s.with_store(|st, now| st.sweep(now));
    Ok(clock_json(&s))
}

#[derive(Deserialize)]
struct ClockAdvance {
    ms: u64,
}

async fn clock_advance(Extension(s): S, JsonBody(r): JsonBody<ClockAdvance>) -> Response {
    s.clock.advance(Duration::from_millis(r.ms));
    s.with_store(|st, now| st.sweep(now));
    clock_json(&s)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultsReq {
    latency_ms: Option<u64>,
    fail_next: Option<u32>,
    hang_next: Option<u32>,
    lose_response_next: Option<u32>,
    drop_webhooks: Option<u32>,
    duplicate_webhooks: Option<u32>,
    reorder_webhooks: Option<u32>,
    webhook_delay_ms: Option<u64>,
    webhook_url: Option<String>,
}

async fn faults_set(Extension(s): S, JsonBody(r): JsonBody<FaultsReq>) -> Response {
    if let Some(ms) = r.latency_ms {
        s.faults.set_latency(Duration::from_millis(ms));
    }
    s.faults.add_fail(r.fail_next.unwrap_or(0));
    s.faults.add_hang(r.hang_next.unwrap_or(0));
    s.faults.add_lose(r.lose_response_next.unwrap_or(0));
    let mut w = lock(&s.hub.settings);
    w.drop_next += r.drop_webhooks.unwrap_or(0);
    w.duplicate_next += r.duplicate_webhooks.unwrap_or(0);
    w.reorder_next += r.reorder_webhooks.unwrap_or(0);
    if let Some(ms) = r.webhook_delay_ms {
        w.delay = Duration::from_millis(ms);
    }
    if let Some(url) = r.webhook_url {
        w.url = Some(url).filter(|u| !u.is_empty());
    }
    let (fail, hang, lose) = s.faults.pending();
    let body = json!({
        "latencyMs": s.faults.latency().as_millis(),
        "failNext": fail,
        "hangNext": hang,
        "loseResponseNext": lose,
        "dropWebhooks": w.drop_next,
        "duplicateWebhooks": w.duplicate_next,
        "reorderWebhooks": w.reorder_next,
        "webhookDelayMs": w.delay.as_millis(),
        "webhookUrl": w.url,
    });
    drop(w);
    axum::Json(body).into_response()
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

async fn webhook_log(Extension(s): S) -> Response {
    axum::Json(s.hub.log()).into_response()
}

/// The spec's `POST /internal/webhook`: a receiver the fake can point webhooks at itself.
async fn self_webhook(JsonBody(_body): JsonBody<Value>) -> Response {
    (StatusCode::CREATED, axum::Json(json!({}))).into_response()
}

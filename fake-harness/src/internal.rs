//! [`internal_routes`]: the harness's knobs over HTTP, for suites in other languages that
//! drive a fake's binary. A fake merges these into its own `/internal/` routes (behind its
//! own credential check).
//!
//! | route | body | does |
//! |---|---|---|
//! | `GET /internal/clock` | | `{now, unix, frozen}` |
//! | `PUT /internal/clock` | `{now?: RFC 3339, unix?: secs, frozen?: bool}` | [`Harness::set_now`], [`Harness::freeze_clock`] |
//! | `POST /internal/clock/advance` | `{ms}` | [`Harness::advance`] |
//! | `GET /internal/faults` | | the knobs below, as they stand |
//! | `PUT /internal/faults` | `{latencyMs, failNext, hangNext, loseResponseNext, failNextAfterActing, dropWebhooks, duplicateWebhooks, reorderWebhooks, webhookDelayMs, webhookUrl, webhookRetryMs, webhookTimeoutMs, recordRequests}`, all optional; counts add up; `webhookUrl: ""` clears it | the fault and webhook knobs |
//! | `GET /internal/webhooks`, `DELETE` | | [`Harness::webhooks`] (JSON array of [`crate::WebhookRecord`]), [`Harness::clear_webhooks`] |
//! | `GET /internal/requests`, `DELETE` | | [`Harness::received_requests`] (`{method, path, query, headers, body}`), [`Harness::clear_received_requests`] |
//!
//! Bad input is the vendor's `400` naming the field.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{Harness, lock};

type H = Extension<Arc<Harness>>;

/// The harness's `/internal/` routes (see the module table); handlers read the
/// `Extension<Arc<Harness>>` that [`crate::start`] attaches.
pub fn internal_routes() -> Router {
    Router::new()
        .route("/internal/clock", get(clock_get).put(clock_set))
        .route("/internal/clock/advance", post(clock_advance))
        .route("/internal/faults", get(faults_get).put(faults_set))
        .route("/internal/webhooks", get(webhooks).delete(webhooks_clear))
        .route("/internal/requests", get(requests).delete(requests_clear))
}

/// Parses a JSON request body (empty reads as `{}`), or answers the vendor's `400`
/// naming the problem.
///
/// # Errors
/// The vendor's `400` response when the body is not the expected JSON.
#[allow(clippy::result_large_err)] // a Response is what the handlers return anyway
fn parse_json<T: DeserializeOwned>(h: &Harness, body: &[u8]) -> Result<T, Response> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|e| (h.vendor().error)(400, &format!("body: {e}")))
}

fn clock_json(h: &Harness) -> Response {
    let now = h.now();
    Json(json!({
        "now": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "unix": now.timestamp(),
        "frozen": h.clock().is_frozen(),
    }))
    .into_response()
}

async fn clock_get(Extension(h): H) -> Response {
    clock_json(&h)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockSet {
    now: Option<String>,
    unix: Option<i64>,
    frozen: Option<bool>,
}

async fn clock_set(Extension(h): H, body: Bytes) -> Response {
    let r: ClockSet = match parse_json(&h, &body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let at = match (r.now, r.unix) {
        (Some(text), _) => match DateTime::parse_from_rfc3339(&text) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(e) => {
                return (h.vendor().error)(400, &format!("now: not an RFC 3339 time ({e})"));
            }
        },
        (None, Some(secs)) => match DateTime::from_timestamp(secs, 0) {
            Some(at) => Some(at),
            None => return (h.vendor().error)(400, &format!("unix: {secs} is out of range")),
        },
        (None, None) => None,
    };
    if let Some(frozen) = r.frozen {
        h.freeze_clock(frozen);
    }
    if let Some(at) = at {
        h.set_now(at);
    }
    clock_json(&h)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockAdvance {
    ms: u64,
}

async fn clock_advance(Extension(h): H, body: Bytes) -> Response {
    match parse_json::<ClockAdvance>(&h, &body) {
        Ok(r) => {
            h.advance(Duration::from_millis(r.ms));
            clock_json(&h)
        }
        Err(e) => e,
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultsReq {
    latency_ms: Option<u64>,
    fail_next: Option<u32>,
    hang_next: Option<u32>,
    lose_response_next: Option<u32>,
    fail_next_after_acting: Option<u32>,
    drop_webhooks: Option<u32>,
    duplicate_webhooks: Option<u32>,
    reorder_webhooks: Option<u32>,
    webhook_delay_ms: Option<u64>,
    webhook_url: Option<String>,
    webhook_retry_ms: Option<Vec<u64>>,
    webhook_timeout_ms: Option<u64>,
    record_requests: Option<bool>,
}

fn faults_json(h: &Harness) -> Response {
    let f = h.faults().pending();
    let w = lock(&h.hub.settings);
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let body = json!({
        "latencyMs": f.latency_ms,
        "failNext": f.fail_next,
        "hangNext": f.hang_next,
        "loseResponseNext": f.lose_response_next,
        "failNextAfterActing": f.fail_next_after_acting,
        "dropWebhooks": w.drop_next,
        "duplicateWebhooks": w.duplicate_next,
        "reorderWebhooks": w.reorder_next,
        "webhookDelayMs": ms(w.delay),
        "webhookUrl": w.url,
        "webhookRetryMs": w.schedule.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "webhookTimeoutMs": ms(w.timeout),
        "recordRequests": h.records_requests(),
    });
    drop(w);
    Json(body).into_response()
}

async fn faults_get(Extension(h): H) -> Response {
    faults_json(&h)
}

async fn faults_set(Extension(h): H, body: Bytes) -> Response {
    let r: FaultsReq = match parse_json(&h, &body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if let Some(ms) = r.latency_ms {
        h.set_latency(Duration::from_millis(ms));
    }
    h.fail_next(r.fail_next.unwrap_or(0));
    h.hang_next(r.hang_next.unwrap_or(0));
    h.lose_response_next(r.lose_response_next.unwrap_or(0));
    h.fail_next_after_acting(r.fail_next_after_acting.unwrap_or(0));
    h.drop_next_webhooks(r.drop_webhooks.unwrap_or(0));
    h.duplicate_next_webhooks(r.duplicate_webhooks.unwrap_or(0));
    h.reorder_next_webhooks(r.reorder_webhooks.unwrap_or(0));
    if let Some(ms) = r.webhook_delay_ms {
        h.set_webhook_delay(Duration::from_millis(ms));
    }
    match r.webhook_url {
        Some(url) if url.is_empty() => h.clear_webhook_url(),
        Some(url) => h.set_webhook_url(url),
        None => {}
    }
    if let Some(ms) = r.webhook_retry_ms {
        h.set_webhook_retry_schedule(ms.into_iter().map(Duration::from_millis).collect());
    }
    if let Some(ms) = r.webhook_timeout_ms {
        h.set_webhook_timeout(Duration::from_millis(ms));
    }
    if let Some(record) = r.record_requests {
        h.set_record_requests(record);
    }
    faults_json(&h)
}

async fn webhooks(Extension(h): H) -> Response {
    Json(h.webhooks()).into_response()
}

async fn webhooks_clear(Extension(h): H) -> Response {
    h.clear_webhooks();
    Json(json!({})).into_response()
}

async fn requests(Extension(h): H) -> Response {
    let list: Vec<Value> = h
        .received_requests()
        .into_iter()
        .map(|r| {
            json!({
                "method": r.method,
                "path": r.path,
                "query": r.query,
                "headers": r.headers,
                "body": String::from_utf8_lossy(&r.body),
            })
        })
        .collect();
    Json(list).into_response()
}

async fn requests_clear(Extension(h): H) -> Response {
    h.clear_received_requests();
    Json(json!({})).into_response()
}

//! `Idempotency-Key` on POST and PUT routes: the first response is stored (sealed at
//! rest) and replayed to every retry with the same key; the same key with a different
//! body is `422`; the same key while the first request runs is `409`. Failures a retry
//! may fix (5xx, outcome unknown) release the key instead of being stored. A key expires
//! `[idempotency] ttl_ms` after its first request (then it is new again), and
//! [`crate::sweep`] deletes expired keys.
//!
//! The work itself runs in its own task, so a caller that hangs up mid-request does not
//! cut a PG call in half: the work finishes and its response waits for the retry.

use super::error::ApiError;
use crate::app::App;
use crate::http::envelope::{SealContext, Sealed};
use crate::store::IdempotencyBegin;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use payments_core::envelope::EnvelopeKind;
use payments_core::records::ErrorCode;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;

/// The request header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Reads and checks the key: 1 to 255 visible ASCII characters.
///
/// # Errors
/// `400 INVALID_IDEMPOTENCY_KEY` for anything else.
pub fn key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .filter(|t| (1..=255).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()));
    text.map(|t| Some(t.to_owned())).ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    })
}

/// Runs `work` on the request's body once per idempotency key (when the request has
/// one) and answers sealed, with `success` as the status of a good answer. `work` also
/// gets the key, which some routes pass on to the PG; its error becomes the answer
/// through [`ApiError`]'s `From` impls.
pub async fn run<B, T, E, F, Fut>(
    app: &Arc<App>,
    headers: &HeaderMap,
    route: &'static str,
    success: StatusCode,
    request: Sealed<B>,
    work: F,
) -> Response
where
    T: Serialize + Send + 'static,
    E: Into<ApiError>,
    F: FnOnce(Arc<App>, B, EnvelopeKind, Option<String>) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    let Sealed {
        value,
        context,
        request_hash,
    } = request;
    let context = &context;
    let request_hash = &request_hash;
    let key = match key(headers) {
        Ok(key) => key,
        Err(error) => return error.into_response(),
    };
    let (work_app, kind, work_key) = (app.clone(), context.kind(), key.clone());
    let work = move || {
        let work = work(work_app, value, kind, work_key);
        async move { work.await.map_err(Into::into) }
    };
    let Some(key) = key else {
        return match detached(work()).await {
            Ok(value) => context.reply(success, &value),
            Err(error) => error.into_response(),
        };
    };
    let now = app.now_ms();
    let stale_before = now - app.config.idempotency_in_flight_ms as i64;
    let begin = match app
        .store
        .idempotency_begin(
            &key,
            route,
            request_hash,
            now,
            stale_before,
            expired_before(app, now),
        )
        .await
    {
        Ok(begin) => begin,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let at_rest = format!("idempotency:{route}:{key}");
    match begin {
        IdempotencyBegin::Mismatch => ApiError::unprocessable(
            ErrorCode::IdempotencyMismatch,
            "this Idempotency-Key was used with a different request body",
        )
        .into_response(),
        IdempotencyBegin::InFlight => {
            // Wait a while for the first request to finish, so identical concurrent
            // requests all get its answer; past the wait, say so.
            let deadline = tokio::time::Instant::now()
                + std::time::Duration::from_millis(app.config.idempotency_wait_ms);
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let now = app.now_ms();
                let again = app
                    .store
                    .idempotency_begin(
                        &key,
                        route,
                        request_hash,
                        now,
                        now - app.config.idempotency_in_flight_ms as i64,
                        expired_before(app, now),
                    )
                    .await;
                match again {
                    Ok(IdempotencyBegin::InFlight) => continue,
                    Ok(IdempotencyBegin::Replay {
                        status,
                        body_sealed,
                    }) => {
                        return replay(app, context, &at_rest, status, &body_sealed);
                    }
                    // The first request released the key (a retryable failure) and this
                    // one now holds it: let the caller retry rather than run it here.
                    Ok(IdempotencyBegin::Proceed) => {
                        let _ = app.store.idempotency_abandon(&key, route).await;
                        break;
                    }
                    Ok(IdempotencyBegin::Mismatch) => break,
                    Err(error) => return ApiError::from(error).into_response(),
                }
            }
            ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyInFlight,
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
            .into_response()
        }
        IdempotencyBegin::Replay {
            status,
            body_sealed,
        } => replay(app, context, &at_rest, status, &body_sealed),
        IdempotencyBegin::Proceed => {
            let outcome = detached(work()).await;
            let (status, json) = match &outcome {
                Err(error) if error.is_retryable() => {
                    if let Err(e) = app.store.idempotency_abandon(&key, route).await {
                        tracing::error!(error = %e, "could not release an idempotency key");
                    }
                    return error.clone().into_response();
                }
                Ok(value) => (success, serde_json::to_vec(value).unwrap_or_default()),
                Err(error) => (
                    error.status,
                    serde_json::to_vec(&error.body()).unwrap_or_default(),
                ),
            };
            let sealed = app.data_keys.seal(&at_rest, &json);
            if let Err(e) = app
                .store
                .idempotency_finish(&key, route, status.as_u16(), &sealed)
                .await
            {
                tracing::error!(error = %e, "could not store an idempotent response");
            }
            match outcome {
                Ok(_) => context.reply_json(status, &json),
                Err(error) => error.into_response(),
            }
        }
    }
}

/// Claims that started before this have expired (`[idempotency] ttl_ms`).
pub(crate) fn expired_before(app: &App, now_ms: i64) -> i64 {
    now_ms.saturating_sub(i64::try_from(app.config.idempotency.ttl_ms).unwrap_or(i64::MAX))
}

/// Answers a stored response again: sealed when it was a success, plain otherwise.
fn replay(
    app: &App,
    context: &SealContext,
    at_rest: &str,
    status: u16,
    body_sealed: &str,
) -> Response {
    let json = match app.data_keys.open(at_rest, body_sealed) {
        Ok(json) => json,
        Err(error) => return ApiError::internal(error).into_response(),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if status.is_success() {
        context.reply_json(status, &json)
    } else {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response()
    }
}

/// Runs `work` in its own task so dropping the request does not cancel it.
async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(e)))
}

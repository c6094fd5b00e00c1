//! Admission: what a request gets through before its handler runs, so that a flood of
//! slow or expensive requests costs the server a bounded amount and leaves room for the
//! rest.
//!
//! 1. Its body is read whole within `[limits] body_read_timeout_ms` (`408
//!    REQUEST_TIMEOUT` past it), before it takes a slot: a slow upload holds a
//!    connection, never a slot.
//! 2. It takes a slot of its pool: reads (`GET`, `PATCH`: store work) or writes (`POST`,
//!    `PUT`: most wait on a PG), so a slow PG cannot take the slots reads need. With no
//!    slot free it waits, behind at most `max_queued` others and for at most
//!    `queue_timeout_ms`; past either it is answered `503 OVERLOADED` with `Retry-After`
//!    at once. Shedding early keeps the admitted requests fast.
//!
//! `GET /monitors/health` is outside admission (see [`super::router`]): a load balancer
//! must see a busy server as up. The queue in front of old PBKDF2 checks
//! ([`crate::app::App::check_hash`]) is bounded by the slots: each waiter holds one.

use super::ApiError;
use crate::app::App;
use crate::config::LimitsConfig;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use payments_core::records::ErrorCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The two slot pools and the body deadline.
#[derive(Debug)]
pub struct Admission {
    reads: Pool,
    writes: Pool,
    body_read_timeout: Duration,
}

impl Admission {
    /// The pools `[limits]` asks for.
    pub fn new(limits: &LimitsConfig) -> Self {
        let queue_timeout = Duration::from_millis(limits.queue_timeout_ms);
        Self {
            reads: Pool::new(limits.max_reads_in_flight, limits.max_queued, queue_timeout),
            writes: Pool::new(
                limits.max_writes_in_flight,
                limits.max_queued,
                queue_timeout,
            ),
            body_read_timeout: Duration::from_millis(limits.body_read_timeout_ms),
        }
    }

    fn pool(&self, method: &Method) -> &Pool {
        if method == Method::GET || method == Method::PATCH || method == Method::HEAD {
            &self.reads
        } else {
            &self.writes
        }
    }
}

#[derive(Debug)]
struct Pool {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queued: usize,
    queue_timeout: Duration,
}

impl Pool {
    fn new(slots: usize, max_queued: usize, queue_timeout: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            waiting: AtomicUsize::new(0),
            max_queued,
            queue_timeout,
        }
    }

    async fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(overloaded());
        }
        // Leaves the queue however the wait ends, the client hanging up included.
        let _waiter = Waiter(&self.waiting);
        match tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(overloaded()),
        }
    }
}

struct Waiter<'a>(&'a AtomicUsize);

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn overloaded() -> ApiError {
    ApiError::overloaded(
        1,
        "the server is serving as many requests as it can; retry shortly",
    )
}

/// The middleware: reads the body under its deadline, takes a slot, runs the handler.
pub(super) async fn admit(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let admission = &app.admission;
    let (parts, body) = request.into_parts();
    let limit = app.config.body_limit;
    let body = match tokio::time::timeout(
        admission.body_read_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => return body_error(&error, limit).into_response(),
        Err(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                format!(
                    "the body did not arrive within {} ms",
                    admission.body_read_timeout.as_millis()
                ),
            )
            .into_response();
        }
    };
    let _slot = match admission.pool(&parts.method).admit().await {
        Ok(slot) => slot,
        Err(refusal) => return refusal.into_response(),
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

fn body_error(error: &axum::Error, limit: usize) -> ApiError {
    let too_large = std::error::Error::source(error)
        .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
    if too_large {
        ApiError::payload_too_large(limit)
    } else {
        ApiError::bad_request(ErrorCode::BadBody, "the body broke off before its end")
    }
}

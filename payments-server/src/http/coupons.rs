//! The coupon routes (`docs/coupons.md`), all sealed. The POSTs go through
//! [`idempotency::run`], so a retried issue, gift, registration or redemption with the
//! same `Idempotency-Key` is answered once. A caller locked out by the
//! [`GuessGuard`](crate::guess_guard::GuessGuard) gets `429 TOO_MANY_ATTEMPTS` with a
//! `Retry-After` header for a wrong code (a right one is answered as usual); a `429`
//! releases the idempotency key, so the refusal is never replayed.

use super::caller::Caller;
use super::envelope::Sealed;
use super::{ApiError, idempotency};
use crate::app::App;
use crate::coupons;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use payments_core::records::coupons::{
    CouponAccess, CouponIssue, CouponRedeem, CouponRegister, GiftCreate,
};
use std::sync::Arc;

/// The coupon routes, merged into [`super::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/payments/coupons", post(issue))
        .route("/payments/coupons/gift", post(gift))
        .route("/payments/coupons/register", post(register))
        .route("/payments/coupons/redeem", post(redeem))
        .route("/payments/coupons/get", patch(get))
}

/// Adds `Retry-After` to a `429` (the caller's lock).
fn retry_after(app: &App, caller: &Caller, mut response: Response) -> Response {
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        let now = app.clock.now();
        let seconds = match app.coupon_guard.check(caller.as_str(), now) {
            Err(lockout) => lockout.retry_after_secs(now),
            Ok(()) => 1,
        };
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn issue(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    sealed: Sealed<CouponIssue>,
) -> Response {
    idempotency::run(
        &app,
        &headers,
        "POST /payments/coupons",
        StatusCode::CREATED,
        sealed,
        |app, body, _, _| coupons::issue(app, body),
    )
    .await
}

async fn gift(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    sealed: Sealed<GiftCreate>,
) -> Response {
    idempotency::run(
        &app,
        &headers,
        "POST /payments/coupons/gift",
        StatusCode::CREATED,
        sealed,
        |app, body, _, _| coupons::gift(app, body),
    )
    .await
}

async fn register(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    sealed: Sealed<CouponRegister>,
) -> Response {
    let key = caller.0.clone();
    let response = idempotency::run(
        &app,
        &headers,
        "POST /payments/coupons/register",
        StatusCode::OK,
        sealed,
        |app, body, _, _| coupons::register(app, body, key),
    )
    .await;
    retry_after(&app, &caller, response)
}

async fn redeem(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    sealed: Sealed<CouponRedeem>,
) -> Response {
    let key = caller.0.clone();
    let response = idempotency::run(
        &app,
        &headers,
        "POST /payments/coupons/redeem",
        StatusCode::OK,
        sealed,
        |app, body, _, _| coupons::redeem(app, body, key),
    )
    .await;
    retry_after(&app, &caller, response)
}

async fn get(
    State(app): State<Arc<App>>,
    caller: Caller,
    sealed: Sealed<CouponAccess>,
) -> Response {
    match coupons::get(app.clone(), sealed.value, caller.0.clone()).await {
        Ok(coupon) => sealed.context.reply(StatusCode::OK, &coupon),
        Err(error) => retry_after(&app, &caller, ApiError::from(error).into_response()),
    }
}

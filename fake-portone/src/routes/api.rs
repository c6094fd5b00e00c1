//! The PortOne V2 routes. Each handler reads its input, then runs one [`World`]
//! operation through [`App::call`] (authentication, the caller's store, webhooks) or, for
//! the POSTs, [`App::call_idempotent`] (the same, behind `Idempotency-Key`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery};
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, Uri};

use super::{body, list_input, query};
use crate::error::PortOneError;
use crate::requests as rq;
use crate::server::App;
use crate::world::World;

pub(super) fn routes() -> Router {
    Router::new()
        .route("/login/api-secret", post(login))
        .route("/token/refresh", post(refresh))
        .route("/payments", get(list_payments))
        .route("/payments/{payment_id}", get(get_payment))
        .route("/payments/{payment_id}/pre-register", post(pre_register))
        .route("/payments/{payment_id}/instant", post(instant))
        .route(
            "/payments/{payment_id}/billing-key",
            post(pay_with_billing_key),
        )
        .route("/payments/{payment_id}/cancel", post(cancel))
        .route(
            "/payments/{payment_id}/virtual-account/close",
            post(close_virtual_account),
        )
        .route(
            "/payments/{payment_id}/resend-webhook",
            post(resend_webhook),
        )
        .route("/payments/{payment_id}/transactions", get(transactions))
        .route("/payments/{payment_id}/schedule", post(create_schedule))
        .route(
            "/payment-schedules",
            get(list_schedules).delete(revoke_schedules),
        )
        .route("/payment-schedules/{schedule_id}", get(get_schedule))
        .route(
            "/billing-keys",
            get(list_billing_keys).post(issue_billing_key),
        )
        .route(
            "/billing-keys/{billing_key}",
            get(get_billing_key).delete(delete_billing_key),
        )
        .route("/identity-verifications/{id}", get(get_identity))
        .route("/identity-verifications/{id}/send", post(send_identity))
        .route(
            "/identity-verifications/{id}/confirm",
            post(confirm_identity),
        )
        .route("/identity-verifications/{id}/resend", post(resend_identity))
}

type Q = RawQuery;

/// The store named by `?storeId=`, if any.
fn store_query(raw: Option<&str>) -> Result<Option<String>, PortOneError> {
    query::<rq::StoreQuery>(raw).map(|q| q.store_id)
}

async fn login(Extension(app): Extension<App>, bytes: Bytes) -> Response {
    app.call_open(|w: &mut World, now| {
        let b: rq::LoginBody = body(&bytes)?;
        w.login(&b.api_secret, now)
    })
}

async fn refresh(Extension(app): Extension<App>, bytes: Bytes) -> Response {
    app.call_open(|w: &mut World, now| {
        let b: rq::RefreshBody = body(&bytes)?;
        w.refresh(&b.refresh_token, now)
    })
}

async fn list_payments(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    RawQuery(q): Q,
    bytes: Bytes,
) -> Response {
    app.call(&headers, |w, caller, _| {
        let b: rq::GetPaymentsBody = list_input(q.as_deref(), &bytes)?;
        let stores = w.stores_of(caller, b.filter.store_id.as_deref())?;
        w.list_payments(&stores, b)
    })
}

async fn get_payment(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): Q,
) -> Response {
    app.call_raw(&headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(q.as_deref())?.as_deref())?;
        w.payment_bytes(&store, &id)
    })
}

async fn transactions(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): Q,
) -> Response {
    app.call(&headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(q.as_deref())?.as_deref())?;
        w.transactions(&store, &id)
    })
}

async fn pre_register(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, _| {
        let b: rq::PreRegisterBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.pre_register(&store, &id, b)
    })
}

async fn instant(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::InstantBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.instant(&store, &id, b, now)
    })
}

async fn pay_with_billing_key(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::BillingKeyPayBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.pay_with_billing_key(&store, &id, b, None, now)
    })
}

async fn cancel(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::CancelBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.cancel(&store, &id, b, now)
    })
}

async fn close_virtual_account(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(q): Q,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let store = w.store_of(caller, store_query(q.as_deref())?.as_deref())?;
        w.close_virtual_account(&store, &id, now)
    })
}

async fn resend_webhook(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::ResendWebhookBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.resend_webhook(&store, &id, b.webhook_id.as_deref(), now)
    })
}

async fn create_schedule(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::CreateScheduleBody = body(&bytes)?;
        let store = w.store_of(caller, b.payment.store_id.as_deref())?;
        w.create_schedule(&store, &id, b, now)
    })
}

async fn list_schedules(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    RawQuery(q): Q,
    bytes: Bytes,
) -> Response {
    app.call(&headers, |w, caller, _| {
        let b: rq::GetSchedulesBody = list_input(q.as_deref(), &bytes)?;
        let stores = w.stores_of(caller, b.filter.store_id.as_deref())?;
        w.list_schedules(&stores, b)
    })
}

async fn revoke_schedules(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    RawQuery(q): Q,
    bytes: Bytes,
) -> Response {
    app.call(&headers, |w, caller, now| {
        let b: rq::RevokeSchedulesBody = list_input(q.as_deref(), &bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.revoke_schedules(&store, b, now)
    })
}

async fn get_schedule(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): Q,
) -> Response {
    app.call(&headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(q.as_deref())?.as_deref())?;
        Ok(w.schedule(&store, &id)?.render())
    })
}

async fn list_billing_keys(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    RawQuery(q): Q,
    bytes: Bytes,
) -> Response {
    app.call(&headers, |w, caller, _| {
        let b: rq::GetBillingKeysBody = list_input(q.as_deref(), &bytes)?;
        let stores = w.stores_of(caller, b.filter.store_id.as_deref())?;
        w.list_billing_keys(&stores, b)
    })
}

async fn issue_billing_key(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::IssueBillingKeyBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.issue_billing_key(&store, b, now)
    })
}

async fn get_billing_key(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    Path(key): Path<String>,
    RawQuery(q): Q,
) -> Response {
    app.call(&headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(q.as_deref())?.as_deref())?;
        Ok(w.billing_key(&store, &key)?.render())
    })
}

async fn delete_billing_key(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    Path(key): Path<String>,
    RawQuery(q): Q,
) -> Response {
    app.call(&headers, |w, caller, now| {
        let q: rq::DeleteBillingKeyQuery = query(q.as_deref())?;
        let store = w.store_of(caller, q.store_id.as_deref())?;
        w.delete_billing_key(&store, &key, q.skip_webhook, now)
    })
}

async fn get_identity(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): Q,
) -> Response {
    app.call(&headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(q.as_deref())?.as_deref())?;
        Ok(w.verification(&store, &id)?.render())
    })
}

async fn send_identity(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::SendIdentityBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.send_identity(&store, &id, b, now)
    })
}

async fn confirm_identity(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let b: rq::ConfirmIdentityBody = body(&bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.confirm_identity(&store, &id, b.otp.as_deref(), now)
    })
}

async fn resend_identity(
    Extension(app): Extension<App>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(q): Q,
    bytes: Bytes,
) -> Response {
    app.call_idempotent(&headers, &uri, &bytes, |w, caller, now| {
        let store = w.store_of(caller, store_query(q.as_deref())?.as_deref())?;
        w.resend_identity(&store, &id, now)
    })
}

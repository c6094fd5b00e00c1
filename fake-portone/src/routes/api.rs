//! The PortOne V2 API: [`serve`] routes a request by method and path to its handler;
//! each handler reads its input, then runs one [`World`] operation through [`App::call`]
//! (authentication, the caller's store, webhooks) or, for the POSTs,
//! [`App::call_idempotent`] (the same, behind `Idempotency-Key`).
//!
//! Routed by hand, not by axum: the harness hands every request outside `/internal/`
//! straight to [`serve`] (see [`fake_harness::Routes`]), which roughly halved what a
//! lookup cost the fake beyond hyper's own work.

use axum::body::Bytes;
use axum::response::Response;
use http::request::Parts;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::json;

use super::{body, list_input, query};
use crate::error::PortOneError;
use crate::requests as rq;
use crate::server::App;
use crate::world::World;

/// What a handler reads of its request (the path's parameters come as arguments).
struct Req<'a> {
    app: &'a App,
    headers: &'a HeaderMap,
    uri: &'a Uri,
    query: Option<&'a str>,
    bytes: &'a Bytes,
}

/// Answers one API request: its route's handler, or `404` for a method and path the API
/// does not have.
pub(crate) fn serve(app: &App, parts: Parts, bytes: Bytes) -> Response {
    let r = Req {
        app,
        headers: &parts.headers,
        uri: &parts.uri,
        query: parts.uri.query(),
        bytes: &bytes,
    };
    let segments = fake_harness::routes::segments(parts.uri.path());
    let s: Vec<&str> = segments.iter().map(AsRef::as_ref).collect();
    match (parts.method.as_str(), s.as_slice()) {
        ("POST", ["login", "api-secret"]) => login(&r),
        ("POST", ["token", "refresh"]) => refresh(&r),
        ("GET", ["payments"]) => list_payments(&r),
        ("GET", ["payments", id]) => get_payment(&r, id),
        ("POST", ["payments", id, "pre-register"]) => pre_register(&r, id),
        ("POST", ["payments", id, "instant"]) => instant(&r, id),
        ("POST", ["payments", id, "billing-key"]) => pay_with_billing_key(&r, id),
        ("POST", ["payments", id, "cancel"]) => cancel(&r, id),
        ("POST", ["payments", id, "virtual-account", "close"]) => close_virtual_account(&r, id),
        ("POST", ["payments", id, "resend-webhook"]) => resend_webhook(&r, id),
        ("GET", ["payments", id, "transactions"]) => transactions(&r, id),
        ("POST", ["payments", id, "schedule"]) => create_schedule(&r, id),
        ("GET", ["payment-schedules"]) => list_schedules(&r),
        ("DELETE", ["payment-schedules"]) => revoke_schedules(&r),
        ("GET", ["payment-schedules", id]) => get_schedule(&r, id),
        ("GET", ["billing-keys"]) => list_billing_keys(&r),
        ("POST", ["billing-keys"]) => issue_billing_key(&r),
        ("GET", ["billing-keys", key]) => get_billing_key(&r, key),
        ("DELETE", ["billing-keys", key]) => delete_billing_key(&r, key),
        ("GET", ["identity-verifications", id]) => get_identity(&r, id),
        ("POST", ["identity-verifications", id, "send"]) => send_identity(&r, id),
        ("POST", ["identity-verifications", id, "confirm"]) => confirm_identity(&r, id),
        ("POST", ["identity-verifications", id, "resend"]) => resend_identity(&r, id),
        (method, _) => fake_harness::json_response(
            StatusCode::NOT_FOUND,
            json!({
                "type": "NOT_FOUND",
                "message": format!("no endpoint {method} {}", parts.uri.path()),
            })
            .to_string(),
        ),
    }
}

/// The store named by `?storeId=`, if any.
fn store_query(raw: Option<&str>) -> Result<Option<String>, PortOneError> {
    query::<rq::StoreQuery>(raw).map(|q| q.store_id)
}

fn login(r: &Req<'_>) -> Response {
    r.app.call_open(|w: &mut World, now| {
        let b: rq::LoginBody = body(r.bytes)?;
        w.login(&b.api_secret, now)
    })
}

fn refresh(r: &Req<'_>) -> Response {
    r.app.call_open(|w: &mut World, now| {
        let b: rq::RefreshBody = body(r.bytes)?;
        w.refresh(&b.refresh_token, now)
    })
}

fn list_payments(r: &Req<'_>) -> Response {
    r.app.call(r.headers, |w, caller, _| {
        let b: rq::GetPaymentsBody = list_input(r.query, r.bytes)?;
        let stores = w.stores_of(caller, b.filter.store_id.as_deref())?;
        w.list_payments(&stores, b)
    })
}

fn get_payment(r: &Req<'_>, id: &str) -> Response {
    r.app.call_raw(r.headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(r.query)?.as_deref())?;
        w.payment_bytes(&store, id)
    })
}

fn transactions(r: &Req<'_>, id: &str) -> Response {
    r.app.call(r.headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(r.query)?.as_deref())?;
        w.transactions(&store, id)
    })
}

fn pre_register(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, _| {
            let b: rq::PreRegisterBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.pre_register(&store, id, b)
        })
}

fn instant(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::InstantBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.instant(&store, id, b, now)
        })
}

fn pay_with_billing_key(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::BillingKeyPayBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.pay_with_billing_key(&store, id, b, None, now)
        })
}

fn cancel(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::CancelBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.cancel(&store, id, b, now)
        })
}

fn close_virtual_account(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let store = w.store_of(caller, store_query(r.query)?.as_deref())?;
            w.close_virtual_account(&store, id, now)
        })
}

fn resend_webhook(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::ResendWebhookBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.resend_webhook(&store, id, b.webhook_id.as_deref(), now)
        })
}

fn create_schedule(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::CreateScheduleBody = body(r.bytes)?;
            let store = w.store_of(caller, b.payment.store_id.as_deref())?;
            w.create_schedule(&store, id, b, now)
        })
}

fn list_schedules(r: &Req<'_>) -> Response {
    r.app.call(r.headers, |w, caller, _| {
        let b: rq::GetSchedulesBody = list_input(r.query, r.bytes)?;
        let stores = w.stores_of(caller, b.filter.store_id.as_deref())?;
        w.list_schedules(&stores, b)
    })
}

fn revoke_schedules(r: &Req<'_>) -> Response {
    r.app.call(r.headers, |w, caller, now| {
        let b: rq::RevokeSchedulesBody = list_input(r.query, r.bytes)?;
        let store = w.store_of(caller, b.store_id.as_deref())?;
        w.revoke_schedules(&store, b, now)
    })
}

fn get_schedule(r: &Req<'_>, id: &str) -> Response {
    r.app.call(r.headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(r.query)?.as_deref())?;
        Ok(w.schedule(&store, id)?.render())
    })
}

fn list_billing_keys(r: &Req<'_>) -> Response {
    r.app.call(r.headers, |w, caller, _| {
        let b: rq::GetBillingKeysBody = list_input(r.query, r.bytes)?;
        let stores = w.stores_of(caller, b.filter.store_id.as_deref())?;
        w.list_billing_keys(&stores, b)
    })
}

fn issue_billing_key(r: &Req<'_>) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::IssueBillingKeyBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.issue_billing_key(&store, b, now)
        })
}

fn get_billing_key(r: &Req<'_>, key: &str) -> Response {
    r.app.call(r.headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(r.query)?.as_deref())?;
        Ok(w.billing_key(&store, key)?.render())
    })
}

fn delete_billing_key(r: &Req<'_>, key: &str) -> Response {
    r.app.call(r.headers, |w, caller, now| {
        let q: rq::DeleteBillingKeyQuery = query(r.query)?;
        let store = w.store_of(caller, q.store_id.as_deref())?;
        w.delete_billing_key(&store, key, q.skip_webhook, now)
    })
}

fn get_identity(r: &Req<'_>, id: &str) -> Response {
    r.app.call(r.headers, |w, caller, _| {
        let store = w.store_of(caller, store_query(r.query)?.as_deref())?;
        Ok(w.verification(&store, id)?.render())
    })
}

fn send_identity(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::SendIdentityBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.send_identity(&store, id, b, now)
        })
}

fn confirm_identity(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let b: rq::ConfirmIdentityBody = body(r.bytes)?;
            let store = w.store_of(caller, b.store_id.as_deref())?;
            w.confirm_identity(&store, id, b.otp.as_deref(), now)
        })
}

fn resend_identity(r: &Req<'_>, id: &str) -> Response {
    r.app
        .call_idempotent(r.headers, r.uri, r.bytes, |w, caller, now| {
            let store = w.store_of(caller, store_query(r.query)?.as_deref())?;
            w.resend_identity(&store, id, now)
        })
}

//! The Toss v1 API: [`serve`] routes a request by method and path, checks the secret key,
//! applies `Idempotency-Key` to POSTs, and runs the route's handler.
//!
//! Routed by hand, not by axum: the harness hands every request outside `/internal/`
//! straight to [`serve`] (see [`fake_harness::Routes`]), which roughly halved what a
//! lookup cost the fake beyond hyper's own work.

use std::sync::Arc;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use fake_harness::idempotency::Begin;
use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::Value;

use crate::error::TossError;
use crate::idempotency::{self, MAX_KEY_LEN};
use crate::routes::json_body;
use crate::state::Shared;

/// A route's answer: its status and JSON body (empty: no body).
type Answer = Result<(StatusCode, Bytes), TossError>;

/// A route's handler: the state, the path's parameter (empty when it has none) and the
/// request body.
type Handler = fn(&Shared, &str, &[u8]) -> Answer;

/// The handler of a method and path, with the path's parameter.
fn route<'a>(method: &str, path: &[&'a str]) -> Option<(Handler, &'a str)> {
    Some(match (method, path) {
        ("POST", ["v1", "payments", "key-in"]) => (key_in, ""),
        ("POST", ["v1", "payments", "confirm"]) => (confirm, ""),
        ("GET", ["v1", "payments", "orders", order_id]) => (payment_by_order, order_id),
        ("GET", ["v1", "payments", key]) => (payment, key),
        ("POST", ["v1", "payments", key]) => (confirm_by_path, key),
        ("POST", ["v1", "payments", key, "cancel"]) => (cancel, key),
        ("POST", ["v1", "virtual-accounts"]) => (virtual_account, ""),
        ("POST", ["v1", "billing", "authorizations", "card"]) => (billing_card, ""),
        ("POST", ["v1", "billing", "authorizations", "issue"]) => (billing_issue, ""),
        ("POST", ["v1", "billing", "authorizations", key]) => (billing_read, key),
        ("POST", ["v1", "billing", key]) => (billing_charge, key),
        ("DELETE", ["v1", "billing", key]) => (billing_delete, key),
        ("POST", ["v1", "cash-receipts"]) => (cash_receipt, ""),
        ("POST", ["v1", "cash-receipts", key, "cancel"]) => (cash_receipt_cancel, key),
        _ => return None,
    })
}

/// Answers one API request: `404` for a method and path the API does not have, `401`
/// without a known secret key, a replay for a repeated `Idempotency-Key`, else the
/// route's answer.
pub(crate) fn serve(s: &Arc<Shared>, parts: Parts, bytes: Bytes) -> Response {
    let segments = fake_harness::routes::segments(parts.uri.path());
    let path: Vec<&str> = segments.iter().map(AsRef::as_ref).collect();
    let Some((handler, param)) = route(parts.method.as_str(), &path) else {
        return crate::routes::not_found(&parts.method, parts.uri.path()).into_response();
    };
    let secret = match s.auth.check(&parts.headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let raw = if parts.method == Method::POST {
        parts.headers.get("idempotency-key")
    } else {
        None
    };
    let run = || settle(handler(s, param, &bytes));
    let Some(raw) = raw else {
        return respond(run());
    };
    let Ok(key) = raw.to_str() else {
        return TossError::invalid("Idempotency-Key: must be visible ASCII").into_response();
    };
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return TossError::invalid(format!(
            "Idempotency-Key: must be 1-{MAX_KEY_LEN} characters, got {}",
            key.len()
        ))
        .into_response();
    }
    let scope = idempotency::scope(secret, parts.method.as_str(), parts.uri.path(), key);
    let cache = s.harness.idempotency();
    match cache.begin(
        &scope,
        &idempotency::fingerprint(&bytes),
        s.harness.clock().now(),
    ) {
        Err(c) => idempotency::conflict(&c, key).into_response(),
        Ok(Begin::Replay(a)) => fake_harness::json_response(
            StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK),
            a.body,
        ),
        Ok(Begin::Run) => {
            let mut guard = AbandonGuard {
                shared: s,
                scope: &scope,
                finished: false,
            };
            let (status, body) = run();
            cache.finish(&scope, status.as_u16(), body.clone());
            guard.finished = true;
            respond((status, body))
        }
    }
}

/// Forgets an in-flight idempotency entry if its handler panics before finishing.
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

/// An answer with a refusal turned into its Toss error body.
fn settle(answer: Answer) -> (StatusCode, Bytes) {
    answer.unwrap_or_else(|e| e.answer())
}

fn respond((status, body): (StatusCode, Bytes)) -> Response {
    if body.is_empty() {
        status.into_response()
    } else {
        fake_harness::json_response(status, body)
    }
}

fn ok(body: Bytes) -> (StatusCode, Bytes) {
    (StatusCode::OK, body)
}

fn created(body: Bytes) -> (StatusCode, Bytes) {
    (StatusCode::CREATED, body)
}

fn created_json(v: &Value) -> (StatusCode, Bytes) {
    created(Bytes::from(v.to_string()))
}

// ---- payments --------------------------------------------------------------------------

fn payment(s: &Shared, key: &str, _: &[u8]) -> Answer {
    s.with_store(|st, now| st.get(key, now)).map(ok)
}

fn payment_by_order(s: &Shared, order_id: &str, _: &[u8]) -> Answer {
    s.with_store(|st, now| st.get_by_order(order_id, now))
        .map(ok)
}

fn key_in(s: &Shared, _: &str, body: &[u8]) -> Answer {
    let r: crate::payments::KeyIn = json_body(body)?;
    s.with_store(|st, now| st.key_in(r, now)).map(created)
}

fn confirm(s: &Shared, _: &str, body: &[u8]) -> Answer {
    let r: crate::payments::Approval = json_body(body)?;
    let key = r
        .payment_key
        .clone()
        .ok_or_else(|| TossError::invalid("paymentKey: required"))?;
    s.with_store(|st, now| st.confirm(&key, &r.order_id, r.amount, now))
        .map(created)
}

fn confirm_by_path(s: &Shared, key: &str, body: &[u8]) -> Answer {
    let r: crate::payments::Approval = json_body(body)?;
    if let Some(k) = r.payment_key.as_deref().filter(|k| *k != key) {
        return Err(TossError::invalid(format!(
            "paymentKey: body names {k:?} but the path names {key:?}"
        )));
    }
    s.with_store(|st, now| st.confirm(key, &r.order_id, r.amount, now))
        .map(created)
}

fn cancel(s: &Shared, key: &str, body: &[u8]) -> Answer {
    let r: crate::payments::CancelReq = json_body(body)?;
    s.with_store(|st, now| st.cancel(key, r, now)).map(created)
}

fn virtual_account(s: &Shared, _: &str, body: &[u8]) -> Answer {
    let r: crate::virtual_accounts::VirtualAccountReq = json_body(body)?;
    s.with_store(|st, now| st.issue_virtual_account(r, now))
        .map(created)
}

// ---- billing ---------------------------------------------------------------------------

fn billing_card(s: &Shared, _: &str, body: &[u8]) -> Answer {
    let r: crate::billing::BillingCardReq = json_body(body)?;
    s.with_store(|st, now| st.billing_card(r, now))
        .map(|v| created_json(&v))
}

fn billing_issue(s: &Shared, _: &str, body: &[u8]) -> Answer {
    let r: crate::billing::IssueReq = json_body(body)?;
    s.with_store(|st, now| st.issue_billing(r, now))
        .map(|v| created_json(&v))
}

fn billing_read(s: &Shared, key: &str, body: &[u8]) -> Answer {
    let r: crate::billing::CustomerKeyReq = json_body(body)?;
    s.with_store(|st, _| st.read_billing(key, &r))
        .map(|v| created_json(&v))
}

fn billing_charge(s: &Shared, key: &str, body: &[u8]) -> Answer {
    let r: crate::billing::ChargeReq = json_body(body)?;
    s.with_store(|st, now| st.charge(key, r, now)).map(created)
}

fn billing_delete(s: &Shared, key: &str, _: &[u8]) -> Answer {
    s.with_store(|st, now| st.delete_billing(key, now))?;
    Ok((StatusCode::OK, Bytes::new()))
}

// ---- cash receipts ---------------------------------------------------------------------

fn cash_receipt(s: &Shared, _: &str, body: &[u8]) -> Answer {
    let r: crate::cash_receipts::CashReceiptReq = json_body(body)?;
    s.with_store(|st, now| st.issue_cash_receipt(r, now))
        .map(|v| created_json(&v))
}

fn cash_receipt_cancel(s: &Shared, key: &str, body: &[u8]) -> Answer {
    let r: crate::cash_receipts::CashReceiptCancelReq = json_body(body)?;
    s.with_store(|st, now| st.cancel_cash_receipt(key, &r, now))
        .map(|v| created_json(&v))
}

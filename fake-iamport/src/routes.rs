//! Maps `METHOD /path` to its handler, checks the token, and applies the
//! `Idempotency-Key` replay rule; every handler runs under the state lock.

use fake_harness::idempotency::{Begin, Conflict};
use http::{HeaderMap, Method, StatusCode};

use crate::envelope::{ApiError, Reply};
use crate::fields::Body;
use crate::shared::Shared;
use crate::state::State;
use crate::{auth, certifications, charges, customers, payments, receipts, vbanks};

/// The header that makes a POST replayable.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Every endpoint the fake serves.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    GetToken,
    InternalWebhook,
    Deposit(String),
    GetPayment(String),
    FindPayment(String, Option<String>),
    Cancel,
    Onetime,
    Again,
    CustomerGet(String),
    CustomerSave(String),
    CustomerDelete(String),
    VbankIssue,
    VbankEdit,
    VbankDelete(String),
    ReceiptGet(String),
    ReceiptIssue(String),
    ReceiptCancel(String),
    CertRequest,
    CertConfirm(String),
    CertGet(String),
    CertDelete(String),
}

impl Route {
    fn parse(method: &Method, path: &str) -> Option<Self> {
        let segs = fake_harness::routes::segments(path);
        let s: Vec<&str> = segs.iter().map(|s| s.as_ref()).collect();
        let id = |v: &str| v.to_owned();
        Some(match (method.as_str(), s.as_slice()) {
            ("POST", ["users", "getToken"]) => Route::GetToken,
            ("POST", ["internal", "webhook"]) => Route::InternalWebhook,
            ("PUT", ["internal", "deposit", i]) => Route::Deposit(id(i)),
            ("POST", ["payments", "cancel"]) => Route::Cancel,
            ("GET", ["payments", "find", m]) => Route::FindPayment(id(m), None),
            ("GET", ["payments", "find", m, st]) => Route::FindPayment(id(m), Some(id(st))),
            ("GET", ["payments", i]) => Route::GetPayment(id(i)),
            ("POST", ["subscribe", "payments", "onetime"]) => Route::Onetime,
            ("POST", ["subscribe", "payments", "again"]) => Route::Again,
            ("GET", ["subscribe", "customers", c]) => Route::CustomerGet(id(c)),
            ("POST", ["subscribe", "customers", c]) => Route::CustomerSave(id(c)),
            ("DELETE", ["subscribe", "customers", c]) => Route::CustomerDelete(id(c)),
            ("POST", ["vbanks"]) => Route::VbankIssue,
            ("PUT", ["vbanks"]) => Route::VbankEdit,
            ("DELETE", ["vbanks", i]) => Route::VbankDelete(id(i)),
            ("GET", ["receipts", i]) => Route::ReceiptGet(id(i)),
            ("POST", ["receipts", i]) => Route::ReceiptIssue(id(i)),
            ("DELETE", ["receipts", i]) => Route::ReceiptCancel(id(i)),
            ("POST", ["certifications", "otp", "request"]) => Route::CertRequest,
            ("POST", ["certifications", "otp", "confirm", i]) => Route::CertConfirm(id(i)),
            ("GET", ["certifications", i]) => Route::CertGet(id(i)),
            ("DELETE", ["certifications", i]) => Route::CertDelete(id(i)),
            _ => return None,
        })
    }

    /// Routes that need no access token.
    fn is_public(&self) -> bool {
        matches!(self, Route::GetToken | Route::InternalWebhook)
    }

    /// Routes that change nothing, so the lookups serialised earlier stay true (see
    /// [`payments::get_rendered`]); every other route may change the state.
    fn keeps_rendered(&self) -> bool {
        matches!(self, Route::GetPayment(_))
    }

    /// Routes that honour `Idempotency-Key` (those that move money or create things).
    fn is_idempotent(&self) -> bool {
        matches!(
            self,
            Route::Onetime
                | Route::Again
                | Route::Cancel
                | Route::VbankIssue
                | Route::CustomerSave(_)
                | Route::ReceiptIssue(_)
        )
    }
}

/// A reply plus whether it was replayed from an earlier identical request.
#[derive(Debug)]
pub(crate) struct Dispatched {
    pub(crate) reply: Reply,
    pub(crate) replayed: bool,
}

fn fresh(reply: Reply) -> Dispatched {
    Dispatched {
        reply,
        replayed: false,
    }
}

/// Handles one request end to end.
pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Dispatched {
    let Some(route) = Route::parse(method, path) else {
        return fresh(Reply::error(&ApiError::not_found(format!(
            "존재하지 않는 API입니다. (no endpoint {method} {path})"
        ))));
    };
    let now = shared.harness.clock().now().timestamp();
    let mut st = if route.keeps_rendered() {
        shared.lock_state_to_read()
    } else {
        shared.lock_state()
    };
    if !route.is_public()
        && let Err(e) = auth::check(&st, headers, now)
    {
        return fresh(Reply::error(&e));
    }
    let body = match Body::parse(headers, bytes) {
        Ok(b) => b,
        Err(e) => return fresh(Reply::error(&e)),
    };
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|k| !k.is_empty());
    let Some(key) = key.filter(|_| route.is_idempotent()) else {
        return fresh(execute(&mut st, &route, &body, now));
    };
    // The same key means the same method, path and (parsed) body; the whole exchange runs
    // under the state lock, so a key is never seen in flight.
    let fingerprint = format!("{method} {path}\n{}", body.to_value());
    let cache = shared.harness.idempotency();
    match cache.begin(&key, fingerprint.as_bytes(), shared.harness.clock().now()) {
        Ok(Begin::Replay(answer)) => Dispatched {
            reply: Reply {
                status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
                // Only successful answers are remembered (see below).
                code: 0,
                body: answer.body.to_vec(),
            },
            replayed: true,
        },
        Err(Conflict::DifferentRequest | Conflict::InFlight) => {
            fresh(Reply::error(&ApiError::conflict(format!(
                "Idempotency-Key {key:?} was already used for a different request; use a new key for a new request"
            ))))
        }
        Ok(Begin::Run) => {
            let reply = execute(&mut st, &route, &body, now);
            // Input errors are not remembered, so a corrected retry with the same key works.
            if reply.status == StatusCode::OK {
                cache.finish(&key, reply.status.as_u16(), reply.body.clone().into());
            } else {
                cache.abandon(&key);
            }
            fresh(reply)
        }
    }
}

fn execute(st: &mut State, route: &Route, body: &Body, now: i64) -> Reply {
    // Lookups answer the stored record serialised in place; the others a JSON value.
    match route {
        Route::GetToken => Reply::from(auth::get_token(st, body, now)),
        Route::InternalWebhook => Reply {
            status: StatusCode::CREATED,
            code: 0,
            body: b"{}".to_vec(),
        },
        Route::Deposit(i) => Reply::from(vbanks::deposit(st, i, now)),
        Route::GetPayment(i) => payments::get_rendered(st, i),
        Route::FindPayment(m, s) => Reply::from(payments::find(st, m, s.as_deref())),
        Route::Cancel => Reply::from(payments::cancel(st, body, now)),
        Route::Onetime => Reply::from(charges::onetime(st, body, now)),
        Route::Again => Reply::from(charges::again(st, body, now)),
        Route::CustomerGet(c) => Reply::from(customers::get(st, c)),
        Route::CustomerSave(c) => Reply::from(customers::register(st, c, body, now)),
        Route::CustomerDelete(c) => Reply::from(customers::delete(st, c)),
        Route::VbankIssue => Reply::from(vbanks::issue(st, body, now)),
        Route::VbankEdit => Reply::from(vbanks::edit(st, body, now)),
        Route::VbankDelete(i) => Reply::from(vbanks::withdraw(st, i, now)),
        Route::ReceiptGet(i) => Reply::from(receipts::get(st, i)),
        Route::ReceiptIssue(i) => Reply::from(receipts::issue(st, i, body, now)),
        Route::ReceiptCancel(i) => Reply::from(receipts::cancel(st, i, now)),
        Route::CertRequest => Reply::from(certifications::request(st, body, now)),
        Route::CertConfirm(i) => Reply::from(certifications::confirm(st, i, body, now)),
        Route::CertGet(i) => Reply::from(certifications::get(st, i)),
        Route::CertDelete(i) => Reply::from(certifications::delete(st, i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_with_decoding() {
        assert_eq!(
            Route::parse(&Method::GET, "/payments/find/order%201"),
            Some(Route::FindPayment("order 1".into(), None))
        );
        assert_eq!(
            Route::parse(&Method::GET, "/payments/imp_1"),
            Some(Route::GetPayment("imp_1".into()))
        );
        assert_eq!(Route::parse(&Method::PATCH, "/payments/imp_1"), None);
        assert_eq!(Route::parse(&Method::GET, "/nope"), None);
    }
}

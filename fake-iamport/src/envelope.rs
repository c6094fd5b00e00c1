//! The real API's response envelope `{code, message, response}` and the error type
//! every handler returns, which carries the HTTP status the real API would use.

use axum::body::Body as AxumBody;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

/// The `message` of every successful envelope (the spec requires a string).
pub(crate) const SUCCESS_MESSAGE: &str = "success";

/// A failed request: the HTTP status plus the envelope's non-zero `code` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: -1,
            message: message.into(),
        }
    }

    /// Malformed or missing input (`400`).
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// Missing, unknown or expired token, or wrong API key pair (`401`).
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// Unknown resource on a lookup endpoint (`404`).
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// An unknown `imp_uid` on a payment lookup (`404`).
    pub(crate) fn payment_not_found(imp_uid: &str) -> Self {
        Self::not_found(format!(
            "존재하지 않는 결제정보입니다. (no payment with imp_uid {imp_uid:?})"
        ))
    }

    /// Idempotency-Key reused with a different request (`409`).
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// A business refusal: the real API answers these `200` with `code: -1`
    /// (over-cancel, already paid merchant_uid, wrong OTP, ...).
    pub(crate) fn business(message: impl Into<String>) -> Self {
        Self::new(StatusCode::OK, message)
    }

    /// The envelope for this error: `response` is always `null`.
    pub(crate) fn body(&self) -> Value {
        json!({ "code": self.code, "message": self.message, "response": Value::Null })
    }
}

/// The envelope of a successful response.
pub(crate) fn success(response: Value) -> Value {
    json!({ "code": 0, "message": SUCCESS_MESSAGE, "response": response })
}

/// What a handler produced: a status and a JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl From<Result<Value, ApiError>> for Reply {
    fn from(r: Result<Value, ApiError>) -> Self {
        match r {
            Ok(v) => Reply {
                status: StatusCode::OK,
                body: success(v),
            },
            Err(e) => Reply {
                status: e.status,
                body: e.body(),
            },
        }
    }
}

/// The HTTP answer for a reply.
pub(crate) fn reply_response(reply: &Reply) -> Response {
    json_response(reply, false)
}

/// The HTTP answer for a reply; `replayed` marks an idempotent replay.
pub(crate) fn json_response(reply: &Reply, replayed: bool) -> Response {
    let bytes = serde_json::to_vec(&reply.body).unwrap_or_default();
    let mut resp = Response::new(AxumBody::from(bytes));
    *resp.status_mut() = reply.status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

//! The real API's response envelope `{code, message, response}` and the error type
//! every handler returns, which carries the HTTP status the real API would use.

use axum::body::Body as AxumBody;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde::Serialize;

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
}

/// The envelope `{code, message, response}`, serialised straight from the handler's
/// typed answer (no intermediate `Value`).
#[derive(Serialize)]
struct Envelope<'a, T> {
    code: i64,
    message: &'a str,
    response: Option<T>,
}

/// What a handler produced: the HTTP status, the envelope's `code` and the serialised
/// envelope.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) code: i64,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The answer to a failed request (`response: null`).
    pub(crate) fn error(e: &ApiError) -> Self {
        Self::envelope::<()>(e.status, e.code, &e.message, None)
    }

    fn envelope<T: Serialize>(
        status: StatusCode,
        code: i64,
        message: &str,
        response: Option<T>,
    ) -> Self {
        let body = serde_json::to_vec(&Envelope {
            code,
            message,
            response,
        });
        // Our records serialise infallibly (string keys only); say so if one ever did not.
        let body = body.unwrap_or_else(|e| {
            format!(r#"{{"code":-1,"message":"fake-iamport: cannot serialise the answer: {e}","response":null}}"#)
                .into_bytes()
        });
        Self { status, code, body }
    }
}

impl<T: Serialize> From<Result<T, ApiError>> for Reply {
    fn from(r: Result<T, ApiError>) -> Self {
        match r {
            Ok(v) => Reply::envelope(StatusCode::OK, 0, SUCCESS_MESSAGE, Some(v)),
            Err(e) => Reply::error(&e),
        }
    }
}

/// The HTTP answer for a reply.
pub(crate) fn reply_response(reply: Reply) -> Response {
    json_response(reply, false)
}

/// The HTTP answer for a reply; `replayed` marks an idempotent replay.
pub(crate) fn json_response(reply: Reply, replayed: bool) -> Response {
    let mut resp = Response::new(AxumBody::from(reply.body));
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

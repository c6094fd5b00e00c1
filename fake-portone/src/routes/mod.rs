//! The HTTP surface: the PortOne V2 API ([`api`], routed by hand), the fake-only
//! `/internal/` routes ([`internal`], on axum), and the glue they share — reading bodies
//! and queries into typed requests with PortOne-style errors, answering JSON.

mod api;
mod internal;

use axum::Router;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::PortOneError;

pub(crate) use api::serve;

/// The `/internal/` routes, built once per process and shared by every instance (every
/// other path goes to [`serve`]).
pub(crate) fn router() -> Router {
    internal::routes()
}

/// A JSON answer with status 200.
pub(crate) fn ok(v: &Value) -> Response {
    fake_harness::json_response(StatusCode::OK, serde_json::to_vec(v).unwrap_or_default())
}

/// The answer for a handler's outcome.
pub(crate) fn answer(r: Result<Value, PortOneError>) -> Response {
    match r {
        Ok(v) => ok(&v),
        Err(e) => e.into_response(),
    }
}

/// Reads a JSON body; an empty body reads as `{}` (for bodies whose fields are all
/// optional).
///
/// # Errors
/// `400 INVALID_REQUEST` naming what serde found wrong (the field and position).
pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PortOneError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| PortOneError::invalid(format!("request body: {e}")))
}

/// Reads a query string into `T`.
///
/// # Errors
/// `400 INVALID_REQUEST` naming the parameter.
pub(crate) fn query<T: DeserializeOwned + Default>(raw: Option<&str>) -> Result<T, PortOneError> {
    match raw {
        None | Some("") => Ok(T::default()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| PortOneError::invalid(format!("query string: {e}"))),
    }
}

/// The JSON input of a list route: the `requestBody` query parameter (as the real API
/// takes it on `GET`), else the request body.
///
/// # Errors
/// `400 INVALID_REQUEST` when either is not the expected JSON.
pub(crate) fn list_input<T: DeserializeOwned + Default>(
    raw_query: Option<&str>,
    bytes: &Bytes,
) -> Result<T, PortOneError> {
    let params: Vec<(String, String)> = match raw_query {
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| PortOneError::invalid(format!("query string: {e}")))?,
        None => Vec::new(),
    };
    match params.iter().find(|(k, _)| k == "requestBody") {
        Some((_, json)) => serde_json::from_str(json)
            .map_err(|e| PortOneError::invalid(format!("requestBody: {e}"))),
        None => body(bytes),
    }
}

/// The `Authorization` header, if it is text.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

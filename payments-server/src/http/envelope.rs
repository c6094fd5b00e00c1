//! The sealed-route extractor and responder.
//!
//! [`Sealed<T>`] reads a request body in either envelope (chosen by its
//! `Content-Type`), checks it (sealed-v2: timestamp freshness, then the tag, bound to
//! the request's method and path), decrypts it and decodes the JSON into `T`, naming
//! the field at fault. Its [`SealContext`] answers in the same envelope, bound to the
//! same request. Errors stay plain JSON so a client can read them without keys.

use super::error::ApiError;
use super::replay::Refusal;
use crate::app::App;
use crate::at_rest::IDEMPOTENCY_REQUEST_LABEL;
use crate::store::RequestHash;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use payments_core::envelope::{
    Binding, EnvelopeError, EnvelopeKind, TIMESTAMP_HEADER, check_freshness, parse_timestamp,
};
use payments_core::records::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Digest;
use std::sync::Arc;

/// How to answer a sealed request: its envelope and what the answer is bound to.
#[derive(Clone)]
pub struct SealContext {
    app: Arc<App>,
    kind: EnvelopeKind,
    method: Method,
    path: String,
}

impl std::fmt::Debug for SealContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealContext")
            .field("kind", &self.kind)
            .field("method", &self.method)
            .field("path", &self.path)
            .finish()
    }
}

impl SealContext {
    /// The envelope the request came in.
    pub fn kind(&self) -> EnvelopeKind {
        self.kind
    }

    /// Seals a value as the response body.
    pub fn reply<T: Serialize>(&self, status: StatusCode, value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(json) => self.reply_json(status, &json),
            Err(error) => ApiError::internal(error).into_response(),
        }
    }

    /// Seals JSON bytes as the response body.
    pub fn reply_json(&self, status: StatusCode, json: &[u8]) -> Response {
        let Some(envelope) = self.app.envelopes.get(self.kind) else {
            return envelope_disabled().into_response();
        };
        let timestamp_ms = self.app.now_ms();
        let binding = Binding {
            method: self.method.as_str(),
            path: &self.path,
            timestamp_ms,
            idempotency_key: None,
        };
        let body = envelope.seal(json, &binding);
        let mut response = (status, Body::from(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.kind.content_type()),
        );
        if self.kind == EnvelopeKind::SealedV2 {
            headers.insert(TIMESTAMP_HEADER, HeaderValue::from(timestamp_ms));
        }
        response
    }
}

fn envelope_disabled() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::EnvelopeDisabled,
        "the compat envelope (text/plain) is switched off on this server; use application/vnd.payments.sealed-v2",
    )
}

/// The one answer to every compat body that does not open into the route's record. The
/// compat envelope has no MAC, so telling a padding failure from a JSON or shape failure
/// would be a padding oracle: with a few thousand requests per block an attacker would
/// decrypt any captured body. Every compat failure — not text, not base64, not whole
/// blocks, bad padding, not UTF-8, not JSON, wrong shape — gets this same status, code
/// and message, and takes the same path (the whole body is decrypted and parsed, which
/// fails at the first byte of garbage either way). The cause goes to the debug log only.
fn compat_refused(cause: &dyn std::fmt::Display) -> ApiError {
    tracing::debug!(%cause, "compat body refused");
    ApiError::bad_request(
        ErrorCode::Undecryptable,
        "the compat body could not be opened as this route's record",
    )
}

fn undecryptable(error: EnvelopeError) -> ApiError {
    match error {
        EnvelopeError::StaleTimestamp { .. } => ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::StaleTimestamp,
            error.to_string(),
        ),
        EnvelopeError::InvalidTimestamp => {
            ApiError::bad_request(ErrorCode::InvalidTimestamp, error.to_string())
        }
        other => ApiError::bad_request(ErrorCode::Undecryptable, other.to_string()),
    }
}

/// A decrypted, decoded sealed request body.
#[derive(Debug)]
pub struct Sealed<T> {
    /// The decoded body.
    pub value: T,
    /// How to answer.
    pub context: SealContext,
    /// A keyed digest of the decrypted JSON (keys sorted), for idempotency checks; see
    /// [`RequestHash`].
    pub request_hash: RequestHash,
}

fn media_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
}

/// Reads a raw body within the configured limit: `413` above it.
///
/// # Errors
/// `413 PAYLOAD_TOO_LARGE`, or `400 BAD_BODY` when the body cannot be read.
pub async fn read_body(request: Request, app: &Arc<App>) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, app)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(app.config.body_limit)
            } else {
                ApiError::bad_request(ErrorCode::BadBody, rejection.body_text())
            }
        })
}

/// Decodes JSON into `T`, naming the field at fault.
///
/// # Errors
/// `400 INVALID_JSON` for text that is not JSON; `400 INVALID_BODY` for JSON of the
/// wrong shape, naming the field.
pub fn decode_json<T: DeserializeOwned>(json: &[u8]) -> Result<(T, serde_json::Value), ApiError> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let decoded = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body" } else { path.as_str() };
        ApiError::bad_request(
            ErrorCode::InvalidBody,
            format!(
                "{}: {}",
                crate::validate::cut(field, 128),
                wire_terms(&e.inner().to_string())
            ),
        )
    })?;
    Ok((decoded, value))
}

/// The longest reason an `INVALID_BODY` message carries.
const REASON_CHARS: usize = 200;

/// A serde message in the wire's words: serde names the Rust type it wanted
/// (`expected struct PaymentHistoryCreate`, `expected u32`), which means nothing to a
/// caller writing JSON; this says what JSON was expected instead, and cuts what the
/// message repeats of the caller's input.
pub fn wire_terms(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(REASON_CHARS + 16));
    let mut rest = message;
    while let Some(at) = rest.find("expected ") {
        out.push_str(&rest[..at]);
        rest = &rest[at + "expected ".len()..];
        // What serde expected runs to the end or to the next `,` outside backticks
        // (e.g. `expected one of `a`, `b``), which is kept as it is.
        let end = rest.find([',', ';']).unwrap_or(rest.len());
        let (wanted, tail) = rest.split_at(end);
        out.push_str("expected ");
        out.push_str(&json_kind(wanted.trim()));
        rest = tail;
    }
    out.push_str(rest);
    // What serde says it got, in JSON's names.
    let out = out
        .replace("invalid type: map", "invalid type: object")
        .replace("invalid type: sequence", "invalid type: list")
        .replace("invalid type: unit value", "invalid type: null")
        .replace("floating point", "number");
    crate::validate::cut(&out, REASON_CHARS)
}

/// A serde "expected" in JSON words.
fn json_kind(wanted: &str) -> String {
    let first = wanted.split_whitespace().next().unwrap_or("");
    let kind = match first {
        "struct" | "map" => "an object",
        "tuple" | "sequence" => "a list",
        "enum" | "variant" => "one of the documented names",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer in range",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer in range",
        "f32" | "f64" => "a number",
        "bool" | "boolean" => "true or false",
        "char" => "a one-character string",
        "unit" => "null",
        "a" | "an" => match wanted.split_whitespace().nth(1).unwrap_or("") {
            "map" => "an object",
            "sequence" | "tuple" => "a list",
            "boolean" => "true or false",
            "borrowed" | "string" => "a string",
            _ => return wanted.to_owned(),
        },
        _ => return wanted.to_owned(),
    };
    kind.to_owned()
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<App>> for Sealed<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Self, ApiError> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let headers = request.headers().clone();
        let media = media_type(&headers).unwrap_or("");
        let kind = EnvelopeKind::from_content_type(media).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                format!(
                    "Content-Type {media:?} is not an envelope: send application/vnd.payments.sealed-v2 or text/plain"
                ),
            )
        })?;
        let envelope = app.envelopes.get(kind).ok_or_else(envelope_disabled)?;
        let bytes = read_body(request, app).await?;
        let (value, raw) = match kind {
            EnvelopeKind::Compat => open_compat::<T>(&envelope, &bytes)?,
            EnvelopeKind::SealedV2 => {
                // Authenticated: once the tag verifies, naming the field at fault tells an
                // attacker nothing, and it tells the caller what to fix.
                let body = std::str::from_utf8(&bytes).map_err(|_| {
                    ApiError::bad_request(ErrorCode::Undecryptable, "the body is not base64 text")
                })?;
                let header = headers
                    .get(TIMESTAMP_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            ErrorCode::MissingTimestamp,
                            "sealed-v2 requests carry an X-Payments-Timestamp header",
                        )
                    })?;
                let timestamp_ms = parse_timestamp(header).map_err(undecryptable)?;
                check_freshness(timestamp_ms, app.now_ms()).map_err(undecryptable)?;
                // The key is bound into the tag: a captured request replayed under
                // another key does not open.
                let idempotency_key = headers
                    .get(super::idempotency::IDEMPOTENCY_HEADER)
                    .and_then(|v| v.to_str().ok());
                let binding = Binding {
                    method: method.as_str(),
                    path: &path,
                    timestamp_ms,
                    idempotency_key,
                };
                let json = envelope.open(body, &binding).map_err(undecryptable)?;
                accept_once(app, body, timestamp_ms)?;
                decode_json::<T>(&json)?
            }
        };
        // serde_json's map is ordered, so equal requests hash equally whatever their key order.
        let canonical = serde_json::to_vec(&raw).unwrap_or_default();
        let request_hash = request_hash(app, &canonical);
        Ok(Self {
            value,
            context: SealContext {
                app: app.clone(),
                kind,
                method,
                path,
            },
            request_hash,
        })
    }
}

/// The hashes an idempotency key's request is compared by: keyed under the data keys
/// (the body holds record passwords), and, for claims stored before the keyed hash,
/// the unkeyed SHA-256 they were stored under.
fn request_hash(app: &App, canonical: &[u8]) -> RequestHash {
    let mut keyed = app
        .data_keys
        .lookup_hashes(IDEMPOTENCY_REQUEST_LABEL, canonical)
        .into_iter();
    let current = keyed.next().unwrap_or_default();
    let mut accepted: Vec<String> = keyed.collect();
    // Legacy: remove once every claim made before the keyed hash has expired.
    accepted
        .push(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(canonical)));
    RequestHash { current, accepted }
}

/// Refuses an authentic sealed-v2 body this server accepted before (see
/// [`super::replay`]).
fn accept_once(app: &App, body: &str, timestamp_ms: i64) -> Result<(), ApiError> {
    // The tag is the last 32 bytes of the decoded body (not of its text, which could be
    // re-encoded with other whitespace); the body opened, so it decodes.
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(body.trim_ascii())
        .unwrap_or_default();
    let tag = &decoded[decoded.len().saturating_sub(32)..];
    app.replays
        .accept(tag, timestamp_ms, app.now_ms())
        .map_err(|refusal| match refusal {
            Refusal::Replayed => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Replayed,
                "this sealed request was accepted before: seal every request anew (a fresh IV and timestamp)",
            ),
            Refusal::Full => ApiError::overloaded(
                5,
                "the server remembers as many recent requests as it can hold; retry shortly",
            ),
        })
}

/// Opens a compat body into `T`; every failure is [`compat_refused`].
fn open_compat<T: DeserializeOwned>(
    envelope: &payments_core::envelope::Envelope,
    bytes: &[u8],
) -> Result<(T, serde_json::Value), ApiError> {
    let binding = Binding {
        method: "",
        path: "",
        timestamp_ms: 0,
        idempotency_key: None,
    };
    let body = String::from_utf8_lossy(bytes);
    let json = envelope
        .open(&body, &binding)
        .map_err(|e| compat_refused(&e))?;
    decode_json::<T>(&json).map_err(|e| compat_refused(&e.message))
}

/// The answer context of a sealed route without a request body (`GET`): always sealed-v2;
/// an `Accept` asking for compat (`text/plain`) is refused.
#[derive(Debug, Clone)]
pub struct SealedGet(pub SealContext);

impl FromRequestParts<Arc<App>> for SealedGet {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let accept = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.contains(EnvelopeKind::Compat.content_type()) {
            // Anyone may GET these, and their content is mostly known (version, start
            // time): a compat answer would hand out a ciphertext of known plaintext under
            // the fixed IV. Only sealed-v2 answers them.
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::EnvelopeDisabled,
                "this route answers in sealed-v2 only (Accept: application/vnd.payments.sealed-v2)",
            ));
        }
        let kind = EnvelopeKind::SealedV2;
        Ok(Self(SealContext {
            app: app.clone(),
            kind,
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
        }))
    }
}

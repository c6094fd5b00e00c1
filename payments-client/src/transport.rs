//! One call on the wire: seal the request, send it, retry what may be retried, open the
//! answer. Everything the route methods share lives here so that each of them is a line.

use crate::connection::{ConfigError, Connection};
use crate::error::{Error, ErrorCode, ResponseError, ServerError, UnknownCause};
use crate::idempotency::IdempotencyKey;
use crate::retry::RetryPolicy;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use payments_core::clock::Clock;
use payments_core::envelope::{
    Binding, Envelope, TIMESTAMP_HEADER, check_freshness, parse_timestamp,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use url::Url;

/// Headers the SDK sets per request: an extra header of these names would put, say,
/// one idempotency key on every write, or break the envelope.
const RESERVED_HEADERS: [&str; 5] = [
    "content-type",
    "accept",
    TIMESTAMP_HEADER,
    crate::IDEMPOTENCY_KEY_HEADER,
    "content-length",
];

/// Whether a route's bodies are enveloped (spec §3 "sealed") or plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    Sealed,
    Plain,
}

/// What the retry rules need to know about a call.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    /// A read, or a call that is safe to repeat: retried freely.
    Idempotent,
    /// Creates or cancels: retried only with a key, and every attempt sends it.
    Write(Option<&'a IdempotencyKey>),
}

/// The shared state behind every clone of a client.
pub(crate) struct Inner {
    http: reqwest::Client,
    base: Url,
    envelope: Envelope,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsClient")
            .field("base_url", &self.base.as_str())
            .field("envelope", &self.envelope.kind())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// The outcome of one attempt, before the retry rules look at it.
enum Attempt {
    Done(Vec<u8>),
    Failed(Error),
}

impl Inner {
    pub(crate) fn new(connection: Connection) -> Result<Self, ConfigError> {
        if let Some(error) = connection.pending {
            return Err(ConfigError::Compat(error));
        }
        let base = parse_base(&connection.base_url)?;
        let envelope = connection.envelope.ok_or(ConfigError::NoEnvelope)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &connection.headers {
            let header_name =
                HeaderName::try_from(name.as_str()).map_err(|_| ConfigError::Header {
                    name: name.clone(),
                    reason: "not a valid header name",
                })?;
            if RESERVED_HEADERS.contains(&header_name.as_str()) {
                return Err(ConfigError::Header {
                    name: name.clone(),
                    reason: "the SDK sets this header itself, per request",
                });
            }
            let mut header_value =
                HeaderValue::try_from(value.as_str()).map_err(|_| ConfigError::Header {
                    name: name.clone(),
                    reason: "the value holds characters a header cannot carry",
                })?;
            header_value.set_sensitive(true);
            headers.append(header_name, header_value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(connection.timeout)
            .connect_timeout(connection.connect_timeout)
            // A redirect would re-target a sealed-v2 body bound to this path: refuse it
            // and report the 3xx as the server's answer.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("payments-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::HttpClient)?;
        Ok(Self {
            http,
            base,
            envelope,
            retry: connection.retry,
            clock: connection.clock,
        })
    }

    pub(crate) fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.base
    }

    /// Calls a route and decodes its JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Body,
        input: Option<&(dyn ErasedSerialize + Sync)>,
        kind: Kind<'_>,
    ) -> Result<T, Error> {
        let bytes = self.send(method, path, body, input, kind).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Response(ResponseError::Decode(e)))
    }

    /// Calls a route and returns its opened answer's bytes, retrying per the rules.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        input: Option<&(dyn ErasedSerialize + Sync)>,
        kind: Kind<'_>,
    ) -> Result<Vec<u8>, Error> {
        let url = self.url(path);
        let plaintext = match input {
            Some(input) => Some(input.to_json().map_err(Error::Encode)?),
            None => None,
        };
        let may_retry = match kind {
            Kind::Idempotent => true,
            Kind::Write(key) => key.is_some(),
        };
        let key = match kind {
            Kind::Write(key) => key,
            Kind::Idempotent => None,
        };
        let mut attempt = 1;
        loop {
            let outcome = self
                .attempt(&method, &url, body, plaintext.as_deref(), key)
                .await;
            let error = match outcome {
                Attempt::Done(bytes) => return Ok(bytes),
                Attempt::Failed(error) => error,
            };
            let retryable = may_retry && is_retryable(&error, key.is_some());
            if !retryable || attempt >= self.retry.max_attempts() {
                tracing::debug!(%method, path = url.path(), attempt, %error, "payments call failed");
                return Err(error);
            }
            let delay = self.retry.delay_before_retry(attempt);
            tracing::debug!(%method, path = url.path(), attempt, ?delay, %error, "retrying payments call");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Body,
        plaintext: Option<&[u8]>,
        key: Option<&IdempotencyKey>,
    ) -> Attempt {
        let path = url.path();
        let mut request = self.http.request(method.clone(), url.clone());
        if let Some(key) = key {
            request = request.header(crate::IDEMPOTENCY_KEY_HEADER, key.as_str());
        }
        let timestamp_ms = self.clock.now().timestamp_millis();
        // Bound into the tag: the server refuses the body under any other key.
        let idempotency_key = key.map(IdempotencyKey::as_str);
        if body == Body::Sealed {
            let content_type = self.envelope.kind().content_type();
            request = request.header(header::ACCEPT, content_type);
            if let Envelope::SealedV2(_) = self.envelope {
                request = request.header(TIMESTAMP_HEADER, timestamp_ms.to_string());
            }
            if let Some(plaintext) = plaintext {
                let sealed = match &self.envelope {
                    Envelope::Compat(key) => key.encrypt(plaintext),
                    Envelope::SealedV2(key) => key.seal(
                        plaintext,
                        &Binding {
                            method: method.as_str(),
                            path,
                            timestamp_ms,
                            idempotency_key,
                        },
                    ),
                };
                request = request
                    .header(header::CONTENT_TYPE, content_type)
                    .body(sealed);
            }
        } else if let Some(plaintext) = plaintext {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(plaintext.to_vec());
        }

        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Attempt::Failed(classify(e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                // The server answered but its body was cut: a write may well be done.
                return Attempt::Failed(classify(e));
            }
        };
        if !status.is_success() {
            return Attempt::Failed(Error::Server(ServerError::from_response(status, &bytes)));
        }
        if body == Body::Plain {
            return Attempt::Done(bytes.to_vec());
        }
        match self.open(method.as_str(), path, &headers, &bytes) {
            Ok(plaintext) => Attempt::Done(plaintext),
            Err(e) => Attempt::Failed(Error::Response(e)),
        }
    }

    /// Opens a sealed `2xx` answer with the request's method and path.
    fn open(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<u8>, ResponseError> {
        let expected = self.envelope.kind().content_type();
        let actual = headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !actual
            .as_deref()
            .is_some_and(|a| same_media_type(a, expected))
        {
            return Err(ResponseError::ContentType { expected, actual });
        }
        let text = std::str::from_utf8(body).map_err(|_| ResponseError::NotText)?;
        match &self.envelope {
            Envelope::Compat(key) => key.decrypt(text).map_err(ResponseError::Open),
            Envelope::SealedV2(key) => {
                let timestamp_ms = read_timestamp(headers)?;
                let opened = key
                    .open(
                        text,
                        &Binding {
                            method,
                            path,
                            timestamp_ms,
                            idempotency_key: None,
                        },
                    )
                    .map_err(ResponseError::Open)?;
                check_freshness(timestamp_ms, self.clock.now().timestamp_millis())
                    .map_err(ResponseError::Open)?;
                Ok(opened)
            }
        }
    }

    /// The route's URL under the base URL, keeping the base's path prefix.
    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        url
    }
}

/// Reads `X-Payments-Timestamp` as decimal Unix milliseconds.
pub(crate) fn read_timestamp(headers: &HeaderMap) -> Result<i64, ResponseError> {
    let value = headers
        .get(TIMESTAMP_HEADER)
        .ok_or(ResponseError::MissingTimestamp)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    parse_timestamp(&text).map_err(|_| ResponseError::InvalidTimestamp(text.into_owned()))
}

/// Compares media types without parameters (`text/plain; charset=utf-8` is `text/plain`).
pub(crate) fn same_media_type(actual: &str, expected: &str) -> bool {
    actual
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(expected))
}

/// Sorts a client error into "never sent" and "sent, outcome unknown".
fn classify(error: reqwest::Error) -> Error {
    if error.is_builder() || error.is_connect() {
        // Connect timeouts are connect errors too: nothing was sent.
        Error::Transport(error)
    } else if error.is_timeout() {
        Error::OutcomeUnknown {
            cause: UnknownCause::TimedOut,
            source: error,
        }
    } else {
        Error::OutcomeUnknown {
            cause: UnknownCause::ConnectionLost,
            source: error,
        }
    }
}

/// Whether an error may be retried by a call that is allowed to retry at all.
fn is_retryable(error: &Error, keyed_write: bool) -> bool {
    match error {
        Error::Transport(_) | Error::OutcomeUnknown { .. } => true,
        Error::Server(e) => {
            matches!(
                e.status(),
                StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            ) || (keyed_write && e.code() == Some(ErrorCode::IdempotencyInFlight))
        }
        _ => false,
    }
}

fn parse_base(text: &str) -> Result<Url, ConfigError> {
    let fail = |reason: &str| ConfigError::BaseUrl {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text).map_err(|e| fail(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(fail("the scheme must be http or https"));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(fail("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(fail("it must not have a query or fragment"));
    }
    Ok(url)
}

/// `Serialize` without generics, so the retry loop is compiled once, not per record.
pub(crate) trait ErasedSerialize {
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error>;
}

impl<T: Serialize> ErasedSerialize for T {
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert!(same_media_type("text/plain; charset=utf-8", "text/plain"));
        assert!(same_media_type("Text/Plain", "text/plain"));
        assert!(!same_media_type("application/json", "text/plain"));
    }

    #[test]
    fn base_urls_must_be_http_without_query() {
        assert!(parse_base("http://127.0.0.1:8080").is_ok());
        assert!(parse_base("https://host/api/").is_ok());
        assert!(parse_base("ftp://host").is_err());
        assert!(parse_base("http://host/?a=1").is_err());
        assert!(parse_base("not a url").is_err());
    }
}

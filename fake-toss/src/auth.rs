//! `Authorization: Basic base64(secretKey + ":")` checking against the accepted keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;

use crate::error::TossError;

/// The accepted secret keys and their precomputed header values.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    keys: Vec<String>,
    headers: Vec<String>,
}

/// The header value a client sends for `secret_key`.
pub(crate) fn basic_header(secret_key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{secret_key}:")))
}

impl Auth {
    pub(crate) fn new(keys: Vec<String>) -> Self {
        let headers = keys.iter().map(|k| basic_header(k)).collect();
        Self { keys, headers }
    }

    pub(crate) fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The accepted key the request authenticates with.
    ///
    /// # Errors
    /// `401 UNAUTHORIZED_KEY` when the header is missing, malformed, or names an unknown key.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<&str, TossError> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Err(TossError::unauthorized("missing Authorization header"));
        };
        let value = value
            .to_str()
            .map_err(|_| TossError::unauthorized("Authorization header is not ASCII"))?;
        // Fast path: the exact header a well-behaved client sends.
        if let Some(i) = self.headers.iter().position(|h| h == value) {
            return Ok(&self.keys[i]);
        }
        let (scheme, encoded) = value
            .split_once(' ')
            .ok_or_else(|| TossError::unauthorized("Authorization must be `Basic <base64>`"))?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(TossError::unauthorized(
                "Authorization scheme must be Basic",
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| TossError::unauthorized("Authorization credentials are not base64"))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| TossError::unauthorized("Authorization credentials are not UTF-8"))?;
        let key = decoded.strip_suffix(':').unwrap_or(&decoded);
        self.keys
            .iter()
            .find(|k| k.as_str() == key)
            .map(String::as_str)
            .ok_or_else(|| TossError::unauthorized("unknown secret key"))
    }
}

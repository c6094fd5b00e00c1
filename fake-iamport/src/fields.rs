//! Request bodies: JSON or form-encoded (the real API accepts both), read field by
//! field so every bad input names the field and what was wrong with it.

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::envelope::ApiError;

/// A parsed request body: a JSON object (form bodies become an object of strings).
#[derive(Debug, Default)]
pub(crate) struct Body(Map<String, Value>);

impl Body {
    /// Parses `bytes` according to the `Content-Type`; an empty body is an empty object.
    pub(crate) fn parse(headers: &HeaderMap, bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let ctype = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ctype.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
                .map_err(|e| ApiError::bad_request(format!("form body is not valid: {e}")))?;
            let map = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            return Ok(Self(map));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request(format!(
                "request body is not valid JSON: {e}"
            ))),
        }
    }

    /// A body of string fields, as a form would send them.
    pub(crate) fn from_pairs<const N: usize>(pairs: [(&str, String); N]) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v)))
                .collect(),
        )
    }

    /// The whole body as a JSON value (used to compare idempotent replays).
    pub(crate) fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    fn raw(&self, key: &str) -> Option<&Value> {
        match self.0.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// An optional string; numbers are accepted and written out, empty means absent.
    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::bad_request(format!("`{key}` must be a string"))),
        }
    }

    /// A required, non-empty string.
    pub(crate) fn str_req(&self, key: &str) -> Result<String, ApiError> {
        self.str_opt(key)?
            .ok_or_else(|| ApiError::bad_request(format!("`{key}` is required")))
    }

    /// The first present of several spellings (the spec has typos the real API accepts).
    pub(crate) fn str_any(&self, keys: &[&str]) -> Result<Option<String>, ApiError> {
        for k in keys {
            if let Some(v) = self.str_opt(k)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// An optional number given as a JSON number or a numeric string.
    pub(crate) fn f64_opt(&self, key: &str) -> Result<Option<f64>, ApiError> {
        let bad = || ApiError::bad_request(format!("`{key}` must be a number"));
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// An optional non-negative whole amount (amounts are whole currency units).
    pub(crate) fn amount_opt(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.f64_opt(key)? {
            None => Ok(None),
            Some(f) => to_amount(key, f).map(Some),
        }
    }

    /// A required amount greater than zero.
    pub(crate) fn positive_amount(&self, key: &str) -> Result<i64, ApiError> {
        match self.amount_opt(key)? {
            None => Err(ApiError::bad_request(format!("`{key}` is required"))),
            Some(0) => Err(ApiError::bad_request(format!(
                "`{key}` must be greater than 0"
            ))),
            Some(a) => Ok(a),
        }
    }

    /// An optional whole number (Unix seconds, quotas).
    pub(crate) fn i64_opt(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.f64_opt(key)? {
            None => Ok(None),
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            Some(_) => Err(ApiError::bad_request(format!(
                "`{key}` must be a whole number"
            ))),
        }
    }

    /// An optional boolean given as JSON or as the strings `true`/`false`.
    pub(crate) fn bool_opt(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!("`{key}` must be a boolean"))),
        }
    }

    /// An optional e-mail address, checked for the `local@domain` shape.
    pub(crate) fn email_opt(&self, key: &str) -> Result<Option<String>, ApiError> {
        let Some(v) = self.str_opt(key)? else {
            return Ok(None);
        };
        let ok = match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !v.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if ok {
            Ok(Some(v))
        } else {
            Err(ApiError::bad_request(format!(
                "`{key}` is not an e-mail address: {v:?}"
            )))
        }
    }

    /// An optional absolute http(s) URL.
    pub(crate) fn url_opt(&self, key: &str) -> Result<Option<String>, ApiError> {
        let Some(v) = self.str_opt(key)? else {
            return Ok(None);
        };
        match reqwest::Url::parse(&v) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(Some(v)),
            _ => Err(ApiError::bad_request(format!(
                "`{key}` must be an absolute http(s) URL, got {v:?}"
            ))),
        }
    }
}

fn to_amount(key: &str, f: f64) -> Result<i64, ApiError> {
    if !f.is_finite() || f < 0.0 {
        return Err(ApiError::bad_request(format!(
            "`{key}` must be a non-negative number"
        )));
    }
    if f.fract() != 0.0 {
        return Err(ApiError::bad_request(format!(
            "`{key}` must be a whole amount (this fake keeps amounts in whole currency units)"
        )));
    }
    if f > 1.0e15 {
        return Err(ApiError::bad_request(format!("`{key}` is too large")));
    }
    Ok(f as i64)
}

/// Keeps only ASCII digits (card, phone and account numbers may carry dashes).
pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: &str) -> Body {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Body::parse(&h, v.as_bytes()).expect("valid body")
    }

    #[test]
    fn amounts_accept_numbers_and_numeric_strings() {
        let b = json(r#"{"a": 1000, "b": "250", "c": 1.5, "d": -3}"#);
        assert_eq!(b.amount_opt("a").ok().flatten(), Some(1000));
        assert_eq!(b.amount_opt("b").ok().flatten(), Some(250));
        assert!(b.amount_opt("c").is_err());
        assert!(b.amount_opt("d").is_err());
        assert_eq!(b.amount_opt("missing").ok().flatten(), None);
    }

    #[test]
    fn form_bodies_become_string_fields() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let b = Body::parse(&h, b"imp_key=k&amount=10").expect("form");
        assert_eq!(b.str_req("imp_key").ok(), Some("k".to_owned()));
        assert_eq!(b.amount_opt("amount").ok().flatten(), Some(10));
    }

    #[test]
    fn invalid_json_is_a_bad_request_naming_the_problem() {
        let h = HeaderMap::new();
        let e = Body::parse(&h, b"{nope").expect_err("invalid");
        assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
        assert!(e.message.contains("not valid JSON"));
    }
}

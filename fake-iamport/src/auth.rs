//! `POST /users/getToken` and the access-token check every other endpoint makes.
//!
//! Like the real API: a token lives 30 minutes; asking again while one is valid returns
//! the same token, and asking within its last minute extends that token by 5 minutes.

use http::HeaderMap;
use serde_json::{Value, json};

use crate::envelope::ApiError;
use crate::fields::Body;
use crate::model::Token;
use crate::state::{State, random_hex};

/// How long a fresh token lives, in seconds.
pub(crate) const TOKEN_TTL: i64 = 30 * 60;
/// Asking again with this many seconds (or fewer) left extends the token.
pub(crate) const RENEW_WINDOW: i64 = 60;
/// How much an extension adds, in seconds.
pub(crate) const EXTENSION: i64 = 5 * 60;

/// `POST /users/getToken`.
pub(crate) fn get_token(st: &mut State, body: &Body, now: i64) -> Result<Value, ApiError> {
    let key = body.str_opt("imp_key")?;
    let secret = body.str_opt("imp_secret")?;
    let (Some(key), Some(secret)) = (key, secret) else {
        return Err(ApiError::bad_request(
            "imp_key, imp_secret 파라미터가 누락되었습니다. (`imp_key` and `imp_secret` are required)",
        ));
    };
    if !st
        .credentials
        .iter()
        .any(|(k, s)| *k == key && *s == secret)
    {
        return Err(ApiError::unauthorized(
            "인증에 실패하였습니다. API키와 secret을 확인하세요. (unknown imp_key/imp_secret pair)",
        ));
    }
    if let Some(token) = st.token_by_key.get(&key).cloned()
        && let Some(info) = st.tokens.get_mut(&token)
        && info.expired_at > now
    {
        if info.expired_at - now <= RENEW_WINDOW {
            info.expired_at += EXTENSION;
        }
        return Ok(json!({ "access_token": token, "now": now, "expired_at": info.expired_at }));
    }
    // A new token replaces the key's expired one, which stays refused.
    if let Some(old) = st.token_by_key.remove(&key) {
        st.tokens.remove(&old);
    }
    let token = random_hex(40);
    let expired_at = now + TOKEN_TTL;
    st.tokens.insert(
        token.clone(),
        Token {
            imp_key: key.clone(),
            expired_at,
        },
    );
    st.token_by_key.insert(key, token.clone());
    Ok(json!({ "access_token": token, "now": now, "expired_at": expired_at }))
}

/// Checks the `Authorization` header (the bare token or `Bearer <token>`).
pub(crate) fn check(st: &State, headers: &HeaderMap, now: i64) -> Result<(), ApiError> {
    let raw = headers
        .get(http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""))
        .map(str::trim);
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Err(ApiError::unauthorized(
            "Unauthorized: Authorization 헤더에 access_token이 없습니다 (missing access token)",
        ));
    };
    let token = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => raw,
    };
    match st.tokens.get(token) {
        None => Err(ApiError::unauthorized(
            "Unauthorized: 유효하지 않은 access_token입니다 (unknown access token)",
        )),
        Some(t) if t.expired_at <= now => Err(ApiError::unauthorized(format!(
            "Unauthorized: 만료된 access_token입니다 (token of {} expired at {})",
            t.imp_key, t.expired_at
        ))),
        Some(_) => Ok(()),
    }
}

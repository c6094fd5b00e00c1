//! [`Caller`]: who is asking, as far as the server can tell. Every holder of an envelope
//! key seals with the same secret, so the only thing that tells callers apart is the
//! connection's source address (IPv6 by its /64, see [`crate::rate_limit::source_key`]).
//! Limits that must not let one caller hurt another (the coupon guess limiter) count
//! per caller, never per a name the request itself carries.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::SocketAddr;

/// The calling connection's source, as a key (`"127.0.0.1"`, `"2001:db8::"`), or
/// `"unknown"` when the request came without one (a router driven in-process).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller(pub String);

impl Caller {
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let key = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| crate::rate_limit::source_key(peer.ip()).to_string());
        Ok(Self(key.unwrap_or_else(|| "unknown".to_owned())))
    }
}

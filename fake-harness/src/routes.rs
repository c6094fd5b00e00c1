//! [`Routes`]: what a fake serves — axum routes, and optionally an [`Api`] function that
//! takes every request outside `/internal/` without going through axum's router;
//! [`segments`] for an [`Api`] that matches on the path.

use std::borrow::Cow;

use axum::Router;
use axum::response::Response;
use bytes::Bytes;

/// A fake's API as one plain function: the vendor state, the request's head and its whole
/// body (read up to [`crate::Vendor::body_limit`]; larger is `413` before it is called).
///
/// For a fake that routes its API itself (a `match` over method and path): it then pays
/// no axum routing, extractors or boxed handler futures per request, which in the
/// fake-lookup bench were the largest share of a lookup after the kernel's.
pub type Api<T> = fn(&T, http::request::Parts, Bytes) -> Response;

/// The routes [`crate::start`] serves: an axum [`Router`] for everything, or for the
/// `/internal/` paths only with an [`Api`] for the rest.
pub struct Routes<T> {
    pub(crate) router: Router,
    pub(crate) api: Option<Api<T>>,
}

impl<T> Routes<T> {
    /// `/internal/...` requests go to `internal` (the harness's knobs and the fake's own),
    /// every other request to `api`.
    pub fn split(internal: Router, api: Api<T>) -> Self {
        Self {
            router: internal,
            api: Some(api),
        }
    }

    /// The function that takes `path`, if it is not the router's.
    pub(crate) fn api_for(&self, path: &str) -> Option<Api<T>> {
        self.api.filter(|_| !path.starts_with("/internal/"))
    }
}

impl<T> From<Router> for Routes<T> {
    /// Every request through `router`.
    fn from(router: Router) -> Self {
        Self { router, api: None }
    }
}

impl<T> Clone for Routes<T> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            api: self.api,
        }
    }
}

/// The segments of `path` between its slashes, each percent-decoded (as axum's `Path`
/// gives them); leading and trailing slashes are ignored. For matching a request in an
/// [`Api`]: `match (method, segments.as_slice()) { ("GET", ["payments", id]) => .. }`.
pub fn segments(path: &str) -> Vec<Cow<'_, str>> {
    path.trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect()
}

/// Decodes `%XX` escapes in a path segment; invalid escapes are kept as written, and
/// bytes that are not UTF-8 become U+FFFD.
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return s.into();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_split_on_slashes_and_percent_decoded() {
        assert_eq!(
            segments("/payments/a%2Fb/cancel"),
            ["payments", "a/b", "cancel"]
        );
        assert_eq!(segments("/payments/"), ["payments"]);
        assert_eq!(segments("/"), [""]);
        assert_eq!(segments("/p/%ED%95%9C"), ["p", "한"]);
        assert_eq!(segments("/orders/order%2F1%20a"), ["orders", "order/1 a"]);
    }

    #[test]
    fn an_invalid_escape_is_kept_as_written() {
        assert_eq!(segments("/p/100%/%zz/%4"), ["p", "100%", "%zz", "%4"]);
    }
}

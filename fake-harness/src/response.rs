//! [`json_response`]: the shape of nearly every answer a fake gives.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// A `status` answer carrying `body`, JSON already serialised, as
/// `content-type: application/json`.
///
/// Built by hand rather than as axum's `(status, [(name, value)], body)`: that one
/// parses and copies the header's name and value into new buffers on every answer, and a
/// fake's lookup is mostly its answer.
pub fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    // Room for content-type and the content-length axum adds, so neither grows the map.
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn a_json_answer_has_its_status_content_type_and_body() {
        let response = json_response(StatusCode::CREATED, r#"{"a":1}"#);
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"a":1}"#);
    }
}

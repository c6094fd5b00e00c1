//! Receiving webhooks: `open_webhook` for both envelopes, and (feature `axum`) the
//! extractor in a real router on 127.0.0.1.

mod common;

use common::*;
use http::{HeaderMap, HeaderValue, StatusCode};
use payments_client::{WebhookError, open_webhook};
use payments_core::envelope::{Binding, EnvelopeError, SEALED_V2_CONTENT_TYPE, TIMESTAMP_HEADER};
use payments_core::records::WebhookHistory;
use serde_json::{Value, json};

const HOOK_PATH: &str = "/hooks/payments";

fn webhook_json() -> Value {
    let mut previous = history_json();
    previous.as_object_mut().unwrap().remove("source");
    let mut current = previous.clone();
    current["cancelled_at"] = json!("2026-11-21T03:04:05.678Z");
    current["refund"] = json!(12000);
    json!({
        "id": "7e0b7c8a-0000-4000-8000-00000000000a",
        "source": {"schema": "shop", "table": "orders", "id": "order-0001"},
        "previous": previous,
        "current": current
    })
}

/// A sealed-v2 webhook as the server delivers it: POST, bound to `path` and `ts`.
fn sealed_webhook(path: &str, ts: i64) -> (HeaderMap, Vec<u8>) {
    let body = sealed_envelope().seal(
        &serde_json::to_vec(&webhook_json()).unwrap(),
        &Binding {
            method: "POST",
            path,
            timestamp_ms: ts,
            idempotency_key: None,
        },
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static(SEALED_V2_CONTENT_TYPE),
    );
    headers.insert(TIMESTAMP_HEADER, ts.to_string().parse().unwrap());
    headers.insert(
        "x-payments-webhook-id",
        HeaderValue::from_static("7e0b7c8a-0000-4000-8000-00000000000a"),
    );
    (headers, body.into_bytes())
}

fn expected() -> WebhookHistory {
    serde_json::from_value(webhook_json()).unwrap()
}

#[test]
fn a_sealed_v2_webhook_opens() {
    let (headers, body) = sealed_webhook(HOOK_PATH, now_ms());
    let hook = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        &body,
        now(),
    )
    .unwrap();
    assert_eq!(hook, expected());
    assert_eq!(hook.current.refund, Some(12000));
    // The method is compared upper-cased, as the tag binds it.
    assert!(
        open_webhook(
            &sealed_envelope(),
            "post",
            HOOK_PATH,
            &headers,
            &body,
            now()
        )
        .is_ok()
    );
}

#[test]
fn a_webhook_for_another_endpoint_or_method_is_not_authentic() {
    let (headers, body) = sealed_webhook("/hooks/other", now_ms());
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        &body,
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(error, WebhookError::NotAuthentic(EnvelopeError::BadTag)),
        "{error:?}"
    );
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error.code(), "BAD_SIGNATURE");
    let (headers, body) = sealed_webhook(HOOK_PATH, now_ms());
    let error =
        open_webhook(&sealed_envelope(), "PUT", HOOK_PATH, &headers, &body, now()).unwrap_err();
    assert!(matches!(error, WebhookError::NotAuthentic(_)), "{error:?}");
}

#[test]
fn a_tampered_or_retimed_webhook_is_not_authentic() {
    let (mut headers, body) = sealed_webhook(HOOK_PATH, now_ms());
    // Re-stamping the timestamp (a replay made to look fresh) breaks the tag.
    headers.insert(
        TIMESTAMP_HEADER,
        (now_ms() + 1).to_string().parse().unwrap(),
    );
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        &body,
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, WebhookError::NotAuthentic(_)), "{error:?}");

    let (headers, body) = sealed_webhook(HOOK_PATH, now_ms());
    let text = String::from_utf8(body).unwrap();
    // Flip one character in the middle of the base64 (inside the ciphertext).
    let mut chars: Vec<char> = text.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        tampered.as_bytes(),
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, WebhookError::NotAuthentic(_)), "{error:?}");
}

#[test]
fn a_stale_webhook_is_refused_and_five_minutes_is_fresh() {
    let ts = now_ms() - 300_001;
    let (headers, body) = sealed_webhook(HOOK_PATH, ts);
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        &body,
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            WebhookError::Stale(EnvelopeError::StaleTimestamp { .. })
        ),
        "{error:?}"
    );
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    let (headers, body) = sealed_webhook(HOOK_PATH, now_ms() - 300_000);
    assert!(
        open_webhook(
            &sealed_envelope(),
            "POST",
            HOOK_PATH,
            &headers,
            &body,
            now()
        )
        .is_ok()
    );
}

#[test]
fn timestamp_and_content_type_are_required() {
    let (mut headers, body) = sealed_webhook(HOOK_PATH, now_ms());
    headers.remove(TIMESTAMP_HEADER);
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        &body,
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, WebhookError::MissingTimestamp), "{error:?}");

    headers.insert(TIMESTAMP_HEADER, HeaderValue::from_static("yesterday"));
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        &body,
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(error, WebhookError::InvalidTimestamp(_)),
        "{error:?}"
    );

    let (mut headers, body) = sealed_webhook(HOOK_PATH, now_ms());
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        &body,
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(error, WebhookError::ContentType { .. }),
        "{error:?}"
    );
    assert_eq!(error.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn a_sealed_body_that_is_not_a_webhook_history_is_a_decode_error() {
    let body = sealed_envelope().seal(
        br#"{"id": "not a uuid"}"#,
        &Binding {
            method: "POST",
            path: HOOK_PATH,
            timestamp_ms: now_ms(),
            idempotency_key: None,
        },
    );
    let (headers, _) = sealed_webhook(HOOK_PATH, now_ms());
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        body.as_bytes(),
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, WebhookError::Decode(_)), "{error:?}");
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn garbage_bodies_are_refused_without_panicking() {
    let (headers, _) = sealed_webhook(HOOK_PATH, now_ms());
    for body in [&b""[..], b"not base64!", b"AAAA", &[0xff, 0xfe, 0x00][..]] {
        let error =
            open_webhook(&sealed_envelope(), "POST", HOOK_PATH, &headers, body, now()).unwrap_err();
        assert_eq!(
            error.status(),
            StatusCode::BAD_REQUEST,
            "{body:?}: {error:?}"
        );
    }
}

#[test]
fn a_compat_webhook_opens_with_its_key() {
    let body = compat_envelope().seal(
        &serde_json::to_vec(&webhook_json()).unwrap(),
        &Binding {
            method: "POST",
            path: HOOK_PATH,
            timestamp_ms: 0,
            idempotency_key: None,
        },
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let hook = open_webhook(
        &compat_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        body.as_bytes(),
        now(),
    )
    .unwrap();
    assert_eq!(hook, expected());
    // The sealed-v2 key refuses it by content type before touching the body.
    let error = open_webhook(
        &sealed_envelope(),
        "POST",
        HOOK_PATH,
        &headers,
        body.as_bytes(),
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, WebhookError::ContentType { .. }));
    // Another compat key cannot read it.
    let other = payments_core::envelope::Envelope::Compat(
        payments_core::envelope::CompatKey::new("nestia-compat-16", COMPAT_IV).unwrap(),
    );
    let error = open_webhook(&other, "POST", HOOK_PATH, &headers, body.as_bytes(), now());
    assert!(error.is_err());
}

#[cfg(feature = "axum")]
mod axum_extractor {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use payments_client::axum::{VerifiedWebhook, WebhookVerifier};
    use payments_core::clock::FixedClock;
    use std::sync::{Arc, Mutex};

    /// Serves `/hooks/payments` nested under `/hooks`, recording what the handler got.
    async fn serve() -> (String, Arc<Mutex<Vec<WebhookHistory>>>) {
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        let verifier =
            WebhookVerifier::new(sealed_envelope()).with_clock(Arc::new(FixedClock::new(now())));
        // The three lines a backend writes (here nested, so OriginalUri matters).
        let hooks = Router::new()
            .route(
                "/payments",
                post(move |VerifiedWebhook(hook): VerifiedWebhook| async move {
                    sink.lock().unwrap().push(hook);
                }),
            )
            .with_state(verifier);
        let app = Router::new().nest("/hooks", hooks);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}"), received)
    }

    async fn deliver(base: &str, headers: HeaderMap, body: Vec<u8>) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{base}{HOOK_PATH}"))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    #[tokio::test]
    async fn the_extractor_hands_the_handler_a_verified_webhook() {
        let (base, received) = serve().await;
        let (headers, body) = sealed_webhook(HOOK_PATH, now_ms());
        let (status, _) = deliver(&base, headers, body).await;
        assert_eq!(status, 200);
        assert_eq!(received.lock().unwrap().as_slice(), &[expected()]);
    }

    #[tokio::test]
    async fn the_extractor_refuses_with_the_servers_error_shape() {
        let (base, received) = serve().await;
        let (headers, body) = sealed_webhook("/payments", now_ms()); // bound to the un-nested path
        let (status, error) = deliver(&base, headers, body).await;
        assert_eq!(status, 401);
        assert_eq!(error["code"], "BAD_SIGNATURE");
        assert_eq!(error["status"], 401);

        let (headers, body) = sealed_webhook(HOOK_PATH, now_ms() - 600_000);
        let (status, error) = deliver(&base, headers, body).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (401, Some("STALE_TIMESTAMP"))
        );

        let (mut headers, body) = sealed_webhook(HOOK_PATH, now_ms());
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let (status, error) = deliver(&base, headers, body).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (415, Some("UNSUPPORTED_MEDIA_TYPE"))
        );
        assert!(received.lock().unwrap().is_empty(), "the handler never ran");
    }

    #[tokio::test]
    async fn the_event_extractor_opens_events() {
        use payments_client::axum::VerifiedEvent;
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        let verifier =
            WebhookVerifier::new(sealed_envelope()).with_clock(Arc::new(FixedClock::new(now())));
        let app = Router::new()
            .route(
                "/hooks/events",
                post(move |VerifiedEvent(event): VerifiedEvent| async move {
                    sink.lock().unwrap().push(event.id);
                }),
            )
            .with_state(verifier);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let event = json!({
            "id": "7e0b7c8a-0000-4000-8000-00000000000b",
            "event": {"type": "approved", "transaction_id": HISTORY_ID, "order_id": "order-0001",
                      "amount": {"amount": 12000, "currency": "KRW"}, "at": "2026-11-21T03:04:05.678Z"},
            "transaction": transaction_record_json(),
            "created_at": "2026-11-21T03:04:05.678Z"
        });
        let body = sealed_envelope().seal(
            &serde_json::to_vec(&event).unwrap(),
            &Binding {
                method: "POST",
                path: "/hooks/events",
                timestamp_ms: now_ms(),
                idempotency_key: None,
            },
        );
        let (headers, _) = sealed_webhook("/hooks/events", now_ms());
        let response = reqwest::Client::new()
            .post(format!("{base}/hooks/events"))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            received
                .lock()
                .unwrap()
                .iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>(),
            ["7e0b7c8a-0000-4000-8000-00000000000b"]
        );
    }
}

#[test]
fn an_event_opens_like_a_webhook() {
    let event = json!({
        "id": "7e0b7c8a-0000-4000-8000-00000000000b",
        "event": {
            "type": "approved",
            "transaction_id": HISTORY_ID,
            "order_id": "order-0001",
            "amount": {"amount": 12000, "currency": "KRW"},
            "at": "2026-11-21T03:04:05.678Z"
        },
        "transaction": transaction_record_json(),
        "created_at": "2026-11-21T03:04:05.678Z"
    });
    let body = sealed_envelope().seal(
        &serde_json::to_vec(&event).unwrap(),
        &Binding {
            method: "POST",
            path: "/hooks/events",
            timestamp_ms: now_ms(),
            idempotency_key: None,
        },
    );
    let (headers, _) = sealed_webhook("/hooks/events", now_ms());
    let opened = payments_client::open_event(
        &sealed_envelope(),
        "POST",
        "/hooks/events",
        &headers,
        body.as_bytes(),
        now(),
    )
    .expect("the event opens");
    assert_eq!(serde_json::to_value(&opened).unwrap(), event);
    // A webhook body is not an event.
    let (headers, webhook) = sealed_webhook("/hooks/events", now_ms());
    let error = payments_client::open_event(
        &sealed_envelope(),
        "POST",
        "/hooks/events",
        &headers,
        &webhook,
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, WebhookError::Decode(_)), "{error:?}");
}

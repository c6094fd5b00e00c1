//! Every method's request on the wire (method, path, content type, envelope) and the
//! decoding of its sealed answer, against wiremock servers.

mod common;

use common::*;
use payments_client::{Connection, Error, IdempotencyKey, PaymentsClient, ResponseError};
use payments_core::clock::FixedClock;
use payments_core::envelope::{CompatKey, EnvelopeError, SEALED_V2_CONTENT_TYPE, TIMESTAMP_HEADER};
use payments_core::records::{PaymentHistory, PaymentReservation};
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn expected_history() -> PaymentHistory {
    serde_json::from_value(history_json()).unwrap()
}

fn expected_reservation() -> PaymentReservation {
    serde_json::from_value(reservation_json()).unwrap()
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "exactly one request");
    requests.remove(0)
}

/// Checks a sealed-v2 request: content type, timestamp from the injected clock, no
/// idempotency key, and a body that opens (tag bound to METHOD and PATH) to `expected`.
fn assert_sealed_v2(request: &Request, expected: &Value) {
    assert_eq!(
        request.headers[TIMESTAMP_HEADER],
        now_ms().to_string().as_str()
    );
    assert_eq!(request.headers["content-type"], SEALED_V2_CONTENT_TYPE);
    assert!(request.headers.get("idempotency-key").is_none());
    let opened = open_request(&sealed_envelope(), request).expect("the request opens");
    assert_eq!(opened.as_ref(), Some(expected));
}

#[tokio::test]
async fn histories_create_posts_a_sealed_create_and_reads_201() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/payments/histories"))
        .and(header("content-type", SEALED_V2_CONTENT_TYPE))
        .respond_with(Sealed::new(sealed_envelope(), 201, history_json()))
        .expect(1)
        .mount(&server)
        .await;
    let history = client(&server, sealed_envelope())
        .histories()
        .create(&history_create())
        .await
        .expect("created");
    assert_eq!(history, expected_history());
    let request = only_request(&server).await;
    assert_sealed_v2(&request, &serde_json::to_value(history_create()).unwrap());
    // The password crosses the wire only inside the envelope.
    assert!(!String::from_utf8_lossy(&request.body).contains("pw-1234"));
}

#[tokio::test]
async fn histories_get_patches_the_accessor() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/payments/histories/get"))
        .respond_with(Sealed::new(sealed_envelope(), 200, history_json()))
        .expect(1)
        .mount(&server)
        .await;
    let history = client(&server, sealed_envelope())
        .histories()
        .get(&accessor())
        .await
        .expect("read");
    assert_eq!(history, expected_history());
    let request = only_request(&server).await;
    assert_sealed_v2(
        &request,
        &json!({"schema": "shop", "table": "orders", "id": "order-0001", "password": "pw-1234"}),
    );
}

#[tokio::test]
async fn histories_at_patches_the_password_to_the_ids_path() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/payments/histories/{HISTORY_ID}")))
        .respond_with(Sealed::new(sealed_envelope(), 200, history_json()))
        .expect(1)
        .mount(&server)
        .await;
    let history = client(&server, sealed_envelope())
        .histories()
        .at(HISTORY_ID.parse().unwrap(), &password())
        .await
        .expect("read");
    assert_eq!(history, expected_history());
    assert_sealed_v2(
        &only_request(&server).await,
        &json!({"password": "pw-1234"}),
    );
}

#[tokio::test]
async fn histories_cancel_puts_the_cancel() {
    let server = MockServer::start().await;
    let mut cancelled = history_json();
    cancelled["refund"] = json!(3000);
    cancelled["cancels"] = json!([{"reason": "고객 요청에 의한 환불", "price": 3000, "created_at": "2026-11-21T03:04:05.678Z"}]);
    Mock::given(method("PUT"))
        .and(path("/payments/histories/cancel"))
        .respond_with(Sealed::new(sealed_envelope(), 200, cancelled))
        .expect(1)
        .mount(&server)
        .await;
    let history = client(&server, sealed_envelope())
        .histories()
        .cancel(&cancel_create())
        .await
        .expect("cancelled");
    assert_eq!(history.refund, Some(3000));
    assert_eq!(history.cancels.len(), 1);
    // A cancel always carries a key (bound into the tag); the rest is as any sealed call.
    let mut request = only_request(&server).await;
    assert!(request.headers.contains_key("idempotency-key"));
    let opened = open_request(&sealed_envelope(), &request).expect("opens under its key");
    request.headers.remove("idempotency-key");
    assert!(
        open_request(&sealed_envelope(), &request).is_err(),
        "the key is bound into the tag"
    );
    assert_eq!(
        opened,
        Some(json!({
            "source": {"schema": "shop", "table": "orders", "id": "order-0001"},
            "password": "pw-1234", "price": 3000, "reason": "고객 요청에 의한 환불", "account": null
        }))
    );
}

#[tokio::test]
async fn reservations_create_get_and_at() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/payments/reservations"))
        .respond_with(Sealed::new(sealed_envelope(), 201, reservation_json()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/payments/reservations/get"))
        .respond_with(Sealed::new(sealed_envelope(), 200, reservation_json()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/payments/reservations/{HISTORY_ID}")))
        .respond_with(Sealed::new(sealed_envelope(), 200, reservation_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, sealed_envelope());
    let reservations = client.reservations();
    assert_eq!(
        reservations.create(&reservation_create()).await.unwrap(),
        expected_reservation()
    );
    assert_eq!(
        reservations.get(&accessor()).await.unwrap(),
        expected_reservation()
    );
    assert_eq!(
        reservations
            .at(HISTORY_ID.parse().unwrap(), &password())
            .await
            .unwrap(),
        expected_reservation()
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert_sealed_v2(
        &requests[0],
        &serde_json::to_value(reservation_create()).unwrap(),
    );
    assert_sealed_v2(&requests[1], &serde_json::to_value(accessor()).unwrap());
    assert_sealed_v2(&requests[2], &json!({"password": "pw-1234"}));
}

#[tokio::test]
async fn monitors_health_is_a_plain_get() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/monitors/health"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    client(&server, sealed_envelope())
        .monitors()
        .health()
        .await
        .expect("healthy");
    let request = only_request(&server).await;
    assert!(request.body.is_empty());
    assert!(request.headers.get("content-type").is_none());
    assert!(
        request.headers.get(TIMESTAMP_HEADER).is_none(),
        "health is plain"
    );
}

#[tokio::test]
async fn monitors_performance_and_system_open_sealed_answers_to_gets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/monitors/performance"))
        .and(header_exists(TIMESTAMP_HEADER))
        .respond_with(Sealed::new(
            sealed_envelope(),
            200,
            json!({"cpu": {"user": 1}, "memory": {"rss": 2}, "resource": {"fds": 3}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/monitors/system"))
        .respond_with(Sealed::new(
            sealed_envelope(),
            200,
            json!({"version": "0.1.0", "commit": "abc123", "started_at": "2026-11-21T03:00:00.000Z", "uptime_ms": 245678}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, sealed_envelope());
    let performance = client.monitors().performance().await.expect("performance");
    assert_eq!(performance.memory, json!({"rss": 2}));
    let system = client.monitors().system().await.expect("system");
    assert_eq!(system.version, "0.1.0");
    assert_eq!(system.commit.as_deref(), Some("abc123"));
    assert_eq!(system.other["uptime_ms"], json!(245678));
    for request in server.received_requests().await.unwrap() {
        assert!(request.body.is_empty(), "GET routes have no body");
        assert!(request.headers.get("content-type").is_none());
    }
}

#[tokio::test]
async fn a_base_path_prefix_is_part_of_the_url_and_the_binding() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/payments/histories/get"))
        .respond_with(Sealed::new(sealed_envelope(), 200, history_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = PaymentsClient::new(
        Connection::new(format!("{}/api/v1/", server.uri()))
            .envelope(sealed_envelope())
            .clock(Arc::new(FixedClock::new(now()))),
    )
    .unwrap();
    // The responder opens the request with the full path and binds its answer to it.
    assert_eq!(
        client.histories().get(&accessor()).await.unwrap(),
        expected_history()
    );
}

#[tokio::test]
async fn keyed_writes_carry_the_idempotency_key_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/payments/histories"))
        .and(header("idempotency-key", "order-0001/pay"))
        .respond_with(Sealed::new(sealed_envelope(), 201, history_json()))
        .expect(1)
        .mount(&server)
        .await;
    let key = IdempotencyKey::new("order-0001/pay").unwrap();
    client(&server, sealed_envelope())
        .histories()
        .create_with_key(&history_create(), &key)
        .await
        .expect("created");
}

#[tokio::test]
async fn extra_headers_are_sent_with_every_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/monitors/health"))
        .and(header("x-gateway-key", "gk_123"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = PaymentsClient::new(
        connection(&server, sealed_envelope()).header("x-gateway-key", "gk_123"),
    )
    .unwrap();
    client.monitors().health().await.expect("healthy");
}

// ---- compat ---------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Vectors {
    compat: Vec<CompatVector>,
}

#[derive(serde::Deserialize)]
struct CompatVector {
    name: String,
    key: String,
    iv: String,
    plaintext: String,
    ciphertext: String,
}

#[tokio::test]
async fn compat_request_bodies_equal_the_node_vectors() {
    let vectors: Vectors = serde_json::from_str(include_str!(
        "../../payments-core/tests/vectors/envelopes.json"
    ))
    .expect("the vectors parse");
    let create_json = serde_json::to_string(&history_create()).unwrap();
    let matching: Vec<&CompatVector> = vectors
        .compat
        .iter()
        .filter(|v| v.plaintext == create_json)
        .collect();
    assert!(
        matching.len() >= 2,
        "the vectors hold this PaymentHistory.Create for AES-128 and AES-256: {create_json}"
    );
    for vector in matching {
        let envelope = payments_core::envelope::Envelope::Compat(
            CompatKey::new(&vector.key, &vector.iv).unwrap(),
        );
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/payments/histories"))
            .and(header("content-type", "text/plain"))
            .respond_with(Sealed::new(envelope.clone(), 201, history_json()))
            .expect(1)
            .mount(&server)
            .await;
        let client =
            PaymentsClient::new(Connection::new(server.uri()).compat(&vector.key, &vector.iv))
                .unwrap();
        let history = client.histories().create(&history_create()).await;
        assert_eq!(history.unwrap(), expected_history(), "{}", vector.name);
        let request = only_request(&server).await;
        assert_eq!(
            std::str::from_utf8(&request.body).unwrap(),
            vector.ciphertext,
            "{}: the body is Node's ciphertext",
            vector.name
        );
        assert!(request.headers.get(TIMESTAMP_HEADER).is_none());
    }
}

#[tokio::test]
async fn compat_speaks_every_sealed_route_with_a_body() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/payments/histories/get"))
        .respond_with(Sealed::new(compat_envelope(), 200, history_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, compat_envelope());
    assert_eq!(
        client.histories().get(&accessor()).await.unwrap(),
        expected_history()
    );
    let requests = server.received_requests().await.unwrap();
    let key = CompatKey::new(COMPAT_KEY, COMPAT_IV).unwrap();
    let expected = key.encrypt(serde_json::to_string(&accessor()).unwrap().as_bytes());
    assert_eq!(std::str::from_utf8(&requests[0].body).unwrap(), expected);
    assert_eq!(requests[0].headers["content-type"], "text/plain");
}

// ---- decoding of sealed answers -------------------------------------------------

async fn read_with(responder: Sealed) -> Result<PaymentHistory, Error> {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/payments/histories/get"))
        .respond_with(responder)
        .mount(&server)
        .await;
    client(&server, sealed_envelope())
        .histories()
        .get(&accessor())
        .await
}

#[tokio::test]
async fn answers_bound_to_another_path_are_refused() {
    let mut responder = Sealed::new(sealed_envelope(), 200, history_json());
    responder.bind_path = Some("/payments/histories/cancel".into());
    let error = read_with(responder).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Response(ResponseError::Open(EnvelopeError::BadTag))
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn answers_sealed_with_another_secret_are_refused() {
    let other = payments_core::envelope::Envelope::SealedV2(
        payments_core::envelope::SealedV2Key::derive("another secret"),
    );
    // The responder checks the request with the other key too: answer without checking.
    let server = MockServer::start().await;
    let body = other.seal(
        b"{}",
        &payments_core::envelope::Binding {
            method: "PATCH",
            path: "/payments/histories/get",
            timestamp_ms: now_ms(),
            idempotency_key: None,
        },
    );
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, SEALED_V2_CONTENT_TYPE)
                .insert_header(TIMESTAMP_HEADER, now_ms().to_string().as_str()),
        )
        .mount(&server)
        .await;
    let error = client(&server, sealed_envelope())
        .histories()
        .get(&accessor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Response(ResponseError::Open(EnvelopeError::BadTag))
        ),
        "{error:?}"
    );
    assert!(!error.is_outcome_unknown());
}

#[tokio::test]
async fn stale_answers_are_refused() {
    let mut responder = Sealed::new(sealed_envelope(), 200, history_json());
    responder.timestamp_ms = Some(now_ms() - 300_001);
    let error = read_with(responder).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Response(ResponseError::Open(EnvelopeError::StaleTimestamp { .. }))
        ),
        "{error:?}"
    );
    let mut responder = Sealed::new(sealed_envelope(), 200, history_json());
    responder.timestamp_ms = Some(now_ms() + 299_000);
    assert!(
        read_with(responder).await.is_ok(),
        "within five minutes is fresh"
    );
}

#[tokio::test]
async fn answers_without_a_timestamp_are_refused() {
    let mut responder = Sealed::new(sealed_envelope(), 200, history_json());
    responder.timestamp_ms = None;
    let error = read_with(responder).await.unwrap_err();
    assert!(
        matches!(error, Error::Response(ResponseError::MissingTimestamp)),
        "{error:?}"
    );
}

#[tokio::test]
async fn answers_that_are_not_the_record_are_decode_errors() {
    let error = read_with(Sealed::new(sealed_envelope(), 200, json!({"id": 1})))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Response(ResponseError::Decode(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn garbage_success_bodies_are_response_errors() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/payments/histories/get"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html>hello</html>", SEALED_V2_CONTENT_TYPE)
                .insert_header(TIMESTAMP_HEADER, now_ms().to_string().as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/payments/histories/{HISTORY_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(history_json()))
        .mount(&server)
        .await;
    let client = client(&server, sealed_envelope());
    let error = client.histories().get(&accessor()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Response(ResponseError::Open(EnvelopeError::NotBase64))
        ),
        "{error:?}"
    );
    // Plain JSON on a sealed route is refused by content type, never trusted.
    let error = client
        .histories()
        .at(HISTORY_ID.parse().unwrap(), &password())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Response(ResponseError::ContentType { .. })),
        "{error:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "never retried"
    );
}

#[tokio::test]
async fn webhooks_redeliver_posts_the_password_and_is_retried_as_safe() {
    let server = MockServer::start().await;
    let webhook_id = "7e0b7c8a-0000-4000-8000-00000000000a";
    Mock::given(method("POST"))
        .and(path(format!("/payments/webhooks/{webhook_id}/redeliver")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/payments/webhooks/{webhook_id}/redeliver")))
        .respond_with(Sealed::new(
            sealed_envelope(),
            202,
            json!({"webhook_id": webhook_id, "state": "pending"}),
        ))
        .mount(&server)
        .await;
    let redelivery = client(&server, sealed_envelope())
        .webhooks()
        .redeliver(webhook_id.parse().unwrap(), &password())
        .await
        .expect("queued");
    assert_eq!(redelivery.webhook_id.to_string(), webhook_id);
    assert_eq!(redelivery.state, "pending");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_sealed_v2(&requests[1], &json!({"password": "pw-1234"}));
}

// ---- routes this project adds (docs/protocol.md) --------------------------------

#[tokio::test]
async fn charges_create_posts_with_its_required_key_and_is_retried_with_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/payments/charges"))
        .respond_with(ResponseTemplate::new(504))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/payments/charges"))
        .respond_with(Sealed::new(
            sealed_envelope(),
            201,
            json!({"transaction": transaction_record_json(), "history": history_json()}),
        ))
        .mount(&server)
        .await;
    let key = IdempotencyKey::new("kiosk-7/basket-42").unwrap();
    let charge = client(&server, sealed_envelope())
        .charges()
        .create(&charge_create(), &key)
        .await
        .expect("charged");
    assert_eq!(charge.history, expected_history());
    assert_eq!(charge.transaction.status_message, "승인 대기");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.headers["idempotency-key"], "kiosk-7/basket-42");
        let opened = open_request(&sealed_envelope(), request).unwrap().unwrap();
        assert_eq!(opened, serde_json::to_value(charge_create()).unwrap());
        assert_eq!(opened["method"]["type"], "saved_card");
    }
}

#[tokio::test]
async fn transactions_at_patches_the_access_to_the_ids_path() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/payments/transactions/{HISTORY_ID}")))
        .respond_with(Sealed::new(
            sealed_envelope(),
            200,
            transaction_record_json(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let record = client(&server, sealed_envelope())
        .transactions()
        .at(
            HISTORY_ID.parse().unwrap(),
            &payments_core::records::charges::TransactionAccess {
                password: "pw-1234".into(),
            },
        )
        .await
        .expect("read");
    assert_eq!(
        serde_json::to_value(&record).unwrap(),
        transaction_record_json()
    );
    assert_sealed_v2(
        &only_request(&server).await,
        &json!({"password": "pw-1234"}),
    );
}

#[tokio::test]
async fn certifications_verify_posts_the_vendor() {
    let server = MockServer::start().await;
    let identity = json!({
        "name": "홍길동", "birth_date": "1990-01-02", "phone": "01012345678",
        "ci_hash": "ab".repeat(32), "certified_at": "2026-11-21T03:00:00.000Z"
    });
    Mock::given(method("POST"))
        .and(path("/payments/certifications"))
        .respond_with(Sealed::new(sealed_envelope(), 200, identity))
        .expect(1)
        .mount(&server)
        .await;
    let input = payments_core::records::charges::CertificationVerify { vendor: vendor() };
    let person = client(&server, sealed_envelope())
        .certifications()
        .verify(&input)
        .await
        .expect("verified");
    assert_eq!(
        (person.name.as_str(), person.birth_date.as_str()),
        ("홍길동", "1990-01-02")
    );
    assert_sealed_v2(
        &only_request(&server).await,
        &json!({"vendor": {"code": "iamport", "store_id": "imp12345678", "uid": "imp_1234567890"}}),
    );
}

#[tokio::test]
async fn events_redeliver_posts_an_empty_object() {
    let server = MockServer::start().await;
    let event_id = "7e0b7c8a-0000-4000-8000-00000000000b";
    Mock::given(method("POST"))
        .and(path(format!("/payments/events/{event_id}/redeliver")))
        .respond_with(Sealed::new(
            sealed_envelope(),
            202,
            json!({"webhook_id": event_id, "state": "pending"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let redelivery = client(&server, sealed_envelope())
        .events()
        .redeliver(event_id.parse().unwrap())
        .await
        .expect("queued");
    assert_eq!(redelivery.webhook_id.to_string(), event_id);
    assert_sealed_v2(&only_request(&server).await, &json!({}));
}

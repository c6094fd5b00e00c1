//! Error mapping, retry rules and timeouts against wiremock servers (and two raw TCP
//! listeners for failures wiremock cannot produce).

mod common;

use common::*;
use payments_client::ErrorCode;
use payments_client::{
    Connection, Error, IdempotencyKey, PaymentsClient, RetryPolicy, UnknownCause,
};
use payments_core::envelope::TIMESTAMP_HEADER;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Calls every method of the SDK once against `server`, returning each error.
async fn every_method(client: &PaymentsClient) -> Vec<(&'static str, Error)> {
    let id = HISTORY_ID.parse().unwrap();
    let h = client.histories();
    let r = client.reservations();
    let m = client.monitors();
    vec![
        (
            "histories.create",
            h.create(&history_create()).await.unwrap_err(),
        ),
        ("histories.get", h.get(&accessor()).await.unwrap_err()),
        ("histories.at", h.at(id, &password()).await.unwrap_err()),
        (
            "histories.cancel",
            h.cancel(&cancel_create()).await.unwrap_err(),
        ),
        (
            "reservations.create",
            r.create(&reservation_create()).await.unwrap_err(),
        ),
        ("reservations.get", r.get(&accessor()).await.unwrap_err()),
        ("reservations.at", r.at(id, &password()).await.unwrap_err()),
        ("monitors.health", m.health().await.unwrap_err()),
        ("monitors.performance", m.performance().await.unwrap_err()),
        ("monitors.system", m.system().await.unwrap_err()),
        (
            "charges.create",
            client
                .charges()
                .create(&charge_create(), &IdempotencyKey::random())
                .await
                .unwrap_err(),
        ),
        (
            "transactions.at",
            client
                .transactions()
                .at(
                    id,
                    &payments_core::records::charges::TransactionAccess {
                        password: "pw".into(),
                    },
                )
                .await
                .unwrap_err(),
        ),
        (
            "certifications.verify",
            client
                .certifications()
                .verify(&payments_core::records::charges::CertificationVerify { vendor: vendor() })
                .await
                .unwrap_err(),
        ),
        (
            "events.redeliver",
            client.events().redeliver(id).await.unwrap_err(),
        ),
        (
            "webhooks.redeliver",
            client
                .webhooks()
                .redeliver(id, &password())
                .await
                .unwrap_err(),
        ),
    ]
}

#[tokio::test]
async fn every_method_maps_the_servers_error_bodies() {
    type Check = fn(&Error) -> bool;
    let cases: [(u16, &str, Check); 9] = [
        (400, "INVALID_PRICE", |e| {
            !e.is_conflict() && !e.is_not_found()
        }),
        (401, ErrorCode::BadSignature.as_str(), |e| {
            !e.is_wrong_password()
        }),
        (402, ErrorCode::PaymentDeclined.as_str(), Error::is_declined),
        (
            403,
            ErrorCode::WrongPassword.as_str(),
            Error::is_wrong_password,
        ),
        (404, ErrorCode::NotFound.as_str(), Error::is_not_found),
        (409, ErrorCode::Duplicate.as_str(), |e| {
            e.is_conflict() && e.is_duplicate() && !e.is_outcome_unknown()
        }),
        (422, ErrorCode::AmountMismatch.as_str(), |e| {
            e.is_mismatch() && !e.is_conflict()
        }),
        (500, ErrorCode::Internal.as_str(), |e| {
            !e.is_outcome_unknown()
        }),
        (502, ErrorCode::VendorError.as_str(), |e| !e.is_declined()),
    ];
    for (status, code, check) in cases {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(error_answer(status, code, "what was wrong"))
            .mount(&server)
            .await;
        let client =
            PaymentsClient::new(connection(&server, sealed_envelope()).retry(RetryPolicy::none()))
                .unwrap();
        for (name, error) in every_method(&client).await {
            assert_eq!(
                error.status().map(|s| s.as_u16()),
                Some(status),
                "{name} {status}"
            );
            assert_eq!(error.code_str(), Some(code), "{name} {status}");
            assert_eq!(error.message(), Some("what was wrong"), "{name} {status}");
            assert!(check(&error), "{name} {status}: {error:?}");
        }
    }
}

#[tokio::test]
async fn garbage_error_bodies_keep_the_status_and_no_code() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(404).set_body_string("<html>nginx: not found</html>"))
        .mount(&server)
        .await;
    let client =
        PaymentsClient::new(connection(&server, sealed_envelope()).retry(RetryPolicy::none()))
            .unwrap();
    for (name, error) in every_method(&client).await {
        assert_eq!(error.status().map(|s| s.as_u16()), Some(404), "{name}");
        assert_eq!(error.code_str(), None, "{name}");
        assert_eq!(
            error.message(),
            Some("<html>nginx: not found</html>"),
            "{name}"
        );
        assert!(
            !error.is_not_found(),
            "{name}: a proxy's 404 is not a missing record"
        );
    }
}

#[tokio::test]
async fn a_gateway_timeout_is_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(504).set_body_string("upstream timed out"))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server, sealed_envelope())
        .histories()
        .create(&history_create())
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(504));
    assert!(error.is_outcome_unknown());
}

// ---- retry rules ----------------------------------------------------------------

async fn server_failing_then_answering(
    failures: u64,
    failure: ResponseTemplate,
    route: (&str, &str),
    status: u16,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(route.0))
        .and(path(route.1))
        .respond_with(failure)
        .up_to_n_times(failures)
        .mount(&server)
        .await;
    let body = if route.1.contains("reservations") {
        reservation_json()
    } else {
        history_json()
    };
    Mock::given(method(route.0))
        .and(path(route.1))
        .respond_with(Sealed::new(sealed_envelope(), status, body))
        .mount(&server)
        .await;
    server
}

async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn reads_are_retried_on_502_503_504() {
    for status in [502, 503, 504] {
        let server = server_failing_then_answering(
            2,
            error_answer(status, "VENDOR_ERROR", "try again"),
            ("PATCH", "/payments/histories/get"),
            200,
        )
        .await;
        let history = client(&server, sealed_envelope())
            .histories()
            .get(&accessor())
            .await;
        assert!(history.is_ok(), "{status}: {history:?}");
        assert_eq!(request_count(&server).await, 3, "{status}");
    }
}

#[tokio::test]
async fn reads_give_up_after_the_policys_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let error = client(&server, sealed_envelope())
        .monitors()
        .performance()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(request_count(&server).await, 3);
}

#[tokio::test]
async fn the_off_switch_turns_retries_off() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client =
        PaymentsClient::new(connection(&server, sealed_envelope()).retry(RetryPolicy::none()))
            .unwrap();
    assert!(client.monitors().health().await.is_err());
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn reads_are_not_retried_on_definite_errors() {
    for (status, code) in [
        (500, ErrorCode::Internal.as_str()),
        (404, ErrorCode::NotFound.as_str()),
        (403, ErrorCode::WrongPassword.as_str()),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .respond_with(error_answer(status, code, "no"))
            .mount(&server)
            .await;
        let error = client(&server, sealed_envelope())
            .reservations()
            .at(HISTORY_ID.parse().unwrap(), &password())
            .await
            .unwrap_err();
        assert_eq!(error.code_str(), Some(code));
        assert_eq!(request_count(&server).await, 1, "{status}");
    }
}

#[tokio::test]
async fn unkeyed_writes_are_never_retried() {
    let routes = [
        ("POST", "/payments/histories"),
        ("POST", "/payments/reservations"),
        // Accepted once by the server: a blind retry would be refused as a second use.
        ("POST", "/payments/certifications"),
    ];
    for route in routes {
        let server = server_failing_then_answering(1, ResponseTemplate::new(503), route, 201).await;
        let client = client(&server, sealed_envelope());
        let error = match route.1 {
            "/payments/histories" => client.histories().create(&history_create()).await.map(drop),
            "/payments/certifications" => client
                .certifications()
                .verify(&payments_core::records::charges::CertificationVerify { vendor: vendor() })
                .await
                .map(drop),
            _ => client
                .reservations()
                .create(&reservation_create())
                .await
                .map(drop),
        }
        .unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{route:?}");
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1, "{route:?}");
        assert!(requests[0].headers.get("idempotency-key").is_none());
    }
}

/// A plain `cancel` moves money like a keyed one: the server requires a key over
/// sealed-v2, so the SDK sends a random one and retries under it.
#[tokio::test]
async fn a_plain_cancel_carries_a_random_key_and_is_retried_under_it() {
    let route = ("PUT", "/payments/histories/cancel");
    let server = server_failing_then_answering(1, ResponseTemplate::new(503), route, 201).await;
    let client = client(&server, sealed_envelope());
    let result = client.histories().cancel(&cancel_create()).await;
    assert!(result.is_ok(), "{result:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let key = requests[0].headers["idempotency-key"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!key.is_empty());
    assert_one_key_fresh_seals(&requests, &key);
}

fn assert_one_key_fresh_seals(requests: &[Request], key: &str) {
    for request in requests {
        assert_eq!(request.headers["idempotency-key"], key);
        assert_eq!(
            request.headers[TIMESTAMP_HEADER],
            now_ms().to_string().as_str()
        );
    }
    // Each attempt is sealed afresh (new IV), yet opens to the same input.
    let opened: Vec<_> = requests
        .iter()
        .map(|r| open_request(&sealed_envelope(), r).unwrap())
        .collect();
    assert!(opened.windows(2).all(|w| w[0] == w[1]));
    assert!(requests.windows(2).all(|w| w[0].body != w[1].body));
}

#[tokio::test]
async fn keyed_writes_are_retried_with_one_key() {
    let key = IdempotencyKey::new("order-0001/pay").unwrap();
    let routes = [
        ("POST", "/payments/histories"),
        ("PUT", "/payments/histories/cancel"),
        ("POST", "/payments/reservations"),
    ];
    for route in routes {
        let server = server_failing_then_answering(
            2,
            error_answer(502, ErrorCode::VendorError.as_str(), "PG unreachable"),
            route,
            201,
        )
        .await;
        let client = client(&server, sealed_envelope());
        let result = match route.1 {
            "/payments/histories" => client
                .histories()
                .create_with_key(&history_create(), &key)
                .await
                .map(drop),
            "/payments/histories/cancel" => client
                .histories()
                .cancel_with_key(&cancel_create(), &key)
                .await
                .map(drop),
            _ => client
                .reservations()
                .create_with_key(&reservation_create(), &key)
                .await
                .map(drop),
        };
        assert!(result.is_ok(), "{route:?}: {result:?}");
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3, "{route:?}");
        assert_one_key_fresh_seals(&requests, "order-0001/pay");
    }
}

#[tokio::test]
async fn keyed_writes_wait_out_an_in_flight_duplicate() {
    let key = IdempotencyKey::random();
    let server = server_failing_then_answering(
        1,
        error_answer(
            409,
            ErrorCode::IdempotencyInFlight.as_str(),
            "still running",
        ),
        ("POST", "/payments/histories"),
        201,
    )
    .await;
    let history = client(&server, sealed_envelope())
        .histories()
        .create_with_key(&history_create(), &key)
        .await;
    assert!(history.is_ok(), "{history:?}");
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn keyed_writes_are_not_retried_on_definite_errors() {
    let key = IdempotencyKey::random();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error_answer(
            409,
            ErrorCode::Duplicate.as_str(),
            "already recorded",
        ))
        .mount(&server)
        .await;
    let error = client(&server, sealed_envelope())
        .histories()
        .create_with_key(&history_create(), &key)
        .await
        .unwrap_err();
    assert!(error.is_duplicate());
    assert_eq!(request_count(&server).await, 1);
}

// ---- timeouts: the outcome is unknown -------------------------------------------

fn impatient(server: &MockServer, policy: RetryPolicy) -> PaymentsClient {
    PaymentsClient::new(
        connection(server, sealed_envelope())
            .timeout(Duration::from_millis(200))
            .retry(policy),
    )
    .unwrap()
}

/// An answer that comes long after the client's timeout.
fn too_late() -> ResponseTemplate {
    ResponseTemplate::new(201).set_delay(Duration::from_secs(30))
}

#[tokio::test]
async fn a_timed_out_create_is_an_unknown_outcome_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(too_late())
        .mount(&server)
        .await;
    let error = impatient(&server, fast_retry(3))
        .histories()
        .create(&history_create())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::OutcomeUnknown {
                cause: UnknownCause::TimedOut,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_outcome_unknown());
    assert!(!error.is_not_sent());
    assert_eq!(error.status(), None);
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_timed_out_keyed_cancel_is_retried_then_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(too_late())
        .mount(&server)
        .await;
    let key = IdempotencyKey::new("refund-7").unwrap();
    let error = impatient(&server, fast_retry(2))
        .histories()
        .cancel_with_key(&cancel_create(), &key)
        .await
        .unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_one_key_fresh_seals(&requests, "refund-7");
}

#[tokio::test]
async fn a_timed_out_read_is_retried_and_can_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(too_late())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(Sealed::new(sealed_envelope(), 200, history_json()))
        .mount(&server)
        .await;
    let history = impatient(&server, fast_retry(3))
        .histories()
        .get(&accessor())
        .await;
    assert!(history.is_ok(), "{history:?}");
    assert_eq!(request_count(&server).await, 2);
}

// ---- transport failures ---------------------------------------------------------

/// A server that reads each request's head and hangs up without answering, counting
/// connections: the request was sent, the outcome is unknown.
async fn hang_up_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                drop(socket);
            });
        }
    });
    (format!("http://{address}"), count)
}

fn client_at(base: &str, policy: RetryPolicy) -> PaymentsClient {
    PaymentsClient::new(
        Connection::new(base)
            .envelope(sealed_envelope())
            .retry(policy),
    )
    .unwrap()
}

#[tokio::test]
async fn a_lost_connection_is_unknown_and_retried_only_when_allowed() {
    let (base, connections) = hang_up_server().await;
    let client = client_at(&base, fast_retry(3));

    let error = client
        .histories()
        .create(&history_create())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::OutcomeUnknown {
                cause: UnknownCause::ConnectionLost,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "an unkeyed create is sent once"
    );

    let error = client.histories().get(&accessor()).await.unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        4,
        "a read is tried three times"
    );

    let key = IdempotencyKey::random();
    let error = client
        .histories()
        .create_with_key(&history_create(), &key)
        .await
        .unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        7,
        "a keyed create is tried three times"
    );
}

#[tokio::test]
async fn a_refused_connection_was_never_sent() {
    // Bind a port, then free it: connecting to it is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = client_at(&base, fast_retry(2));
    let error = client
        .histories()
        .create(&history_create())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert!(error.is_not_sent());
    assert!(!error.is_outcome_unknown());
    let error = client.monitors().health().await.unwrap_err();
    assert!(error.is_not_sent(), "{error:?}");
}

#[tokio::test]
async fn bad_configuration_is_reported_before_any_request() {
    use payments_client::ConfigError;
    assert!(matches!(
        PaymentsClient::new(Connection::new("ftp://host").envelope(sealed_envelope())),
        Err(ConfigError::BaseUrl { .. })
    ));
    assert!(matches!(
        PaymentsClient::new(Connection::new("http://127.0.0.1:1")),
        Err(ConfigError::NoEnvelope)
    ));
    assert!(matches!(
        PaymentsClient::new(
            Connection::new("http://127.0.0.1:1").compat("16-byte-key-....", "short iv")
        ),
        Err(ConfigError::Compat(_))
    ));
    let bad_header = PaymentsClient::new(
        Connection::new("http://127.0.0.1:1")
            .envelope(sealed_envelope())
            .header("x-key", "line\nbreak-secret"),
    )
    .unwrap_err();
    assert!(matches!(bad_header, ConfigError::Header { .. }));
    assert!(!bad_header.to_string().contains("break-secret"));
    let reserved = PaymentsClient::new(
        Connection::new("http://127.0.0.1:1")
            .envelope(sealed_envelope())
            .header("Idempotency-Key", "one-for-all"),
    );
    assert!(matches!(reserved, Err(ConfigError::Header { .. })));
}

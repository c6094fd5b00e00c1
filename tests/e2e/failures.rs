use crate::common::*;
use payments::client::IdempotencyKey;
use payments::core::records::{Password, VendorCode};

#[tokio::test]
async fn amount_mismatch_is_422_and_the_pg_payment_is_cancelled() {
    let app = spawn_app().await;
    let key = app.toss_card("mismatch-1", 10_000, true).await;
    let error = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "mismatch-1", 100))
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(422));
    assert_eq!(error.code_str(), Some("AMOUNT_MISMATCH"));
    assert_eq!(app.toss.payment(&key).unwrap()["status"], "CANCELED");
    // Nothing was recorded.
    let missing = app
        .client
        .histories()
        .get(&accessor("mismatch-1"))
        .await
        .unwrap_err();
    assert!(missing.is_not_found());

    let uid = app.iamport_card("mismatch-2", 10_000).await;
    let error = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "mismatch-2", 9_000))
        .await
        .unwrap_err();
    assert_eq!(error.code_str(), Some("AMOUNT_MISMATCH"));
    assert_eq!(app.iamport.payment(&uid).unwrap()["status"], "cancelled");
}

#[tokio::test]
async fn widget_confirmation_with_a_wrong_amount_moves_no_money() {
    let app = spawn_app().await;
    let key = app.toss_card("widget-mismatch", 10_000, false).await;
    let error = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "widget-mismatch", 1_000))
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(422));
    assert_ne!(app.toss.payment(&key).unwrap()["status"], "DONE");
}

#[tokio::test]
async fn another_orders_payment_is_refused_without_cancelling_it() {
    let app = spawn_app().await;
    let key = app.toss_card("victim-order", 10_000, true).await;
    let error = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::TossPayments, &key, "attacker-order", 10_000))
        .await
        .unwrap_err();
    assert_eq!(error.code_str(), Some("ORDER_MISMATCH"));
    assert_eq!(app.toss.payment(&key).unwrap()["status"], "DONE");
}

#[tokio::test]
async fn duplicates_wrong_passwords_and_unknown_records() {
    let app = spawn_app().await;
    let key = app.toss_card("dup-order-1", 5_000, true).await;
    let input = app.history_input(VendorCode::TossPayments, &key, "dup-order-1", 5_000);
    let created = app.client.histories().create(&input).await.unwrap();
    let again = app.client.histories().create(&input).await.unwrap_err();
    assert_eq!(again.status().map(|s| s.as_u16()), Some(409));
    assert!(again.is_conflict());
    // The same PG payment under another source is a duplicate too.
    let other_source = app.history_input(VendorCode::TossPayments, &key, "dup-order-2", 5_000);
    assert_eq!(
        app.client
            .histories()
            .create(&other_source)
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(409)
    );

    let wrong = app
        .client
        .histories()
        .at(
            created.id,
            &Password {
                password: "nope".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.status().map(|s| s.as_u16()), Some(403));
    assert!(wrong.is_wrong_password());
    let unknown = app
        .client
        .histories()
        .at(
            uuid::Uuid::new_v4(),
            &Password {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.status().map(|s| s.as_u16()), Some(404));
    let unknown_source = app
        .client
        .histories()
        .get(&accessor("never"))
        .await
        .unwrap_err();
    assert!(unknown_source.is_not_found());
}

#[tokio::test]
async fn bad_bodies_get_clear_errors() {
    let app = spawn_app().await;
    let url = format!("{}/payments/histories", app.server.uri());
    let now = chrono::Utc::now().timestamp_millis().to_string();

    let garbage = app
        .http
        .post(&url)
        .header("content-type", "application/vnd.payments.sealed-v2")
        .header("x-payments-timestamp", &now)
        .body("this is not ciphertext")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let body: serde_json::Value = garbage.json().await.unwrap();
    assert_eq!(body["code"], "UNDECRYPTABLE");
    assert_eq!(body["status"], 400);

    let compat_garbage = app
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body("AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(compat_garbage.status(), 400);

    let wrong_type = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);

    let stale = app
        .http
        .post(&url)
        .header("content-type", "application/vnd.payments.sealed-v2")
        .header("x-payments-timestamp", "1000")
        .body("AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);

    let huge = app
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body(vec![b'A'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);

    // A well-sealed body of the wrong shape names the field (sealed-v2: authenticated, so
    // the detail is no oracle; compat answers every failure alike, tested below).
    let sealed = payments::core::envelope::SealedV2Key::derive(SECRET);
    let timestamp_ms = chrono::Utc::now().timestamp_millis();
    let wrong_shape = app
        .http
        .post(&url)
        .header("content-type", "application/vnd.payments.sealed-v2")
        .header("x-payments-timestamp", timestamp_ms.to_string())
        .body(sealed.seal(
            br#"{"vendor": {"code": "stripe", "store_id": "x", "uid": "y"}}"#,
            &payments::core::envelope::Binding {
                method: "POST",
                path: "/payments/histories",
                timestamp_ms,
                idempotency_key: None,
            },
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_shape.status(), 400);
    let body: serde_json::Value = wrong_shape.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("vendor.code"),
        "{body}"
    );

    // Unknown store.
    let key = app.toss_card("unknown-store", 1_000, true).await;
    let mut input = app.history_input(VendorCode::TossPayments, &key, "unknown-store", 1_000);
    input.vendor.store_id = "elsewhere".into();
    let error = app.client.histories().create(&input).await.unwrap_err();
    assert_eq!(error.code_str(), Some("UNKNOWN_STORE"));

    // The server is still healthy after all that.
    app.client.monitors().health().await.unwrap();
}

#[tokio::test]
async fn idempotency_key_replays_and_refuses_a_different_body() {
    let app = spawn_app().await;
    let key = app.toss_card("idem-1", 8_000, true).await;
    let input = app.history_input(VendorCode::TossPayments, &key, "idem-1", 8_000);
    let idempotency = IdempotencyKey::new("order-idem-1").unwrap();
    let first = app
        .client
        .histories()
        .create_with_key(&input, &idempotency)
        .await
        .unwrap();
    let replay = app
        .client
        .histories()
        .create_with_key(&input, &idempotency)
        .await
        .unwrap();
    assert_eq!(first, replay);
    let mut different = input.clone();
    different.price = 7_000;
    let mismatch = app
        .client
        .histories()
        .create_with_key(&different, &idempotency)
        .await
        .unwrap_err();
    assert_eq!(mismatch.status().map(|s| s.as_u16()), Some(422));
    assert_eq!(mismatch.code_str(), Some("IDEMPOTENCY_MISMATCH"));
}

#[tokio::test]
async fn monitors_answer_sealed() {
    let app = spawn_app().await;
    let system = app.client.monitors().system().await.unwrap();
    assert_eq!(system.version, env!("CARGO_PKG_VERSION"));
    let performance = app.client.monitors().performance().await.unwrap();
    assert!(performance.resource["outbox_depth"].is_number());
}

#[tokio::test]
async fn webhook_receiver_down_then_up_gets_it_later_once() {
    let app = spawn_app().await;
    app.receiver.set_up(false);
    let uid = app.iamport_vbank("down-1", 10_000).await;
    app.client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "down-1", 10_000))
        .await
        .unwrap();
    app.iamport.deposit(&uid).await.unwrap();
    for _ in 0..300 {
        if app.receiver.refused() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        app.receiver.refused() >= 2,
        "the server retried while the receiver was down"
    );
    app.receiver.set_up(true);
    let received = app.receiver.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(app.receiver.received().len(), 1, "delivered once");
    let webhook_id: uuid::Uuid = received[0].0.parse().unwrap();
    assert_eq!(received[0].1.id, webhook_id);
    let attempts = app
        .server
        .store()
        .delivery_attempts(webhook_id)
        .await
        .unwrap();
    assert!(attempts.len() >= 3);
    assert_eq!(attempts.last().unwrap().status, Some(200));
    assert_eq!(attempts[0].status, Some(503));
}

#[tokio::test]
async fn a_webhook_can_be_redelivered() {
    let app = spawn_app().await;
    let uid = app.iamport_vbank("redeliver-1", 10_000).await;
    let history = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "redeliver-1", 10_000))
        .await
        .unwrap();
    app.iamport.deposit(&uid).await.unwrap();
    let received = app.receiver.wait_for(1).await;
    let webhook_id = received[0].1.id;
    // Redelivery is a sealed route authorised by the history's password.
    let sealed = payments::core::envelope::CompatKey::new(COMPAT_KEY, COMPAT_IV).unwrap();
    let redeliver = |password: &str| {
        app.http
            .post(format!(
                "{}/payments/webhooks/{webhook_id}/redeliver",
                app.server.uri()
            ))
            .header("content-type", "text/plain")
            .body(
                sealed.encrypt(
                    serde_json::json!({"password": password})
                        .to_string()
                        .as_bytes(),
                ),
            )
            .send()
    };
    assert_eq!(redeliver("wrong").await.unwrap().status(), 403);
    assert_eq!(redeliver(PASSWORD).await.unwrap().status(), 202);
    let received = app.receiver.wait_for(2).await;
    assert_eq!(
        received[1].1.id, webhook_id,
        "the same webhook id, for de-duplication"
    );
    assert_eq!(received[1].1.current.id, history.id);
}

#[tokio::test]
async fn a_delivery_that_gave_up_is_listed_with_its_cause_and_can_be_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("p.sqlite").to_string_lossy().into_owned();
    let toss = fake_toss::FakeToss::start().await;
    let iamport = fake_iamport::FakeIamport::start().await;
    let server = server_builder(&toss, &iamport, &database)
        .webhook_max_attempts(2)
        .start()
        .await
        .unwrap();
    iamport.set_webhook_url(format!("{}/payments/webhooks/iamport", server.uri()));
    let client = client_for(&server, Wire::SealedV2);
    let receiver = Receiver::start(envelope(Wire::SealedV2)).await;
    receiver.set_up(false);
    let app = TestApp {
        toss,
        iamport,
        server,
        client,
        receiver,
        events: EventSink::start().await,
        http: reqwest::Client::new(),
        database,
        _dir: Some(dir),
    };
    let uid = app.iamport_vbank("gave-up-1", 10_000).await;
    let history = app
        .client
        .histories()
        .create(&app.history_input(VendorCode::Iamport, &uid, "gave-up-1", 10_000))
        .await
        .unwrap();
    app.iamport.deposit(&uid).await.unwrap();

    use payments::core::records::deliveries::{DeliveryKind, FailedDeliveriesQuery};
    let mut listed = Vec::new();
    for _ in 0..500 {
        listed = app
            .client
            .webhooks()
            .failed(&FailedDeliveriesQuery::default())
            .await
            .unwrap()
            .deliveries;
        if !listed.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(listed.len(), 1, "the given-up webhook is listed");
    let failed = &listed[0];
    assert_eq!(failed.kind, DeliveryKind::Webhook);
    assert_eq!(failed.history_id, Some(history.id));
    assert_eq!(failed.url, app.receiver.url);
    assert_eq!(failed.attempts, 2);
    assert_eq!(failed.last_status, Some(503));
    assert!(failed.last_attempt_at.is_some());

    // A limit out of range names the field.
    let error = app
        .client
        .webhooks()
        .failed(&FailedDeliveriesQuery {
            before: None,
            limit: Some(0),
        })
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert!(error.to_string().contains("limit"), "{error}");

    // The operator re-delivers it by the listed id; it arrives and leaves the list.
    app.receiver.set_up(true);
    app.client
        .webhooks()
        .redeliver(
            failed.id,
            &Password {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    let received = app.receiver.wait_for(1).await;
    assert_eq!(received[0].1.id, failed.id);
    let after = app
        .client
        .webhooks()
        .failed(&FailedDeliveriesQuery::default())
        .await
        .unwrap();
    assert!(after.deliveries.is_empty() && after.next.is_none());
}

#[tokio::test]
async fn a_refused_pg_secret_names_the_store_and_the_setting_to_fix() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("p.sqlite").to_string_lossy().into_owned();
    let server = server_builder(&app.toss, &app.iamport, &database)
        .toss_store("wrong", app.toss.uri(), "test_sk_not_the_fakes_key")
        .start()
        .await
        .unwrap();
    let client = client_for(&server, Wire::SealedV2);
    let key = app.toss_card("creds-1", 10_000, true).await;
    let mut input = app.history_input(VendorCode::TossPayments, &key, "creds-1", 10_000);
    input.vendor.store_id = "wrong".into();
    let error = client.histories().create(&input).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(error.code_str(), Some("VENDOR_CREDENTIALS"));
    let message = error.to_string();
    assert!(
        message.contains(r#"vendors.toss[store_id = "wrong"].secret_key"#),
        "{message}"
    );
    assert!(!message.contains("test_sk_not_the_fakes_key"), "{message}");
}

#[tokio::test]
async fn credentials_are_checked_once_per_store_and_a_refusal_can_stop_the_start() {
    use payments::server::vendors::check::{CheckOutcome, check_credentials};
    let toss = fake_toss::FakeToss::start().await;
    let iamport = fake_iamport::FakeIamport::start().await;
    let (imp_key, _) = iamport.credentials();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut config = payments::server::config::ServerConfig::default();
    let builder = |config: &mut payments::server::config::ServerConfig| {
        use payments::core::secret::Secret;
        use payments::server::config::{IamportStore, TossStore};
        config.vendors.toss = vec![
            TossStore {
                store_id: "good".into(),
                base_url: toss.uri(),
                secret_key: Secret::new(toss.secret_key().to_owned()),
            },
            TossStore {
                store_id: "down".into(),
                base_url: closed.clone(),
                secret_key: Secret::new("test_sk_x".into()),
            },
        ];
        config.vendors.iamport = vec![IamportStore {
            store_id: "bad".into(),
            base_url: iamport.uri(),
            imp_key: imp_key.clone(),
            imp_secret: Secret::new("not the secret".into()),
        }];
    };
    builder(&mut config);
    let gateways = payments::server::vendors::configured(&config.vendors).unwrap();
    let checks = check_credentials(&gateways).await;
    let outcome = |store: &str| {
        checks
            .iter()
            .find(|c| c.store_id == store)
            .map(|c| c.outcome.clone())
            .unwrap()
    };
    assert_eq!(outcome("good"), CheckOutcome::Accepted);
    assert!(matches!(outcome("down"), CheckOutcome::Unreachable(_)));
    match outcome("bad") {
        CheckOutcome::Refused(why) => assert!(
            why.contains(r#"vendors.iamport[store_id = "bad"].{imp_key, imp_secret}"#),
            "{why}"
        ),
        other => panic!("the wrong imp_secret is refused, not {other:?}"),
    }
    // The probe created nothing at the PG.
    assert!(toss.received_requests().iter().all(|r| r.method == "GET"));

    // With the start-up check on, the refusal keeps the server from starting; the
    // unreachable store alone would not.
    config.bind = "127.0.0.1:0".into();
    config.database = ":memory:".into();
    let Err(refused) = payments::server::PaymentServer::builder()
        .config(config.clone())
        .sealed_v2_secret(SECRET)
        .identity_key(CI_HASH_KEY)
        .check_credentials_at_start(true)
        .start()
        .await
    else {
        panic!("a refused store stops the start");
    };
    assert!(
        refused.to_string().contains(r#"store_id = "bad""#),
        "{refused}"
    );
    config.vendors.iamport.clear();
    let started = payments::server::PaymentServer::builder()
        .config(config)
        .sealed_v2_secret(SECRET)
        .identity_key(CI_HASH_KEY)
        .check_credentials_at_start(true)
        .start()
        .await;
    assert!(started.is_ok(), "an unreachable PG does not stop the start");
}

/// The compat envelope has no MAC: if a bad-padding body and a good-padding body of bad
/// JSON were answered differently, a captured body could be decrypted a byte at a time.
#[tokio::test]
async fn every_compat_failure_gets_one_identical_answer() {
    let app = spawn_app_with(Wire::Compat).await;
    let key = payments::core::envelope::CompatKey::new(COMPAT_KEY, COMPAT_IV).unwrap();
    let good = key.encrypt(br#"{"schema":"shop","table":"orders","id":"o-1","password":"pw"}"#);
    // Flip a bit of the first block: the last block's padding stays valid, the JSON breaks.
    let mut bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &good).unwrap();
    bytes[3] ^= 0x40;
    let altered_json = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    // Flip a bit of the second-to-last block: the padding breaks.
    let n = bytes.len();
    bytes[n - 17] ^= 0x01;
    let bad_padding = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    let bodies = [
        ("not base64", "%%% not base64 %%%".to_owned()),
        ("not whole blocks", "AAAA".to_owned()),
        ("bad padding", bad_padding),
        ("altered JSON", altered_json),
        ("not JSON", key.encrypt(b"not json at all")),
        ("not UTF-8", key.encrypt(&[0xff, 0xfe, 0xfd])),
        ("wrong shape", key.encrypt(br#"{"schema":1}"#)),
        (
            "unknown field",
            key.encrypt(
                br#"{"schema":"shop","table":"orders","id":"o-1","password":"pw","extra":1}"#,
            ),
        ),
    ];
    let url = format!("{}/payments/histories/get", app.server.uri());
    let mut answers = Vec::new();
    for (what, body) in bodies {
        let response = app
            .http
            .patch(&url)
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        answers.push((what, status, text));
    }
    let (_, status, first) = &answers[0];
    assert_eq!(*status, 400);
    assert!(first.contains("UNDECRYPTABLE"), "{first}");
    for (what, status, text) in &answers {
        assert_eq!(
            (*status, text),
            (400, first),
            "{what} is answered like every other compat failure"
        );
    }
    // The good body still opens (and names no record).
    let response = app
        .http
        .patch(&url)
        .header("content-type", "text/plain")
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // Monitors never answer in compat: their content is known, which would hand out a
    // ciphertext of known plaintext.
    for route in ["/monitors/system", "/monitors/performance"] {
        let response = app
            .http
            .get(format!("{}{route}", app.server.uri()))
            .header("accept", "text/plain")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{route}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "ENVELOPE_DISABLED");
    }
}

/// Over the authenticated envelope, a body of the wrong shape names the field at fault.
#[tokio::test]
async fn sealed_v2_bodies_of_the_wrong_shape_name_the_field() {
    let app = spawn_app().await;
    let key = payments::core::envelope::SealedV2Key::derive(SECRET);
    let path = "/payments/coupons/register";
    let timestamp_ms = chrono::Utc::now().timestamp_millis();
    let body = key.seal(
        br#"{"code":"not a code","owner":"member-1"}"#,
        &payments::core::envelope::Binding {
            method: "POST",
            path,
            timestamp_ms,
            idempotency_key: None,
        },
    );
    let response = app
        .http
        .post(format!("{}{path}", app.server.uri()))
        .header("content-type", "application/vnd.payments.sealed-v2")
        .header("x-payments-timestamp", timestamp_ms.to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_BODY");
    assert!(
        body["message"].as_str().unwrap().starts_with("code"),
        "{body}"
    );
}

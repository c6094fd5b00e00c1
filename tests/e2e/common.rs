//! `spawn_app()`: both fakes, the server on port 0, an SDK client and a webhook
//! receiver, all in-process.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fake_iamport::FakeIamport;
use fake_toss::FakeToss;
use payments::client::{Connection, PaymentsClient, RetryPolicy, open_webhook};
use payments::core::envelope::{Binding, CompatKey, Envelope, SealedV2Key};
use payments::core::records::charges::EventRecord;
use payments::core::records::{
    Accessor, PaymentHistoryCreate, Source, Vendor, VendorCode, WebhookHistory,
};
use payments::server::{PaymentServer, ServerHandle};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET: &str = "e2e-sealed-v2-secret-0123456789";
pub const COMPAT_KEY: &str = "0123456789abcdef0123456789abcdef";
pub const COMPAT_IV: &str = "fedcba9876543210";
pub const PASSWORD: &str = "record-password";
pub const STORE: &str = "main";
pub const CI_HASH_KEY: &str = "e2e-ci-hash-key-0123456789";

/// A webhook receiver that verifies what it gets and can be switched off.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
}

struct ReceiverState {
    up: AtomicBool,
    envelope: Envelope,
    path: String,
    received: Mutex<Vec<(String, WebhookHistory)>>,
    refused: Mutex<u32>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if !state.up.load(Ordering::SeqCst) {
        *state.refused.lock().unwrap() += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match open_webhook(
        &state.envelope,
        "POST",
        &state.path,
        &headers,
        &body,
        chrono::Utc::now(),
    ) {
        Ok(webhook) => {
            let id = headers
                .get("x-payments-webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            state.received.lock().unwrap().push((id, webhook));
            StatusCode::OK
        }
        Err(error) => {
            eprintln!("receiver refused a webhook: {error}");
            error.status()
        }
    }
}

impl Receiver {
    pub async fn start(envelope: Envelope) -> Self {
        let path = "/hooks/payments".to_owned();
        let state = Arc::new(ReceiverState {
            up: AtomicBool::new(true),
            envelope,
            path: path.clone(),
            received: Mutex::new(Vec::new()),
            refused: Mutex::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route(&path, post(receive))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, state }
    }

    pub fn set_up(&self, up: bool) {
        self.state.up.store(up, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<(String, WebhookHistory)> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn refused(&self) -> u32 {
        *self.state.refused.lock().unwrap()
    }

    /// Waits (bounded) until at least `count` webhooks arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<(String, WebhookHistory)> {
        for _ in 0..500 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {count} webhooks, got {:?}", self.received().len());
    }
}

/// The merchant's event endpoint: opens each sealed-v2 event and keeps it.
#[derive(Clone)]
pub struct EventSink {
    pub url: String,
    events: Arc<Mutex<Vec<EventRecord>>>,
}

type EventState = (Arc<SealedV2Key>, Arc<Mutex<Vec<EventRecord>>>);

async fn receive_event(
    State((key, events)): State<EventState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(timestamp_ms) = headers
        .get("x-payments-timestamp")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    else {
        return StatusCode::UNAUTHORIZED;
    };
    let binding = Binding {
        method: "POST",
        path: "/events",
        timestamp_ms,
        idempotency_key: None,
    };
    let Ok(json) = key.open(std::str::from_utf8(&body).unwrap_or(""), &binding) else {
        return StatusCode::UNAUTHORIZED;
    };
    match serde_json::from_slice(&json) {
        Ok(event) => {
            events.lock().unwrap().push(event);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

impl EventSink {
    pub async fn start() -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/events", post(receive_event))
            .with_state((Arc::new(SealedV2Key::derive(SECRET)), events.clone()));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, events }
    }

    pub fn events(&self) -> Vec<EventRecord> {
        self.events.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `count` events arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<EventRecord> {
        for _ in 0..500 {
            let events = self.events();
            if events.len() >= count {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {count} events, got {}", self.events().len());
    }
}

pub struct TestApp {
    pub toss: FakeToss,
    pub iamport: FakeIamport,
    pub server: ServerHandle,
    pub client: PaymentsClient,
    pub receiver: Receiver,
    pub events: EventSink,
    pub http: reqwest::Client,
    pub database: String,
    pub _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    SealedV2,
    Compat,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Wire::SealedV2).await
}

pub fn server_builder(
    app_toss: &FakeToss,
    app_iamport: &FakeIamport,
    database: &str,
) -> payments::server::PaymentServerBuilder {
    let (imp_key, imp_secret) = app_iamport.credentials();
    PaymentServer::builder()
        .database(database)
        .sealed_v2_secret(SECRET)
        .compat(COMPAT_KEY, COMPAT_IV)
        .data_key("k1", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==")
        .password_iterations(1_000)
        .toss_store(STORE, app_toss.uri(), app_toss.secret_key())
        .iamport_store(STORE, app_iamport.uri(), imp_key, imp_secret)
        .webhook_retry_schedule(&[Duration::from_millis(20), Duration::from_millis(40)])
        .webhook_max_attempts(50)
        .webhook_poll_interval(Duration::from_millis(20))
        // The receivers and the event sink listen on 127.0.0.1 over plain http.
        .allow_local_receivers()
}

pub fn client_for(server: &ServerHandle, wire: Wire) -> PaymentsClient {
    let connection = Connection::new(server.uri()).retry(RetryPolicy::none());
    let connection = match wire {
        Wire::SealedV2 => connection.sealed_v2(SECRET),
        Wire::Compat => connection.compat(COMPAT_KEY, COMPAT_IV),
    };
    PaymentsClient::new(connection).unwrap()
}

pub fn envelope(wire: Wire) -> Envelope {
    match wire {
        Wire::SealedV2 => Envelope::SealedV2(SealedV2Key::derive(SECRET)),
        Wire::Compat => Envelope::Compat(CompatKey::new(COMPAT_KEY, COMPAT_IV).unwrap()),
    }
}

pub async fn spawn_app_with(wire: Wire) -> TestApp {
    spawn_app_configured(wire, |builder| builder).await
}

/// [`spawn_app_with`], the server's builder adjusted by `configure` first.
pub async fn spawn_app_configured(
    wire: Wire,
    configure: impl FnOnce(
        payments::server::PaymentServerBuilder,
    ) -> payments::server::PaymentServerBuilder,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = dir
        .path()
        .join("payments.sqlite")
        .to_string_lossy()
        .into_owned();
    let toss = FakeToss::start().await;
    let iamport = FakeIamport::start().await;
    let events = EventSink::start().await;
    let server = configure(server_builder(&toss, &iamport, &database))
        .event_url(events.url.clone())
        .start()
        .await
        .unwrap();
    // The PGs' webhooks go to the server.
    toss.set_webhook_url(format!("{}/payments/webhooks/toss", server.uri()));
    iamport.set_webhook_url(format!("{}/payments/webhooks/iamport", server.uri()));
    let client = client_for(&server, wire);
    let receiver = Receiver::start(envelope(wire)).await;
    TestApp {
        toss,
        iamport,
        server,
        client,
        receiver,
        events,
        http: reqwest::Client::new(),
        database,
        _dir: Some(dir),
    }
}

pub fn source(id: &str) -> Source {
    Source {
        schema: "shop".into(),
        table: "orders".into(),
        id: id.into(),
    }
}

pub fn accessor(id: &str) -> Accessor {
    Accessor {
        schema: "shop".into(),
        table: "orders".into(),
        id: id.into(),
        password: PASSWORD.into(),
    }
}

impl TestApp {
    pub fn history_input(
        &self,
        code: VendorCode,
        uid: &str,
        order: &str,
        price: i64,
    ) -> PaymentHistoryCreate {
        PaymentHistoryCreate {
            vendor: Vendor {
                code,
                store_id: STORE.into(),
                uid: uid.into(),
            },
            source: source(order),
            price,
            password: PASSWORD.into(),
            webhook_url: Some(self.receiver.url.clone()),
        }
    }

    async fn toss_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.toss.uri()))
            .header("Authorization", self.toss.authorization())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "fake-toss {path}: {status} {body}");
        body
    }

    /// A Toss key-in card payment: DONE at once, or IN_PROGRESS (widget flow).
    pub async fn toss_card(&self, order: &str, amount: i64, approved: bool) -> String {
        let payment = self
            .toss_post(
                "/v1/payments/key-in",
                json!({
                    "method": "card", "cardNumber": "4330123412341234",
                    "cardExpirationYear": "30", "cardExpirationMonth": "12",
                    "amount": amount, "orderId": order, "orderName": "Coffee",
                    "__approved": approved
                }),
            )
            .await;
        payment["paymentKey"].as_str().unwrap().to_owned()
    }

    /// A Toss virtual account, WAITING_FOR_DEPOSIT.
    pub async fn toss_virtual_account(&self, order: &str, amount: i64) -> String {
        let payment = self
            .toss_post(
                "/v1/virtual-accounts",
                json!({
                    "method": "virtual-account", "orderId": order, "orderName": "Books",
                    "bank": "신한", "customerName": "김토스", "amount": amount
                }),
            )
            .await;
        payment["paymentKey"].as_str().unwrap().to_owned()
    }

    /// A Toss billing key for `customer_key`.
    pub async fn toss_billing_key(&self, customer_key: &str) -> String {
        let billing = self
            .toss_post(
                "/v1/billing/authorizations/card",
                json!({
                    "cardNumber": "4330123412341234", "cardExpirationYear": "30",
                    "cardExpirationMonth": "12", "cardPassword": "12",
                    "customerBirthday": "900101", "customerKey": customer_key
                }),
            )
            .await;
        billing["billingKey"].as_str().unwrap().to_owned()
    }

    /// Charges a Toss billing key.
    pub async fn toss_billing_charge(
        &self,
        billing_key: &str,
        customer_key: &str,
        order: &str,
        amount: i64,
    ) -> String {
        let payment = self
            .toss_post(
                &format!("/v1/billing/{billing_key}"),
                json!({
                    "method": "billing", "billingKey": billing_key, "customerKey": customer_key,
                    "orderId": order, "orderName": "Subscription", "amount": amount
                }),
            )
            .await;
        payment["paymentKey"].as_str().unwrap().to_owned()
    }

    async fn iamport_token(&self) -> String {
        let (imp_key, imp_secret) = self.iamport.credentials();
        let body: Value = self
            .http
            .post(format!("{}/users/getToken", self.iamport.uri()))
            .json(&json!({"imp_key": imp_key, "imp_secret": imp_secret}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["response"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn iamport_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let token = self.iamport_token().await;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.iamport.uri()))
            .header("Authorization", token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(body["code"], 0, "fake-iamport {path}: {body}");
        body["response"].clone()
    }

    /// A PortOne one-off card payment (paid).
    pub async fn iamport_card(&self, order: &str, amount: i64) -> String {
        let payment = self
            .iamport_request(
                reqwest::Method::POST,
                "/subscribe/payments/onetime",
                Some(json!({
                    "card_number": "4330-1234-1234-1234", "expiry": "2030-12",
                    "birth": "900101", "pwd_2digit": "12", "name": "Coffee",
                    "merchant_uid": order, "amount": amount
                })),
            )
            .await;
        payment["imp_uid"].as_str().unwrap().to_owned()
    }

    /// A PortOne virtual account (ready).
    pub async fn iamport_vbank(&self, order: &str, amount: i64) -> String {
        let due = chrono::Utc::now().timestamp() + 86_400;
        let payment = self
            .iamport_request(
                reqwest::Method::POST,
                "/vbanks",
                Some(json!({
                    "merchant_uid": order, "amount": amount, "vbank_code": "088",
                    "vbank_due": due, "vbank_holder": "홍길동", "name": "Books"
                })),
            )
            .await;
        payment["imp_uid"].as_str().unwrap().to_owned()
    }

    /// Saves a PortOne card under `customer_uid`.
    pub async fn iamport_save_card(&self, customer_uid: &str) {
        self.iamport_request(
            reqwest::Method::POST,
            &format!("/subscribe/customers/{customer_uid}"),
            Some(json!({
                "card_number": "4330-1234-1234-1234", "expiry": "2030-12",
                "birth": "900101", "pwd_2digit": "12"
            })),
        )
        .await;
    }

    /// Charges a saved PortOne card.
    pub async fn iamport_again(&self, customer_uid: &str, order: &str, amount: i64) -> String {
        let payment = self
            .iamport_request(
                reqwest::Method::POST,
                "/subscribe/payments/again",
                Some(json!({
                    "customer_uid": customer_uid, "merchant_uid": order,
                    "amount": amount, "name": "Subscription"
                })),
            )
            .await;
        payment["imp_uid"].as_str().unwrap().to_owned()
    }
}

//! The [`Stack`] under test, all in this process: fake-toss and fake-iamport (each on its
//! own thread, as they always run), `payments-server` on this runtime over a temporary
//! SQLite file, a webhook [`Receiver`], and [`Pg`] helpers that make payments at the
//! fakes over HTTP the way a shop's checkout would.

use crate::error::BenchError;
use crate::measure::Measured;
use crate::preload::{self, PreloadSet, Preloaded};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use fake_iamport::FakeIamport;
use fake_toss::FakeToss;
use payments_client::{Connection, PaymentsClient, RetryPolicy, open_webhook};
use payments_core::envelope::{Envelope, SealedV2Key};
use payments_server::keys::HistorySealer;
use payments_server::{PaymentServer, ServerHandle};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sealed-v2 secret shared by the server and the SDK clients.
pub const SECRET: &str = "payments-bench-sealed-v2-secret";
/// The at-rest data key id.
pub const DATA_KEY_ID: &str = "bench";
/// The at-rest data key (base64 of 64 bytes).
pub const DATA_KEY: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
/// The store id both PGs are configured under.
pub const STORE: &str = "main";
/// Every record's password.
pub const PASSWORD: &str = "bench-record-password";

/// Locks a mutex, carrying on past a poisoned one (a panicked benchmark task must not
/// take the report down with it).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The at-rest keys the server is configured with, to seal preloaded rows the same way.
///
/// # Errors
/// Never with the constant key; the type says so for the caller's `?`.
pub fn data_keys() -> Result<HistorySealer, BenchError> {
    HistorySealer::new(
        DATA_KEY_ID,
        &[(DATA_KEY_ID.to_owned(), DATA_KEY.to_owned())],
    )
    .map_err(|e| BenchError::Setup(format!("data key: {e}")))
}

/// HTTP helpers for the fakes' own APIs (a shop's checkout and a bank's deposit). Cheap
/// to clone.
#[derive(Debug, Clone)]
pub struct Pg {
    http: reqwest::Client,
    toss_uri: String,
    toss_authorization: String,
    iamport_uri: String,
    imp_key: String,
    imp_secret: String,
}

fn failed(what: &str, error: impl std::fmt::Display) -> String {
    format!("{what}: {error}")
}

impl Pg {
    /// Helpers for these fakes.
    pub fn new(toss: &FakeToss, iamport: &FakeIamport) -> Self {
        let (imp_key, imp_secret) = iamport.credentials();
        Self {
            http: reqwest::Client::new(),
            toss_uri: toss.uri(),
            toss_authorization: toss.authorization(),
            iamport_uri: iamport.uri(),
            imp_key,
            imp_secret,
        }
    }

    async fn json(request: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
        let response = request.send().await.map_err(|e| failed(what, e))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| failed(what, e))?;
        if !status.is_success() {
            return Err(format!("{what}: {status} {body}"));
        }
        Ok(body)
    }

    /// A Toss key-in card payment of `amount` for `order`, approved at once; its
    /// `paymentKey`.
    ///
    /// # Errors
    /// The fake's refusal or a transport failure, as text.
    pub async fn toss_card(&self, order: &str, amount: i64) -> Result<String, String> {
        let payment = Self::json(
            self.http
                .post(format!("{}/v1/payments/key-in", self.toss_uri))
                .header("Authorization", &self.toss_authorization)
                .json(&json!({
                    "method": "card", "cardNumber": "4330123412341234",
                    "cardExpirationYear": "30", "cardExpirationMonth": "12",
                    "amount": amount, "orderId": order, "orderName": "Americano"
                })),
            "fake-toss key-in",
        )
        .await?;
        payment["paymentKey"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("fake-toss key-in: no paymentKey in {payment}"))
    }

    /// A Toss billing key (a saved card) bound to `customer_key`.
    ///
    /// # Errors
    /// As [`Pg::toss_card`].
    pub async fn toss_billing_key(&self, customer_key: &str) -> Result<String, String> {
        let billing = Self::json(
            self.http
                .post(format!("{}/v1/billing/authorizations/card", self.toss_uri))
                .header("Authorization", &self.toss_authorization)
                .json(&json!({
                    "cardNumber": "4330123412341234", "cardExpirationYear": "30",
                    "cardExpirationMonth": "12", "cardPassword": "12",
                    "customerBirthday": "900101", "customerKey": customer_key
                })),
            "fake-toss billing authorization",
        )
        .await?;
        billing["billingKey"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("fake-toss billing authorization: no billingKey in {billing}"))
    }

    /// The Toss payment object `GET /v1/payments/{paymentKey}` answers.
    ///
    /// # Errors
    /// As [`Pg::toss_card`].
    pub async fn toss_payment(&self, payment_key: &str) -> Result<Value, String> {
        Self::json(
            self.http
                .get(format!("{}/v1/payments/{payment_key}", self.toss_uri))
                .header("Authorization", &self.toss_authorization),
            "fake-toss lookup",
        )
        .await
    }

    /// A PortOne access token.
    ///
    /// # Errors
    /// As [`Pg::toss_card`].
    pub async fn iamport_token(&self) -> Result<String, String> {
        let body = Self::json(
            self.http
                .post(format!("{}/users/getToken", self.iamport_uri))
                .json(&json!({"imp_key": self.imp_key, "imp_secret": self.imp_secret})),
            "fake-iamport getToken",
        )
        .await?;
        body["response"]["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("fake-iamport getToken: no access_token in {body}"))
    }

    async fn iamport_post(&self, token: &str, path: &str, body: Value) -> Result<Value, String> {
        let what = format!("fake-iamport {path}");
        let body = Self::json(
            self.http
                .post(format!("{}{path}", self.iamport_uri))
                .header("Authorization", token)
                .json(&body),
            &what,
        )
        .await?;
        if body["code"] != 0 {
            return Err(format!("{what}: {body}"));
        }
        Ok(body["response"].clone())
    }

    /// A PortOne virtual account for `order`, waiting for its deposit; its `imp_uid`.
    ///
    /// # Errors
    /// As [`Pg::toss_card`].
    pub async fn iamport_vbank(
        &self,
        token: &str,
        order: &str,
        amount: i64,
    ) -> Result<String, String> {
        let due = chrono::Utc::now().timestamp() + 86_400;
        let payment = self
            .iamport_post(
                token,
                "/vbanks",
                json!({
                    "merchant_uid": order, "amount": amount, "vbank_code": "088",
                    "vbank_due": due, "vbank_holder": "홍길동", "name": "Books"
                }),
            )
            .await?;
        payment["imp_uid"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("fake-iamport /vbanks: no imp_uid in {payment}"))
    }

    /// A paid PortOne one-off card payment for `order`; its `imp_uid`.
    ///
    /// # Errors
    /// As [`Pg::toss_card`].
    pub async fn iamport_card(
        &self,
        token: &str,
        order: &str,
        amount: i64,
    ) -> Result<String, String> {
        let payment = self
            .iamport_post(
                token,
                "/subscribe/payments/onetime",
                json!({
                    "card_number": "4330-1234-1234-1234", "expiry": "2030-12",
                    "birth": "900101", "pwd_2digit": "12", "name": "Coffee",
                    "merchant_uid": order, "amount": amount
                }),
            )
            .await?;
        payment["imp_uid"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("fake-iamport onetime: no imp_uid in {payment}"))
    }
}

/// Where a [`Stack`] keeps its records.
#[derive(Debug, Clone, Copy)]
pub enum Engine<'a> {
    /// A temporary SQLite file, one server (the default rows).
    Sqlite,
    /// A fresh database on this PostgreSQL server, with `instances` servers on it.
    Postgres {
        /// The server the database is made on.
        server: &'a test_postgres::TestPostgres,
        /// Server instances sharing the database.
        instances: usize,
    },
}

impl Engine<'_> {
    /// What the engine adds to a row's label: nothing for SQLite, ` postgres` or
    /// ` postgres x2`.
    pub fn suffix(&self) -> String {
        match self {
            Engine::Sqlite => String::new(),
            Engine::Postgres { instances: 1, .. } => " postgres".into(),
            Engine::Postgres { instances, .. } => format!(" postgres x{instances}"),
        }
    }
}

/// Both fakes, the server (or several, on one PostgreSQL database), and a webhook
/// receiver.
pub struct Stack {
    /// fake-toss.
    pub toss: FakeToss,
    /// fake-iamport.
    pub iamport: FakeIamport,
    /// The server (the first instance; PG webhooks go to it).
    pub server: ServerHandle,
    /// Further instances on the same database (PostgreSQL only).
    pub others: Vec<ServerHandle>,
    /// Where histories' webhooks go.
    pub receiver: Receiver,
    /// Checkout helpers for the fakes.
    pub pg: Pg,
    /// The sealed-v2 envelope, derived once and shared by every client.
    pub envelope: Envelope,
    /// The database file (empty on PostgreSQL).
    pub database: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("server", &self.server)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// Boots the fakes, preloads `sets` into a fresh database file (sealed with the
    /// server's data key, data copied from a real fake-toss payment), then starts the
    /// server on it at the default configuration (keyed record-password hash, the
    /// default guess limiter).
    ///
    /// # Errors
    /// When a fake, the preload or the server fails to start.
    pub async fn start(sets: &[PreloadSet]) -> Result<(Self, Vec<Preloaded>), BenchError> {
        Self::start_on(Engine::Sqlite, sets).await
    }

    /// [`Stack::start`] on `engine`: on PostgreSQL a fresh database, preloaded through
    /// the store's port, with `instances` servers started on it at once.
    ///
    /// # Errors
    /// As [`Stack::start`], and when the database cannot be made.
    pub async fn start_on(
        engine: Engine<'_>,
        sets: &[PreloadSet],
    ) -> Result<(Self, Vec<Preloaded>), BenchError> {
        let dir = tempfile::tempdir().map_err(|e| BenchError::Setup(format!("temp dir: {e}")))?;
        let (database, url, instances) = match engine {
            Engine::Sqlite => (dir.path().join("payments.sqlite"), None, 1),
            Engine::Postgres { server, instances } => {
                // One psql call, during setup: not worth a blocking task.
                let url = server
                    .create_database("bench")
                    .map_err(|e| BenchError::Setup(format!("PostgreSQL database: {e}")))?;
                (PathBuf::new(), Some(url), instances.max(1))
            }
        };
        let toss = FakeToss::builder().record_requests(false).start().await;
        let iamport = FakeIamport::start().await;
        let pg = Pg::new(&toss, &iamport);
        let mut preloaded = Vec::new();
        if !sets.is_empty() {
            let key = pg
                .toss_card("bench-canned", 15_000)
                .await
                .map_err(BenchError::Setup)?;
            let data = pg.toss_payment(&key).await.map_err(BenchError::Setup)?;
            let keys = data_keys()?;
            preloaded = match &url {
                Some(url) => preload::insert_postgres(url, &keys, sets, &data).await?,
                None => {
                    let path = database.clone();
                    let sets = sets.to_vec();
                    tokio::task::spawn_blocking(move || {
                        preload::bulk_insert(&path, &keys, &sets, &data)
                    })
                    .await
                    .map_err(|e| BenchError::Setup(format!("preload task: {e}")))??
                }
            };
        }
        let database_text = url
            .clone()
            .unwrap_or_else(|| database.to_string_lossy().into_owned());
        let starts = (0..instances).map(|_| Self::server(&toss, &iamport, &database_text));
        let mut servers = futures::future::try_join_all(starts).await?.into_iter();
        let server = servers
            .next()
            .ok_or_else(|| BenchError::Setup("no server started".into()))?;
        let others: Vec<ServerHandle> = servers.collect();
        iamport.set_webhook_url(format!("{}/payments/webhooks/iamport", server.uri()));
        let envelope = Envelope::SealedV2(SealedV2Key::derive(SECRET));
        let receiver = Receiver::start(envelope.clone()).await?;
        Ok((
            Self {
                toss,
                iamport,
                server,
                others,
                receiver,
                pg,
                envelope,
                database,
                _dir: dir,
            },
            preloaded,
        ))
    }

    /// One server on `database` at the default configuration.
    async fn server(
        toss: &FakeToss,
        iamport: &FakeIamport,
        database: &str,
    ) -> Result<ServerHandle, BenchError> {
        let (imp_key, imp_secret) = iamport.credentials();
        PaymentServer::builder()
            .database(database)
            .sealed_v2_secret(SECRET)
            .data_key(DATA_KEY_ID, DATA_KEY)
            .toss_store(STORE, toss.uri(), toss.secret_key())
            .iamport_store(STORE, iamport.uri(), imp_key, imp_secret)
            .webhook_retry_schedule(&[Duration::from_millis(50)])
            .webhook_max_attempts(20)
            .webhook_poll_interval(Duration::from_millis(20))
            // The receiver listens on 127.0.0.1 over plain http.
            .allow_local_receivers()
            .start()
            .await
            .map_err(|e| BenchError::Setup(format!("payments-server: {e}")))
    }

    /// A new SDK client of the server (its own connection pool), no retries so every
    /// failure is counted.
    ///
    /// # Errors
    /// When the client cannot be built.
    pub fn client(&self) -> Result<PaymentsClient, BenchError> {
        sdk_client(&self.server.uri(), &self.envelope)
    }

    /// `concurrency` clients, one per worker.
    ///
    /// # Errors
    /// As [`Stack::client`].
    pub fn clients(&self, concurrency: usize) -> Result<Arc<Vec<PaymentsClient>>, BenchError> {
        // Spread over the instances, as a load balancer would.
        let servers: Vec<&ServerHandle> = std::iter::once(&self.server)
            .chain(self.others.iter())
            .collect();
        (0..concurrency.max(1))
            .map(|n| sdk_client(&servers[n % servers.len()].uri(), &self.envelope))
            .collect::<Result<Vec<_>, _>>()
            .map(Arc::new)
    }

    /// Stops the server gracefully (the fakes and the files go with `self`).
    pub async fn stop(self) {
        for other in self.others {
            other.shutdown().await;
        }
        self.server.shutdown().await;
    }
}

/// An SDK client of `uri` speaking sealed-v2 with `envelope`, retries off.
///
/// # Errors
/// When the client cannot be built.
pub fn sdk_client(uri: &str, envelope: &Envelope) -> Result<PaymentsClient, BenchError> {
    PaymentsClient::new(
        Connection::new(uri)
            .envelope(envelope.clone())
            .retry(RetryPolicy::none()),
    )
    .map_err(|e| BenchError::Setup(format!("SDK client: {e}")))
}

/// A merchant's webhook endpoint: opens and verifies every webhook (as a real receiver
/// must) and times the ones it was told to expect, from when the caller started them to
/// when they arrived.
#[derive(Clone)]
pub struct Receiver {
    /// Where the server delivers (a history's `webhook_url`).
    pub url: String,
    state: Arc<ReceiverState>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

struct ReceiverState {
    envelope: Envelope,
    path: String,
    /// Source id -> when its deposit was made.
    expected: Mutex<HashMap<String, Instant>>,
    measured: Mutex<Measured>,
    arrived: tokio::sync::Notify,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    match open_webhook(
        &state.envelope,
        "POST",
        &state.path,
        &headers,
        &body,
        chrono::Utc::now(),
    ) {
        Ok(webhook) => {
            let started = lock(&state.expected).remove(&webhook.source.id);
            if let Some(started) = started {
                lock(&state.measured).add(Ok(started.elapsed()));
                state.arrived.notify_waiters();
            }
            // Webhooks nobody waits for (a re-delivery, another history) are accepted.
            StatusCode::OK
        }
        Err(error) => {
            lock(&state.measured).add(Err(format!("receiver refused a webhook: {error}")));
            error.status()
        }
    }
}

impl Receiver {
    /// Listens on `127.0.0.1:0` on this runtime.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(envelope: Envelope) -> Result<Self, BenchError> {
        let path = "/hooks/payments".to_owned();
        let state = Arc::new(ReceiverState {
            envelope,
            path: path.clone(),
            expected: Mutex::new(HashMap::new()),
            measured: Mutex::new(Measured::default()),
            arrived: tokio::sync::Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| BenchError::Setup(format!("receiver bind: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::Setup(format!("receiver addr: {e}")))?;
        let router = axum::Router::new()
            .route(&path, axum::routing::post(receive))
            .with_state(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("webhook receiver stopped: {error}");
            }
        });
        Ok(Self {
            url: format!("http://{addr}{path}"),
            state,
        })
    }

    /// Starts the clock for the webhook of the history whose source id is `source_id`.
    pub fn expect(&self, source_id: &str) {
        lock(&self.state.expected).insert(source_id.to_owned(), Instant::now());
    }

    /// Forgets an expectation whose trigger failed.
    pub fn forget(&self, source_id: &str) {
        lock(&self.state.expected).remove(source_id);
    }

    /// How many expected webhooks have not arrived.
    pub fn outstanding(&self) -> usize {
        lock(&self.state.expected).len()
    }

    /// Waits until every expected webhook arrived or `limit` passed; returns what was
    /// measured, each webhook still missing counted as an error.
    pub async fn wait_all(&self, limit: Duration) -> Measured {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.state.arrived.notified();
            if self.outstanding() == 0 || Instant::now() >= deadline {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
        let missing: Vec<String> = lock(&self.state.expected)
            .drain()
            .map(|(id, _)| id)
            .collect();
        let mut measured = std::mem::take(&mut *lock(&self.state.measured));
        for id in missing {
            measured.add(Err(format!("no webhook for {id} within {limit:?}")));
        }
        measured
    }
}

//! [`PaymentServer`]: builds the server from a configuration, binds before it runs, and
//! returns a [`ServerHandle`] (`addr()`, `uri()`, `shutdown().await`). Shutdown is
//! graceful: in-flight requests finish, the outbox worker's attempts under way finish
//! (each within `[webhooks] timeout_ms`) and are recorded, the reconciliation worker
//! finishes its current check, and pending deliveries resume from the database on the
//! next start.

use crate::app::{App, Envelopes};
use crate::at_rest::DataKeys;
use crate::config::{ConfigError, IamportStore, PortOneStore, ServerConfig, TossStore};
use crate::store::postgres::{PostgresStore, is_postgres_url};
use crate::store::{SqliteStore, Store, StoreError};
use crate::vendors;
use payments_core::clock::{Clock, IdGen, RandomIdGen, SystemClock};
use payments_core::envelope::{CompatKey, EnvelopeError, SealedV2Key};
use payments_core::password::{PasswordError, PasswordHasher};
use payments_core::records::VendorCode;
use payments_core::secret::Secret;
use payments_core::vendor::PaymentGateway;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An envelope key is unusable.
    #[error("envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// A data key is unusable.
    #[error("data keys: {0}")]
    DataKeys(#[from] crate::at_rest::AtRestError),
    /// The password work factor is unusable.
    #[error("password_iterations: {0}")]
    Password(#[from] PasswordError),
    /// The database did not open.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    /// `[vendors] check_at_start` is on and a PG refused the server's credentials; the
    /// message names every store that did and the key to fix.
    #[error("{0}")]
    Credentials(String),
}

/// Refuses to start when a store's PG refuses its credentials; a PG that cannot be
/// asked is only logged, so an outage at the PG does not keep the server down.
async fn check_at_start(gateways: &vendors::Gateways) -> Result<(), StartError> {
    let mut refused = Vec::new();
    for check in vendors::check::check_credentials(gateways).await {
        match &check.outcome {
            vendors::check::CheckOutcome::Accepted => {
                tracing::info!(vendor = %check.vendor, store = %check.store_id, "PG credentials accepted")
            }
            vendors::check::CheckOutcome::Refused(why) => refused.push(why.clone()),
            vendors::check::CheckOutcome::Unreachable(why) => {
                tracing::warn!(vendor = %check.vendor, store = %check.store_id, %why, "PG credentials not checked: the PG could not be asked")
            }
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(StartError::Credentials(refused.join("; ")))
    }
}

/// The entry point: `PaymentServer::builder()…start().await`.
#[derive(Debug)]
pub struct PaymentServer;

impl PaymentServer {
    /// A builder with test-friendly defaults: `127.0.0.1:0`, an in-memory database, a
    /// fresh random data key and CI hash key; set a sealed-v2 secret and at least one
    /// store. [`config`](PaymentServerBuilder::config) replaces these defaults too, so a
    /// configuration file must name its own `[identity] ci_hash_key`.
    pub fn builder() -> PaymentServerBuilder {
        PaymentServerBuilder {
            config: ServerConfig {
                bind: "127.0.0.1:0".into(),
                database: ":memory:".into(),
                identity: crate::config::IdentityConfig {
                    ci_hash_key: Secret::new(DataKeys::generate()),
                    ..crate::config::IdentityConfig::default()
                },
                ..ServerConfig::default()
            },
            clock: None,
            ids: None,
            store: None,
            gateways: Vec::new(),
        }
    }
}

/// Configures and starts a server.
pub struct PaymentServerBuilder {
    config: ServerConfig,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGen>>,
    store: Option<Arc<dyn Store>>,
    gateways: Vec<(VendorCode, String, Arc<dyn PaymentGateway>)>,
}

impl std::fmt::Debug for PaymentServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentServerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PaymentServerBuilder {
    /// Replaces the whole configuration (e.g. one read from a file).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Where to listen.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.config.bind = addr.into();
        self
    }

    /// The SQLite file (or `:memory:`), or a PostgreSQL URL (`postgres://…`), which
    /// [`start`](Self::start) connects to.
    pub fn database(mut self, path: impl Into<String>) -> Self {
        self.config.database = path.into();
        self
    }

    /// The sealed-v2 secret.
    pub fn sealed_v2_secret(mut self, secret: impl Into<String>) -> Self {
        self.config.envelopes.sealed_v2_secret = Secret::new(secret.into());
        self
    }

    /// Switches the compat envelope on with this key and IV.
    pub fn compat(mut self, key: impl Into<String>, iv: impl Into<String>) -> Self {
        self.config.envelopes.compat = Some(crate::config::CompatConfig {
            key: Secret::new(key.into()),
            iv: Secret::new(iv.into()),
        });
        self
    }

    /// Adds a data key (base64 of 64 bytes) and makes it the active one.
    pub fn data_key(mut self, id: impl Into<String>, key: impl Into<String>) -> Self {
        let id = id.into();
        self.config
            .data_keys
            .keys
            .insert(id.clone(), Secret::new(key.into()));
        self.config.data_keys.active = id;
        self
    }

    /// PBKDF2 iterations for record passwords (tests use a low count).
    pub fn password_iterations(mut self, iterations: u32) -> Self {
        self.config.password_iterations = iterations;
        self
    }

    /// Adds a Toss Payments store.
    pub fn toss_store(
        mut self,
        store_id: impl Into<String>,
        base_url: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.config.vendors.toss.push(TossStore {
            store_id: store_id.into(),
            base_url: base_url.into(),
            secret_key: Secret::new(secret_key.into()),
        });
        self
    }

    /// Adds a PortOne V2 store: the server's `store_id` for it, the API's `base_url`, the
    /// V2 API secret, PortOne's `storeId` and the store's `whsec_…` webhook secret.
    pub fn portone_store(mut self, store: PortOneStore) -> Self {
        self.config.vendors.portone.push(store);
        self
    }

    /// Adds a PortOne V1 (iamport) store.
    pub fn iamport_store(
        mut self,
        store_id: impl Into<String>,
        base_url: impl Into<String>,
        imp_key: impl Into<String>,
        imp_secret: impl Into<String>,
    ) -> Self {
        self.config.vendors.iamport.push(IamportStore {
            store_id: store_id.into(),
            base_url: base_url.into(),
            imp_key: imp_key.into(),
            imp_secret: Secret::new(imp_secret.into()),
        });
        self
    }

    /// Adds a PG adapter of the caller's own (a test double, another PG).
    pub fn gateway(
        mut self,
        vendor: VendorCode,
        store_id: impl Into<String>,
        gateway: Arc<dyn PaymentGateway>,
    ) -> Self {
        self.gateways.push((vendor, store_id.into(), gateway));
        self
    }

    /// The webhook retry schedule (waits between attempts; the last repeats).
    pub fn webhook_retry_schedule(mut self, schedule: &[Duration]) -> Self {
        self.config.webhooks.retry_schedule_ms =
            schedule.iter().map(|d| d.as_millis() as u64).collect();
        self
    }

    /// Attempts before a webhook delivery gives up.
    pub fn webhook_max_attempts(mut self, attempts: u32) -> Self {
        self.config.webhooks.max_attempts = attempts;
        self
    }

    /// How often the outbox looks for due deliveries when nothing wakes it.
    pub fn webhook_poll_interval(mut self, every: Duration) -> Self {
        self.config.webhooks.poll_interval_ms = every.as_millis() as u64;
        self
    }

    /// The receiver's time limit per webhook attempt (see `[webhooks] timeout_ms`).
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.config.webhooks.timeout_ms = timeout.as_millis() as u64;
        self
    }

    /// How long a worker's claim on a delivery lasts (see `[webhooks] lease_ms`).
    pub fn webhook_lease(mut self, lease: Duration) -> Self {
        self.config.webhooks.lease_ms = lease.as_millis() as u64;
        self
    }

    /// Checks every store's credentials at start (see `[vendors] check_at_start`).
    pub fn check_credentials_at_start(mut self, check: bool) -> Self {
        self.config.vendors.check_at_start = check;
        self
    }

    /// The time limit of every PG call.
    pub fn vendor_timeout(mut self, timeout: Duration) -> Self {
        self.config.vendors.timeout_ms = timeout.as_millis() as u64;
        self
    }

    /// Hosts webhooks and events may be delivered to whatever their address (see
    /// `[webhooks] allow_hosts`): tests and local development list `127.0.0.1`.
    pub fn webhook_allow_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.webhooks.allow_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Delivers to plain `http://` URLs too (see `[webhooks] allow_insecure`).
    pub fn webhook_allow_insecure(mut self, allow: bool) -> Self {
        self.config.webhooks.allow_insecure = allow;
        self
    }

    /// Receivers on this machine: `127.0.0.1`, `localhost` and `[::1]` allowed, plain
    /// http allowed. For tests, examples and `--demo`, never production.
    pub fn allow_local_receivers(self) -> Self {
        self.webhook_allow_hosts(["127.0.0.1", "localhost", "::1"])
            .webhook_allow_insecure(true)
    }

    /// How often the reconciliation worker runs a round (`[reconcile] interval_ms`).
    pub fn reconcile_interval(mut self, every: Duration) -> Self {
        self.config.reconcile.interval_ms = every.as_millis() as u64;
        self
    }

    /// The longest wait between two checks of one payment (`[reconcile]
    /// max_backoff_ms`).
    pub fn reconcile_max_backoff(mut self, wait: Duration) -> Self {
        self.config.reconcile.max_backoff_ms = wait.as_millis() as u64;
        self
    }

    /// The PG lookups one reconciliation round makes at most (`[reconcile]
    /// max_per_round`).
    pub fn reconcile_max_per_round(mut self, lookups: usize) -> Self {
        self.config.reconcile.max_per_round = lookups;
        self
    }

    /// How long a PG webhook for an unregistered payment waits before the PG is asked
    /// about it (`[webhooks] unknown_payment_grace_ms`).
    pub fn unknown_payment_grace(mut self, grace: Duration) -> Self {
        self.config.webhooks.unknown_payment_grace_ms = grace.as_millis() as u64;
        self
    }

    /// The shortest wait between two caller-asked re-deliveries of one message.
    pub fn redeliver_interval(mut self, every: Duration) -> Self {
        self.config.webhooks.redeliver_interval_ms = every.as_millis() as u64;
        self
    }

    /// Where transaction events are delivered.
    pub fn event_url(mut self, url: impl Into<String>) -> Self {
        self.config.events.url = Some(url.into());
        self
    }

    /// How long idempotency keys are kept, and how they are swept (`[idempotency]`).
    pub fn idempotency(mut self, idempotency: crate::config::IdempotencyConfig) -> Self {
        self.config.idempotency = idempotency;
        self
    }

    /// The key of the CI hashes returned by identity verification.
    pub fn identity_key(mut self, key: impl Into<String>) -> Self {
        self.config.identity.ci_hash_key = Secret::new(key.into());
        self
    }

    /// How long after the person completed it a certification is accepted (see
    /// `[identity] max_age_ms`).
    pub fn certification_max_age(mut self, max_age: Duration) -> Self {
        self.config.identity.max_age_ms = max_age.as_millis() as u64;
        self
    }

    /// The limits on what callers can make the server do (`[limits]`).
    pub fn limits(mut self, limits: crate::config::LimitsConfig) -> Self {
        self.config.limits = limits;
        self
    }

    /// The largest accepted body, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// Injects the clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Injects the id generator.
    pub fn ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Uses another store than the configured database.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Builds the shared state without binding, for [`http::router`](crate::http::router):
    /// an embedder mounting the API in its own axum app, or a test driving the router
    /// without a socket. No background worker runs and no start-time upkeep is done
    /// (sealing billing keys stored in the clear, `check_at_start`): [`start`](Self::start)
    /// does both.
    ///
    /// # Errors
    /// Any unusable configuration value, named.
    pub fn build(mut self) -> Result<Arc<App>, StartError> {
        if self.config.data_keys.keys.is_empty() {
            self = self.data_key("generated", DataKeys::generate());
        }
        self.config.validate()?;
        let config = self.config;
        let replay_cache_entries = config.envelopes.replay_cache_entries;
        let mut gateways = vendors::configured(&config.vendors)?;
        for (vendor, store_id, gateway) in self.gateways {
            gateways.insert(vendor, &store_id, gateway, None);
        }
        let compat = match &config.envelopes.compat {
            Some(c) => Some(CompatKey::new(c.key.expose(), c.iv.expose())?),
            None => None,
        };
        let envelopes = Envelopes {
            sealed_v2: SealedV2Key::derive(config.envelopes.sealed_v2_secret.expose()),
            compat,
        };
        let keys: Vec<(String, String)> = config
            .data_keys
            .keys
            .iter()
            .map(|(id, key)| (id.clone(), key.expose().clone()))
            .collect();
        let data_keys = DataKeys::new(&config.data_keys.active, &keys)?;
        // No PBKDF2 hash is made any more; the count is still range-checked so a
        // configuration that was wrong before stays refused.
        PasswordHasher::new(config.password_iterations)?;
        let record_keys = data_keys.record_password_keys()?;
        let store: Arc<dyn Store> = match self.store {
            Some(store) => store,
            // Connecting is async: start() connects, and build() takes its store.
            None if is_postgres_url(&config.database) => {
                return Err(ConfigError::Invalid(
                    "database: a PostgreSQL database is connected by start(); to build() \
                     without starting, pass .store(PostgresStore::connect(url).await?)"
                        .into(),
                )
                .into());
            }
            None => Arc::new(SqliteStore::open(&config.database)?),
        };
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let egress = config.webhooks.egress();
        let webhook_http = egress.client(Duration::from_millis(config.webhooks.timeout_ms))?;
        let redeliveries =
            crate::rate_limit::KeyedLimiter::new(1, config.webhooks.redeliver_interval_ms, 10_000);
        let refreshes = crate::webhooks::coalesce::Refreshes::new(
            Duration::from_millis(config.limits.intake_coalesce_ms),
            10_000,
        );
        let intake = crate::rate_limit::KeyedLimiter::new(
            config.limits.intake_burst,
            config.limits.intake_refill_ms,
            10_000,
        );
        let unknown_payments = crate::webhooks::unknown::UnknownPayments::new(
            Duration::from_millis(config.webhooks.unknown_payment_grace_ms),
        );
        let admission = crate::http::admission::Admission::new(&config.limits);
        Ok(Arc::new(App {
            started_at: clock.now(),
            admission,
            config,
            store,
            gateways,
            envelopes,
            data_keys,
            record_keys,
            password_limiter: crate::passwords::PasswordLimiter::default(),
            password_checks: std::sync::atomic::AtomicU64::new(0),
            clock,
            ids: self.ids.unwrap_or_else(|| Arc::new(RandomIdGen)),
            webhook_http,
            egress,
            redeliveries,
            refreshes,
            intake,
            in_flight: Arc::new(AtomicI64::new(0)),
            unknown_payments,
            coupon_guard: crate::guess_guard::GuessGuard::default(),
            replays: crate::http::replay::ReplayGuard::new(replay_cache_entries),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        }))
    }

    /// Binds, then serves on the current tokio runtime, with the outbox worker beside.
    ///
    /// # Errors
    /// Any unusable configuration value, or an address that cannot be bound.
    pub async fn start(mut self) -> Result<ServerHandle, StartError> {
        if self.store.is_none() && is_postgres_url(&self.config.database) {
            let store = PostgresStore::connect(&self.config.database).await?;
            self.store = Some(Arc::new(store));
        }
        let app = self.build()?;
        // Before serving: a reservation whose billing key is still in the clear would
        // not be found by it.
        crate::reservations::seal_stored_billing_keys(&app).await?;
        if app.config.vendors.check_at_start {
            check_at_start(&app.gateways).await?;
        }
        let bind = app.config.bind.clone();
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: bind.clone(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr: bind, source })?;
        let (shutdown, watch_shutdown) = watch::channel(false);
        let server_shutdown = watch_shutdown.clone();
        let router = crate::http::router(app.clone());
        let header_read_timeout =
            std::time::Duration::from_millis(app.config.limits.header_read_timeout_ms);
        let server = tokio::spawn(crate::http::serve::serve(
            listener,
            router,
            header_read_timeout,
            server_shutdown,
        ));
        let sweeper = tokio::spawn(crate::sweep::run(app.clone(), watch_shutdown.clone()));
        let reconcile = tokio::spawn(crate::reconcile::run(app.clone(), watch_shutdown.clone()));
        let worker = tokio::spawn(crate::webhooks::outbox::run(app.clone(), watch_shutdown));
        tracing::info!(%addr, "payments-server listening");
        Ok(ServerHandle {
            addr,
            app,
            shutdown,
            tasks: Some((server, worker, sweeper)),
            reconcile: Some(reconcile),
        })
    }
}

/// A running server. Dropping it stops the server without waiting;
/// [`ServerHandle::shutdown`] waits for in-flight work.
pub struct ServerHandle {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: watch::Sender<bool>,
    /// The HTTP server, the outbox worker, the sweep.
    tasks: Option<(JoinHandle<()>, JoinHandle<()>, JoinHandle<()>)>,
    /// The reconciliation worker ([`crate::reconcile`]).
    reconcile: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ServerHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, without a trailing slash.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The store the server reads and writes (for tests and tools that check what was
    /// recorded, e.g. an outbox's depth or a delivery's attempts).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.app.store
    }

    /// Stored record-password hashes checked since the server started (a metric: a
    /// guess the limiter refuses is not counted, so tests and benchmarks see from it
    /// how much hashing a flood of wrong passwords cost).
    pub fn password_checks(&self) -> u64 {
        self.app
            .password_checks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting connections, lets in-flight requests and the outbox's delivery
    /// attempts under way finish (each within `[webhooks] timeout_ms`), and returns when
    /// both are done.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some((server, worker, sweeper)) = self.tasks.take() {
            let _ = server.await;
            let _ = worker.await;
            let _ = sweeper.await;
        }
        if let Some(reconcile) = self.reconcile.take() {
            let _ = reconcile.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

//! The PostgreSQL store (tokio-postgres behind a deadpool pool, TLS with rustls), for
//! several server instances on one database. It keeps the SQLite store's semantics
//! exactly (the shared store suite, `tests/store_suite.rs`, runs the same assertions on
//! both):
//!
//! - every uniqueness rule is a named constraint, and a unique violation comes back as
//!   the [`StoreConflict`] that constraint stands for (`conflict_of`): the database, not
//!   a check before the write, decides, so two instances inserting at once cannot both
//!   pass;
//! - every change of more than one row is one SQL transaction; updates are conditional
//!   on the `version` read, and READ COMMITTED re-checks the condition on the newest row
//!   version, so of two concurrent updates exactly one applies;
//! - migrations are embedded and applied at connect, in one transaction under an
//!   advisory lock, so instances starting together migrate once
//!   (`schema_migrations` records what ran);
//! - the outbox is claimed with `FOR UPDATE SKIP LOCKED` and leased
//!   ([`OutboxStore::claim_deliveries`](crate::store::OutboxStore::claim_deliveries)), and
//!   a write that stores messages sends `NOTIFY payments_outbox` in its transaction:
//!   every instance LISTENs on one connection of its own and wakes its worker, and the
//!   worker's poll interval covers the moments that connection is down.
//!
//! Connection URL: `postgres://user:password@host:port/database?sslmode=require`.
//! `sslmode` is `disable`, `prefer` (the default: TLS when the server offers it) or
//! `require`; TLS always verifies the server's certificate, against the Mozilla roots
//! and, when given, the PEM file named by `sslrootcert=/path/ca.pem` (for a private CA).
//! `pool_size=N` sets the pool's size (default [`DEFAULT_POOL_SIZE`]).

mod certifications;
mod checks;
mod coupons;
mod histories;
mod idempotency;
mod outbox;
mod passwords;
mod reservations;
mod transactions;
mod unknown;

use super::{NewMessage, StoreConflict, StoreError, TransactionWrite};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use payments_core::envelope::EnvelopeKind;
use payments_core::records::VendorCode;
use payments_core::timestamp::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

/// Migrations in order; `schema_migrations` records which ran. They mirror the SQLite
/// store's migrations one for one.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "transactions",
        include_str!("migrations/0002_transactions.sql"),
    ),
    (3, "coupons", include_str!("migrations/0003_coupons.sql")),
    (
        4,
        "order_holds",
        include_str!("migrations/0004_order_holds.sql"),
    ),
    (
        5,
        "password_attempts",
        include_str!("migrations/0005_password_attempts.sql"),
    ),
    (
        6,
        "reservation_deletions",
        include_str!("migrations/0006_reservation_deletions.sql"),
    ),
    (
        7,
        "charge_attempts",
        include_str!("migrations/0007_charge_attempts.sql"),
    ),
    (
        8,
        "outbox_leases",
        include_str!("migrations/0008_outbox_leases.sql"),
    ),
    (
        9,
        "hardening",
        include_str!("migrations/0009_hardening.sql"),
    ),
    (
        10,
        "reconcile",
        include_str!("migrations/0010_reconcile.sql"),
    ),
    (
        11,
        "outbox_streams",
        include_str!("migrations/0011_outbox_streams.sql"),
    ),
];

/// The advisory lock migrations run under (any fixed number; this one spells
/// "paymnts1" in ASCII), so instances starting together migrate one after the other.
const MIGRATION_LOCK: i64 = 0x7061_796d_6e74_7331;

/// The channel a write that stores messages notifies.
pub(crate) const OUTBOX_CHANNEL: &str = "payments_outbox";

/// Connections per instance unless `pool_size` says otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long the listener waits before reconnecting after its connection dropped.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Whether `database` names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`) rather than a SQLite file.
pub fn is_postgres_url(database: &str) -> bool {
    let lower = database.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The PostgreSQL [`Store`](crate::store::Store).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Notified when this instance stored messages, or another one did (LISTEN).
    outbox_wake: Arc<tokio::sync::Notify>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("PostgresStore")
            .field("pool_size", &status.max_size)
            .field("connections", &status.size)
            .finish()
    }
}

/// How connections are secured.
#[derive(Clone)]
enum Tls {
    Off,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

/// The parsed connection settings.
struct Settings {
    config: tokio_postgres::Config,
    tls: Tls,
    pool_size: usize,
}

fn invalid(problem: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(format!("database URL: {problem}"))
}

/// Parses the URL: our own keys (`sslrootcert`, `pool_size`) are taken out before
/// tokio-postgres reads the rest, which refuses keys it does not know.
fn settings(url: &str) -> Result<Settings, StoreError> {
    let mut parsed = url::Url::parse(url.trim()).map_err(invalid)?;
    let mut root_cert = None;
    let mut pool_size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslrootcert" => root_cert = Some(value.into_owned()),
            "pool_size" => {
                pool_size = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| invalid("pool_size must be a number from 1 to 1000"))?;
            }
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    let config: tokio_postgres::Config = parsed.as_str().parse().map_err(invalid)?;
    let tls = match config.get_ssl_mode() {
        tokio_postgres::config::SslMode::Disable => Tls::Off,
        _ => Tls::Rustls(rustls_connector(root_cert.as_deref())?),
    };
    Ok(Settings {
        config,
        tls,
        pool_size,
    })
}

/// A rustls connector trusting the Mozilla roots and the certificates in `root_cert`.
fn rustls_connector(
    root_cert: Option<&str>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = root_cert {
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|e| invalid(format!("sslrootcert {path}: {e}")))?;
        for certificate in certificates {
            let certificate =
                certificate.map_err(|e| invalid(format!("sslrootcert {path}: {e}")))?;
            roots
                .add(certificate)
                .map_err(|e| invalid(format!("sslrootcert {path}: {e}")))?;
        }
    }
    // The ring provider explicitly: the process may link more than one.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl PostgresStore {
    /// Connects to the database at `url`, applies the migrations it lacks (under an
    /// advisory lock, so instances starting together migrate once) and starts
    /// listening for other instances' outbox messages. Needs a tokio runtime.
    ///
    /// # Errors
    /// An unusable URL, a database that cannot be reached, or a migration that fails.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let Settings {
            config,
            tls,
            pool_size,
        } = settings(url)?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            Tls::Off => Manager::from_config(config.clone(), NoTls, manager_config),
            Tls::Rustls(tls) => Manager::from_config(config.clone(), tls.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Engine(format!("connection pool: {e}")))?;
        migrate(&pool).await?;
        let outbox_wake = Arc::new(tokio::sync::Notify::new());
        let listener = tokio::spawn(listen(config, tls, outbox_wake.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                outbox_wake,
                listener,
            }),
        })
    }

    /// A pooled connection.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.inner.pool.get().await.map_err(pool)
    }

    /// Wakes this instance's outbox worker (other instances hear the NOTIFY).
    fn wake_outbox(&self) {
        self.inner.outbox_wake.notify_one();
    }
}

/// Applies the missing migrations in one transaction under [`MIGRATION_LOCK`]: a
/// second instance waits for the first's commit, then finds nothing left to do.
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(self::pool)?;
    let tx = client.transaction().await.map_err(engine)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(engine)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version    INTEGER PRIMARY KEY, \
             name       TEXT NOT NULL, \
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(engine)?;
    let applied: Option<i32> = tx
        .query_one("SELECT MAX(version) FROM schema_migrations", &[])
        .await
        .map_err(engine)?
        .get(0);
    let applied = applied.unwrap_or(0);
    if let Some(newest) = MIGRATIONS.last()
        && applied > newest.0
    {
        return Err(StoreError::Engine(format!(
            "the database is at schema version {applied}, newer than this server's {}: \
             run the newer server (or restore a backup)",
            newest.0
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > applied) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Engine(format!("migration {version} ({name}): {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(engine)?;
    }
    tx.commit().await.map_err(engine)
}

/// Keeps one connection LISTENing on [`OUTBOX_CHANNEL`] and wakes the worker on every
/// notification; reconnects after [`LISTEN_RETRY`] when the connection drops (the
/// worker polls meanwhile, so a message is late, never lost).
async fn listen(config: tokio_postgres::Config, tls: Tls, wake: Arc<tokio::sync::Notify>) {
    loop {
        let outcome = match &tls {
            Tls::Off => listen_once(&config, NoTls, &wake).await,
            Tls::Rustls(tls) => listen_once(&config, tls.clone(), &wake).await,
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "outbox: the LISTEN connection failed; polling until it is back");
        }
        // Whatever was notified while the connection was down is found by this wake.
        wake.notify_one();
        tokio::time::sleep(LISTEN_RETRY).await;
    }
}

async fn listen_once<T>(
    config: &tokio_postgres::Config,
    tls: T,
    wake: &tokio::sync::Notify,
) -> Result<(), tokio_postgres::Error>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    use futures::StreamExt;
    let (client, mut connection) = config.connect(tls).await?;
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {OUTBOX_CHANNEL}");
    let listening = client.batch_execute(&statement);
    tokio::pin!(listening);
    // The LISTEN only completes while the connection is driven: drive both.
    loop {
        tokio::select! {
            done = &mut listening => { done?; break; }
            message = messages.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            },
        }
    }
    // Anything stored before LISTEN took effect.
    wake.notify_one();
    while let Some(message) = messages.next().await {
        if let tokio_postgres::AsyncMessage::Notification(_) = message? {
            wake.notify_one();
        }
    }
    // The client lives to here: dropping it would close the connection.
    Ok(())
}

/// The uniqueness rule a constraint stands for; `None` for constraints that are no
/// rule a caller branches on (a primary key taken by a replayed id is an engine
/// failure, as on SQLite).
fn conflict_of(constraint: &str) -> Option<StoreConflict> {
    match constraint {
        "histories_source" | "reservations_source" => Some(StoreConflict::Source),
        "histories_vendor_uid" | "reservations_vendor_uid" => Some(StoreConflict::VendorUid),
        "transactions_held_order" => Some(StoreConflict::OrderHeld),
        "coupons_code_hash" => Some(StoreConflict::CouponCode),
        _ => None,
    }
}

/// An engine error as a [`StoreError`]: a unique violation of a named rule is that
/// rule's conflict, by the constraint's name (never the message, which is localised).
fn engine(error: tokio_postgres::Error) -> StoreError {
    if let Some(db) = error.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION
            && let Some(conflict) = db.constraint().and_then(conflict_of)
        {
            return StoreError::Conflict(conflict);
        }
        return StoreError::Engine(format!(
            "{}: {}{}",
            db.code().code(),
            db.message(),
            db.constraint()
                .map(|c| format!(" (constraint {c})"))
                .unwrap_or_default()
        ));
    }
    StoreError::Engine(chain(&error))
}

/// A pool failure, with its causes: "error performing TLS handshake" alone does not
/// tell an operator that the server's certificate is not trusted.
fn pool(error: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Engine(format!("connection pool: {}", chain(&error)))
}

/// An error and its sources, joined with `: `.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Timestamps are kept at millisecond precision, as the SQLite store keeps them, so a
/// value reads back equal on both engines.
fn ts(at: &Timestamp) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(*at)
}

fn parse_vendor(text: &str) -> Result<VendorCode, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt("vendor_code"))
}

fn parse_envelope(text: &str) -> Result<EnvelopeKind, StoreError> {
    match text {
        "compat" => Ok(EnvelopeKind::Compat),
        "sealed-v2" => Ok(EnvelopeKind::SealedV2),
        _ => Err(StoreError::Corrupt("envelope")),
    }
}

/// A column read with its type checked: a mismatch is a corrupt value, not a panic.
fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
    column: &'static str,
) -> Result<T, StoreError> {
    row.try_get(index).map_err(|_| StoreError::Corrupt(column))
}

/// Records messages and their outbox rows inside `tx`, and notifies the other
/// instances (PostgreSQL delivers the NOTIFY at commit, and drops it on rollback).
///
/// # Errors
/// Engine failures.
async fn insert_messages(
    tx: &deadpool_postgres::Transaction<'_>,
    messages: &[NewMessage],
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let webhook = tx
        .prepare_cached(
            "INSERT INTO webhooks (id, kind, history_id, body_sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(engine)?;
    let outbox = tx
        .prepare_cached(
            "INSERT INTO outbox (webhook_id, url, envelope, state, attempts, next_attempt_at, \
             created_at, stream, receiver) VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6, $7)",
        )
        .await
        .map_err(engine)?;
    for message in messages {
        let created_at = ts(&message.created_at);
        tx.execute(
            &webhook,
            &[
                &message.id,
                &message.kind.as_str(),
                &message.history_id,
                &message.body_sealed,
                &created_at,
            ],
        )
        .await
        .map_err(engine)?;
        tx.execute(
            &outbox,
            &[
                &message.id,
                &message.url,
                &message.envelope.as_str(),
                &message.created_at.timestamp_millis(),
                &created_at,
                &message.stream,
                &crate::store::receiver_host(&message.url),
            ],
        )
        .await
        .map_err(engine)?;
    }
    tx.execute("SELECT pg_notify($1, '')", &[&OUTBOX_CHANNEL])
        .await
        .map_err(engine)?;
    Ok(())
}

/// Finishes a change inside `tx`: writes the transaction that goes with it and the
/// messages it reports, then commits. `false` (and nothing written: `tx` rolls back on
/// drop) when the transaction's version moved on.
///
/// # Errors
/// Engine failures; [`StoreConflict::OrderHeld`].
async fn commit_change(
    tx: deadpool_postgres::Transaction<'_>,
    transaction: Option<&TransactionWrite>,
    messages: &[NewMessage],
) -> Result<bool, StoreError> {
    if let Some(write) = transaction
        && !transactions::write_transaction_in(&tx, write).await?
    {
        return Ok(false);
    }
    insert_messages(&tx, messages).await?;
    tx.commit().await.map_err(engine)?;
    Ok(true)
}

/// One query's rows on any client or transaction, through the statement cache.
async fn query<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(engine)?;
    client.query(&statement, params).await.map_err(engine)
}

/// One statement's changed-row count on any client or transaction, through the
/// statement cache.
async fn execute<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(engine)?;
    client.execute(&statement, params).await.map_err(engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_from_sqlite_paths() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("postgresql://u@h:5432/db?sslmode=require"));
        assert!(is_postgres_url("PostgreSQL://h/db"));
        assert!(!is_postgres_url("payments.sqlite"));
        assert!(!is_postgres_url(":memory:"));
        assert!(!is_postgres_url("/var/lib/postgres/payments.sqlite"));
    }

    #[test]
    fn every_named_rule_maps_to_its_conflict_and_keys_do_not() {
        assert_eq!(conflict_of("histories_source"), Some(StoreConflict::Source));
        assert_eq!(
            conflict_of("reservations_vendor_uid"),
            Some(StoreConflict::VendorUid)
        );
        assert_eq!(
            conflict_of("transactions_held_order"),
            Some(StoreConflict::OrderHeld)
        );
        assert_eq!(
            conflict_of("coupons_code_hash"),
            Some(StoreConflict::CouponCode)
        );
        assert_eq!(conflict_of("transactions_pkey"), None);
        assert_eq!(conflict_of("histories_pkey"), None);
    }

    #[test]
    fn our_url_keys_are_taken_out_and_bad_ones_named() {
        let parsed = settings("postgres://u:p@127.0.0.1:5/db?sslmode=disable&pool_size=3").unwrap();
        assert_eq!(parsed.pool_size, 3);
        assert_eq!(parsed.config.get_dbname(), Some("db"));
        assert!(matches!(parsed.tls, Tls::Off));
        let parsed = settings("postgres://u@127.0.0.1/db?sslmode=require").unwrap();
        assert!(matches!(parsed.tls, Tls::Rustls(_)));
        assert_eq!(parsed.pool_size, DEFAULT_POOL_SIZE);
        let error = settings("postgres://u@h/db?pool_size=0").err().unwrap();
        assert!(error.to_string().contains("pool_size"), "{error}");
        let error = settings("postgres://u@h/db?sslrootcert=/no/such.pem")
            .err()
            .unwrap();
        assert!(error.to_string().contains("sslrootcert"), "{error}");
        assert!(settings("postgres://u@h/db?no_such_key=1").is_err());
    }

    #[test]
    fn timestamps_keep_milliseconds_as_sqlite_does() {
        let at = chrono::DateTime::from_timestamp(1_780_000_000, 123_456_789).unwrap();
        assert_eq!(ts(&at).timestamp_millis(), at.timestamp_millis());
        assert_eq!(ts(&at).timestamp_subsec_nanos(), 123_000_000);
    }
}

//! The SQLite store (rusqlite, bundled): WAL, migrations embedded and applied at open,
//! one writer connection, a few reader connections so reads are not blocked by writes.
//! Every call runs on tokio's blocking pool, never on an async worker.

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

use transactions::write_transaction_in;

use super::{NewMessage, StoreConflict, StoreError, TransactionWrite};
use payments_core::envelope::EnvelopeKind;
use payments_core::records::{Source, VendorCode};
use payments_core::timestamp::{self, Timestamp};
use rusqlite::{Connection, params};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Migrations in order; `PRAGMA user_version` records how many were applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_transactions.sql"),
    include_str!("../migrations/0003_coupons.sql"),
    include_str!("../migrations/0004_order_holds.sql"),
    include_str!("../migrations/0005_password_attempts.sql"),
    include_str!("../migrations/0006_reservation_deletions.sql"),
    include_str!("../migrations/0007_charge_attempts.sql"),
    include_str!("../migrations/0008_outbox_leases.sql"),
    include_str!("../migrations/0009_hardening.sql"),
    include_str!("../migrations/0010_reconcile.sql"),
    include_str!("../migrations/0011_outbox_streams.sql"),
];

/// How many reader connections a file database gets.
const READERS: usize = 4;
/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 128;

/// The SQLite [`Store`](super::Store).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    /// Notified after a write stored messages (see [`OutboxStore::wait_for_messages`]).
    outbox_wake: tokio::sync::Notify,
    /// Empty for `:memory:`, whose one connection serves reads too.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.inner.readers.len())
            .finish()
    }
}

fn engine(error: rusqlite::Error) -> StoreError {
    StoreError::Engine(error.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies the migrations.
    /// `":memory:"` opens a private in-memory database for tests.
    ///
    /// # Errors
    /// When the file cannot be opened or a migration fails.
    pub fn open(path: &str) -> Result<Self, StoreError> {
        let memory = path == ":memory:";
        let mut writer = Connection::open(path).map_err(engine)?;
        // Every statement is prepared once per connection (`prepare_cached`); the default
        // cache of 16 is smaller than the store's set of statements.
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        configure(&writer, memory)?;
        migrate(&mut writer)?;
        let mut readers = Vec::new();
        if !memory {
            for _ in 0..READERS {
                let reader = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(engine)?;
                reader
                    .busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(engine)?;
                reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                readers.push(Mutex::new(reader));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                outbox_wake: tokio::sync::Notify::new(),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    /// Opens a private in-memory database.
    ///
    /// # Errors
    /// When SQLite cannot allocate it.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::open(":memory:")
    }

    /// Runs `f` on a reader connection: right here when one is idle, else on the
    /// blocking pool, queued on the next reader in turn.
    ///
    /// A read of cached pages takes microseconds, and in WAL mode no writer blocks it;
    /// handing it to the blocking pool cost two thread switches per read, which a
    /// profile of the webhook and read rows showed as the largest single cost.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        for reader in &self.inner.readers {
            if let Ok(connection) = reader.try_lock() {
                return f(&connection);
            }
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            if inner.readers.is_empty() {
                let connection = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
                return f(&connection);
            }
            // Take an idle reader if there is one, else queue on the next in turn.
            for reader in &inner.readers {
                if let Ok(connection) = reader.try_lock() {
                    return f(&connection);
                }
            }
            let index = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let connection = inner.readers[index]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            f(&connection)
        })
        .await
        .map_err(|e| StoreError::Engine(format!("storage task failed: {e}")))?
    }

    /// Runs a change on the writer connection (see [`SqliteStore::write`]); when it
    /// committed (`Ok(true)`) and stored messages, wakes the outbox, so no caller has to.
    async fn write_change<F>(&self, stores_messages: bool, f: F) -> Result<bool, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<bool, StoreError> + Send + 'static,
    {
        let committed = self.write(f).await?;
        if committed && stores_messages {
            self.inner.outbox_wake.notify_one();
        }
        Ok(committed)
    }

    /// Wakes the outbox (a message was put back to pending).
    fn wake_outbox(&self) {
        self.inner.outbox_wake.notify_one();
    }

    /// Runs `f` on the one writer connection: right here when it is free (a commit in
    /// WAL mode with `synchronous = NORMAL` appends to the log without an fsync, tens of
    /// microseconds), else on the blocking pool, queued for it.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if let Ok(mut connection) = self.inner.writer.try_lock() {
            return f(&mut connection);
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut connection)
        })
        .await
        .map_err(|e| StoreError::Engine(format!("storage task failed: {e}")))?
    }
}

fn configure(connection: &Connection, memory: bool) -> Result<(), StoreError> {
    if !memory {
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(engine)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(engine)?;
    }
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .map_err(engine)?;
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(engine)?;
    Ok(())
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let applied: usize = connection
        .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map_err(engine)? as usize;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = connection.transaction().map_err(engine)?;
        tx.execute_batch(migration).map_err(engine)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)
            .map_err(engine)?;
        tx.commit().map_err(engine)?;
    }
    Ok(())
}

/// Whether the query finds a row. Run inside the write transaction, on the one writer
/// connection, a check and the write after it cannot be split by another writer, so the
/// uniqueness rule a write would break is named before the write instead of being read
/// out of an engine message.
fn exists(
    connection: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<bool, StoreError> {
    connection
        .prepare_cached(sql)
        .map_err(engine)?
        .exists(params)
        .map_err(engine)
}

/// Refuses a record whose source or PG uid is taken in `table` (`histories` or
/// `reservations`, whose unique indexes are these two rules). `uid` is the column the PG
/// uid is kept in (`vendor_uid`, or `vendor_uid_hash` for billing keys), the PG and the
/// value.
fn ensure_unique_record(
    connection: &Connection,
    table: &'static str,
    source: &Source,
    uid: (&'static str, VendorCode, &str),
) -> Result<(), StoreError> {
    let by_source = format!(
        "SELECT 1 FROM {table} WHERE source_schema = ?1 AND source_table = ?2 AND source_id = ?3"
    );
    if exists(
        connection,
        &by_source,
        &[&source.schema, &source.table, &source.id],
    )? {
        return Err(StoreError::Conflict(StoreConflict::Source));
    }
    let (column, code, value) = uid;
    let by_uid = format!("SELECT 1 FROM {table} WHERE vendor_code = ?1 AND {column} = ?2");
    if exists(connection, &by_uid, &[&code.as_str(), &value])? {
        return Err(StoreError::Conflict(StoreConflict::VendorUid));
    }
    Ok(())
}

fn ts(at: &Timestamp) -> String {
    timestamp::format(at)
}

fn parse_ts(text: &str, column: &'static str) -> Result<Timestamp, StoreError> {
    timestamp::parse(text).map_err(|_| StoreError::Corrupt(column))
}

fn parse_opt_ts(
    text: Option<String>,
    column: &'static str,
) -> Result<Option<Timestamp>, StoreError> {
    text.map(|t| parse_ts(&t, column)).transpose()
}

fn parse_uuid(text: &str, column: &'static str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(column))
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

/// Records messages and their outbox rows inside `tx`.
///
/// # Errors
/// Engine failures.
fn insert_messages(
    tx: &rusqlite::Transaction<'_>,
    messages: &[NewMessage],
) -> Result<(), StoreError> {
    for message in messages {
        tx.prepare_cached("INSERT INTO webhooks (id, kind, history_id, body_sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
    .map_err(engine)?
    .execute(params![
                message.id.to_string(),
                message.kind.as_str(),
                message.history_id.map(|h| h.to_string()),
                message.body_sealed,
                ts(&message.created_at)
            ],
        )
        .map_err(engine)?;
        tx.prepare_cached(
            "INSERT INTO outbox (webhook_id, url, envelope, state, attempts, next_attempt_at, \
             created_at, stream, receiver) VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5, ?6, ?7)",
        )
        .map_err(engine)?
        .execute(params![
            message.id.to_string(),
            message.url,
            message.envelope.as_str(),
            message.created_at.timestamp_millis(),
            ts(&message.created_at),
            message.stream,
            crate::store::receiver_host(&message.url)
        ])
        .map_err(engine)?;
    }
    Ok(())
}

/// Finishes a change inside `tx`: writes the transaction that goes with it and the
/// messages it reports, then commits. `false` (and nothing written: `tx` rolls back on
/// drop) when the transaction's version moved on.
///
/// # Errors
/// Engine failures.
fn commit_change(
    tx: rusqlite::Transaction<'_>,
    transaction: Option<&TransactionWrite>,
    messages: &[NewMessage],
) -> Result<bool, StoreError> {
    if let Some(write) = transaction
        && !write_transaction_in(&tx, write)?
    {
        return Ok(false);
    }
    insert_messages(&tx, messages)?;
    tx.commit().map_err(engine)?;
    Ok(true)
}

/// Rows the engine's unit tests write.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::store::{StoredHistory, StoredTransaction};
    use payments_core::envelope::EnvelopeKind;
    use payments_core::money::{Currency, Money};
    use payments_core::records::charges::TransactionKind;
    use payments_core::records::{Source, Vendor, VendorCode};
    use payments_core::timestamp::{self, Timestamp};
    use payments_core::transaction::TransactionStatus;
    use payments_core::vendor::PaymentStatus;
    use uuid::Uuid;

    pub fn at(text: &str) -> Timestamp {
        timestamp::parse(text).unwrap()
    }

    pub fn source(id: &str) -> Source {
        Source {
            schema: "shop".into(),
            table: "orders".into(),
            id: id.into(),
        }
    }

    pub fn vendor(uid: &str) -> Vendor {
        Vendor {
            code: VendorCode::TossPayments,
            store_id: "main".into(),
            uid: uid.into(),
        }
    }

    pub fn history(id: u128, source_id: &str, uid: &str) -> StoredHistory {
        StoredHistory {
            id: Uuid::from_u128(id),
            vendor: vendor(uid),
            order_id: source_id.into(),
            source: source(source_id),
            price: Money::new(20_000, Currency::Krw).unwrap(),
            refund: None,
            webhook_url: None,
            envelope: EnvelopeKind::SealedV2,
            password_hash: "hash".into(),
            data_sealed: "sealed-data".into(),
            cancels_sealed: "sealed-cancels".into(),
            status: PaymentStatus::Paid,
            created_at: at("2026-06-01T00:00:00.000Z"),
            paid_at: Some(at("2026-06-01T00:00:01.000Z")),
            cancelled_at: None,
            version: 0,
        }
    }

    pub fn transaction(id: u128, order_id: &str, holds_order: bool) -> StoredTransaction {
        StoredTransaction {
            id: Uuid::from_u128(id),
            kind: TransactionKind::Charge,
            order_id: order_id.into(),
            status: TransactionStatus::Pending,
            history_id: None,
            body_sealed: "sealed-transaction".into(),
            password_hash: "hash".into(),
            holds_order,
            created_at: at("2026-06-01T00:00:00.000Z"),
            attempt_until: None,
            version: 0,
        }
    }
}

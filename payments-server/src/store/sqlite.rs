//! The SQLite store (rusqlite, bundled): WAL, migrations embedded and applied at open,
//! one writer connection, a few reader connections so reads are not blocked by writes.
//! Every call runs on tokio's blocking pool, never on an async worker.

use super::{
    Attempt, AttemptOutcome, Delivery, DeliveryState, IdempotencyBegin, MessageKind, NewMessage,
    Store, StoreConflict, StoreError, StoredHistory, StoredReservation, StoredTransaction,
    TransactionWrite,
};
use async_trait::async_trait;
use payments_core::envelope::EnvelopeKind;
use payments_core::records::{Source, Vendor, VendorCode};
use payments_core::timestamp::{self, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Migrations in order; `PRAGMA user_version` records how many were applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_transactions.sql"),
    include_str!("migrations/0003_coupons.sql"),
    include_str!("migrations/0004_order_holds.sql"),
];

/// How many reader connections a file database gets.
const READERS: usize = 4;

/// The SQLite [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
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

pub(crate) fn engine(error: rusqlite::Error) -> StoreError {
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
                readers.push(Mutex::new(reader));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
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

    /// Runs `f` on a reader connection, on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
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

    /// Runs `f` on the one writer connection, on the blocking pool.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
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
pub(crate) fn exists(
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
/// `reservations`, whose unique indexes are these two rules).
fn ensure_unique_record(
    connection: &Connection,
    table: &'static str,
    source: &Source,
    vendor: &Vendor,
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
    let by_uid = format!("SELECT 1 FROM {table} WHERE vendor_code = ?1 AND vendor_uid = ?2");
    if exists(connection, &by_uid, &[&vendor.code.as_str(), &vendor.uid])? {
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

const HISTORY_COLUMNS: &str = "id, vendor_code, store_id, vendor_uid, order_id, source_schema, \
     source_table, source_id, currency, price, refund, webhook_url, envelope, password_hash, \
     data_sealed, cancels_sealed, status, created_at, paid_at, cancelled_at, version";

/// The raw columns of a history row, converted outside rusqlite's row callback so a
/// corrupt value is a typed error.
struct HistoryRow {
    text: [String; 10],
    price: i64,
    refund: Option<i64>,
    webhook_url: Option<String>,
    envelope: String,
    data_sealed: String,
    cancels_sealed: String,
    created_at: String,
    paid_at: Option<String>,
    cancelled_at: Option<String>,
    version: i64,
}

fn history_row(row: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        text: [
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
            row.get(8)?,
            row.get(13)?,
        ],
        price: row.get(9)?,
        refund: row.get(10)?,
        webhook_url: row.get(11)?,
        envelope: row.get(12)?,
        data_sealed: row.get(14)?,
        cancels_sealed: row.get(15)?,
        // status is column 16, read below with the text columns' neighbours
        created_at: row.get(17)?,
        paid_at: row.get(18)?,
        cancelled_at: row.get(19)?,
        version: row.get(20)?,
    })
}

fn history_from(row: HistoryRow, status: String) -> Result<StoredHistory, StoreError> {
    let [
        id,
        vendor_code,
        store_id,
        vendor_uid,
        order_id,
        schema,
        table,
        source_id,
        currency,
        password_hash,
    ] = row.text;
    let code = parse_vendor(&vendor_code)?;
    Ok(StoredHistory {
        id: parse_uuid(&id, "id")?,
        vendor: Vendor {
            code,
            store_id,
            uid: vendor_uid,
        },
        order_id,
        source: Source {
            schema,
            table,
            id: source_id,
        },
        currency,
        price: row.price,
        refund: row.refund,
        webhook_url: row.webhook_url,
        envelope: parse_envelope(&row.envelope)?,
        password_hash,
        data_sealed: row.data_sealed,
        cancels_sealed: row.cancels_sealed,
        status,
        created_at: parse_ts(&row.created_at, "created_at")?,
        paid_at: parse_opt_ts(row.paid_at, "paid_at")?,
        cancelled_at: parse_opt_ts(row.cancelled_at, "cancelled_at")?,
        version: row.version,
    })
}

fn query_history(
    connection: &Connection,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Option<StoredHistory>, StoreError> {
    let sql = format!("SELECT {HISTORY_COLUMNS} FROM histories WHERE {condition}");
    let mut statement = connection.prepare_cached(&sql).map_err(engine)?;
    let found = statement
        .query_row(params, |row| {
            Ok((history_row(row)?, row.get::<_, String>(16)?))
        })
        .optional()
        .map_err(engine)?;
    found
        .map(|(row, status)| history_from(row, status))
        .transpose()
}

const RESERVATION_COLUMNS: &str = "id, vendor_code, store_id, vendor_uid, source_schema, \
     source_table, source_id, title, password_hash, data_sealed, created_at";

fn query_reservation(
    connection: &Connection,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Option<StoredReservation>, StoreError> {
    let sql = format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE {condition}");
    let mut statement = connection.prepare_cached(&sql).map_err(engine)?;
    let found = statement
        .query_row(params, |row| {
            let mut text: Vec<String> = Vec::with_capacity(11);
            for index in 0..11 {
                text.push(row.get(index)?);
            }
            Ok(text)
        })
        .optional()
        .map_err(engine)?;
    let Some(text) = found else { return Ok(None) };
    let [
        id,
        code,
        store_id,
        uid,
        schema,
        table,
        source_id,
        title,
        password_hash,
        data_sealed,
        created_at,
    ]: [String; 11] = text
        .try_into()
        .map_err(|_| StoreError::Corrupt("reservations"))?;
    Ok(Some(StoredReservation {
        id: parse_uuid(&id, "id")?,
        vendor: Vendor {
            code: parse_vendor(&code)?,
            store_id,
            uid,
        },
        source: Source {
            schema,
            table,
            id: source_id,
        },
        title,
        password_hash,
        data_sealed,
        created_at: parse_ts(&created_at, "created_at")?,
    }))
}

/// Records messages and their outbox rows inside `tx`.
///
/// # Errors
/// Engine failures.
pub(crate) fn insert_messages(
    tx: &rusqlite::Transaction<'_>,
    messages: &[NewMessage],
) -> Result<(), StoreError> {
    for message in messages {
        tx.execute(
            "INSERT INTO webhooks (id, kind, history_id, body_sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                message.id.to_string(),
                message.kind.as_str(),
                message.history_id.map(|h| h.to_string()),
                message.body_sealed,
                ts(&message.created_at)
            ],
        )
        .map_err(engine)?;
        tx.execute(
            "INSERT INTO outbox (webhook_id, url, envelope, state, attempts, next_attempt_at, created_at) \
             VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5)",
            params![
                message.id.to_string(),
                message.url,
                message.envelope.as_str(),
                message.created_at.timestamp_millis(),
                ts(&message.created_at)
            ],
        )
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
pub(crate) fn commit_change(
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

/// Writes a transaction inside `tx`; `false` when an update's version moved on.
///
/// # Errors
/// Engine failures.
pub(crate) fn write_transaction_in(
    tx: &rusqlite::Transaction<'_>,
    write: &TransactionWrite,
) -> Result<bool, StoreError> {
    match write {
        TransactionWrite::Insert(t) => {
            if t.holds_order
                && exists(
                    tx,
                    "SELECT 1 FROM transactions WHERE kind = ?1 AND order_id = ?2 AND holds_order = 1",
                    &[&t.kind, &t.order_id],
                )?
            {
                return Err(StoreError::Conflict(StoreConflict::OrderHeld));
            }
            tx.execute(
                "INSERT INTO transactions (id, kind, order_id, status, history_id, body_sealed, password_hash, created_at, version, holds_order) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    t.id.to_string(),
                    t.kind,
                    t.order_id,
                    t.status,
                    t.history_id.map(|h| h.to_string()),
                    t.body_sealed,
                    t.password_hash,
                    ts(&t.created_at),
                    t.version,
                    t.holds_order,
                ],
            )
            .map_err(engine)?;
            Ok(true)
        }
        TransactionWrite::Update(t) => {
            let changed = tx
                .execute(
                    "UPDATE transactions SET status = ?2, history_id = ?3, body_sealed = ?4, \
                     holds_order = ?6, version = version + 1 WHERE id = ?1 AND version = ?5",
                    params![
                        t.id.to_string(),
                        t.status,
                        t.history_id.map(|h| h.to_string()),
                        t.body_sealed,
                        t.version,
                        t.holds_order,
                    ],
                )
                .map_err(engine)?;
            Ok(changed == 1)
        }
    }
}

const TRANSACTION_COLUMNS: &str = "id, kind, order_id, status, history_id, body_sealed, \
     password_hash, created_at, version, holds_order";

type TransactionRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    bool,
);

fn transaction_row(row: &Row<'_>) -> rusqlite::Result<TransactionRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn query_transactions(
    connection: &Connection,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<StoredTransaction>, StoreError> {
    let sql = format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE {condition} ORDER BY created_at, id"
    );
    let mut statement = connection.prepare_cached(&sql).map_err(engine)?;
    let rows = statement
        .query_map(params, transaction_row)
        .map_err(engine)?;
    let mut out = Vec::new();
    for row in rows {
        let (
            id,
            kind,
            order_id,
            status,
            history_id,
            body_sealed,
            password_hash,
            created_at,
            version,
            holds_order,
        ) = row.map_err(engine)?;
        out.push(StoredTransaction {
            id: parse_uuid(&id, "id")?,
            kind,
            order_id,
            status,
            history_id: history_id
                .map(|h| parse_uuid(&h, "history_id"))
                .transpose()?,
            body_sealed,
            password_hash,
            holds_order,
            created_at: parse_ts(&created_at, "created_at")?,
            version,
        });
    }
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<(), StoreError> {
        let h = history.clone();
        let transaction = transaction.cloned();
        let messages = messages.to_vec();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            ensure_unique_record(&tx, "histories", &h.source, &h.vendor)?;
            tx
                .prepare_cached(&format!(
                    "INSERT INTO histories ({HISTORY_COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
                ))
                .map_err(engine)?
                .execute(params![
                    h.id.to_string(),
                    h.vendor.code.as_str(),
                    h.vendor.store_id,
                    h.vendor.uid,
                    h.order_id,
                    h.source.schema,
                    h.source.table,
                    h.source.id,
                    h.currency,
                    h.price,
                    h.refund,
                    h.webhook_url,
                    h.envelope.as_str(),
                    h.password_hash,
                    h.data_sealed,
                    h.cancels_sealed,
                    h.status,
                    ts(&h.created_at),
                    h.paid_at.as_ref().map(ts),
                    h.cancelled_at.as_ref().map(ts),
                    h.version,
                ])
                .map_err(engine)?;
            // The transaction that approves the history must still be the one read.
            if commit_change(tx, transaction.as_ref(), &messages)? {
                Ok(())
            } else {
                Err(StoreError::Conflict(StoreConflict::TransactionMoved))
            }
        })
        .await
    }

    async fn history_by_id(&self, id: Uuid) -> Result<Option<StoredHistory>, StoreError> {
        self.read(move |c| query_history(c, "id = ?1", &[&id.to_string()]))
            .await
    }

    async fn history_by_source(
        &self,
        source: &Source,
    ) -> Result<Option<StoredHistory>, StoreError> {
        let s = source.clone();
        self.read(move |c| {
            query_history(
                c,
                "source_schema = ?1 AND source_table = ?2 AND source_id = ?3",
                &[&s.schema, &s.table, &s.id],
            )
        })
        .await
    }

    async fn history_by_vendor_uid(
        &self,
        vendor_code: &str,
        uid: &str,
    ) -> Result<Option<StoredHistory>, StoreError> {
        let (code, uid) = (vendor_code.to_owned(), uid.to_owned());
        self.read(move |c| query_history(c, "vendor_code = ?1 AND vendor_uid = ?2", &[&code, &uid]))
            .await
    }

    async fn history_by_order_id(
        &self,
        vendor_code: &str,
        order_id: &str,
    ) -> Result<Option<StoredHistory>, StoreError> {
        let (code, order) = (vendor_code.to_owned(), order_id.to_owned());
        self.read(move |c| query_history(c, "vendor_code = ?1 AND order_id = ?2", &[&code, &order]))
            .await
    }

    async fn update_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let h = history.clone();
        let transaction = transaction.cloned();
        let messages = messages.to_vec();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE histories SET refund = ?1, data_sealed = ?2, cancels_sealed = ?3, \
                     status = ?4, paid_at = ?5, cancelled_at = ?6, version = version + 1 \
                     WHERE id = ?7 AND version = ?8",
                )
                .map_err(engine)?
                .execute(params![
                    h.refund,
                    h.data_sealed,
                    h.cancels_sealed,
                    h.status,
                    h.paid_at.as_ref().map(ts),
                    h.cancelled_at.as_ref().map(ts),
                    h.id.to_string(),
                    h.version,
                ])
                .map_err(engine)?;
            if changed == 0 {
                return Ok(false);
            }
            commit_change(tx, transaction.as_ref(), &messages)
        })
        .await
    }

    async fn write_transaction(
        &self,
        transaction: &TransactionWrite,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let write = transaction.clone();
        let messages = messages.to_vec();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            commit_change(tx, Some(&write), &messages)
        })
        .await
    }

    async fn transaction_by_id(&self, id: Uuid) -> Result<Option<StoredTransaction>, StoreError> {
        self.read(move |c| Ok(query_transactions(c, "id = ?1", &[&id.to_string()])?.pop()))
            .await
    }

    async fn transaction_by_history(
        &self,
        history_id: Uuid,
    ) -> Result<Option<StoredTransaction>, StoreError> {
        self.read(move |c| {
            Ok(query_transactions(c, "history_id = ?1", &[&history_id.to_string()])?.pop())
        })
        .await
    }

    async fn transactions_by_order(
        &self,
        kind: &str,
        order_id: &str,
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        let (kind, order) = (kind.to_owned(), order_id.to_owned());
        self.read(move |c| query_transactions(c, "kind = ?1 AND order_id = ?2", &[&kind, &order]))
            .await
    }

    async fn insert_reservation(&self, reservation: &StoredReservation) -> Result<(), StoreError> {
        let r = reservation.clone();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            ensure_unique_record(&tx, "reservations", &r.source, &r.vendor)?;
            tx.prepare_cached(&format!(
                "INSERT INTO reservations ({RESERVATION_COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))
            .map_err(engine)?
            .execute(params![
                r.id.to_string(),
                r.vendor.code.as_str(),
                r.vendor.store_id,
                r.vendor.uid,
                r.source.schema,
                r.source.table,
                r.source.id,
                r.title,
                r.password_hash,
                r.data_sealed,
                ts(&r.created_at),
            ])
            .map_err(engine)?;
            tx.commit().map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn reservation_by_id(&self, id: Uuid) -> Result<Option<StoredReservation>, StoreError> {
        self.read(move |c| query_reservation(c, "id = ?1", &[&id.to_string()]))
            .await
    }

    async fn reservation_by_source(
        &self,
        source: &Source,
    ) -> Result<Option<StoredReservation>, StoreError> {
        let s = source.clone();
        self.read(move |c| {
            query_reservation(
                c,
                "source_schema = ?1 AND source_table = ?2 AND source_id = ?3",
                &[&s.schema, &s.table, &s.id],
            )
        })
        .await
    }

    async fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.read(move |c| {
            let mut statement = c
                .prepare_cached(
                    "SELECT o.id, o.webhook_id, w.body_sealed, o.url, o.envelope, o.attempts \
                     FROM outbox o JOIN webhooks w ON w.id = o.webhook_id \
                     WHERE o.state = 'pending' AND o.next_attempt_at <= ?1 \
                     ORDER BY o.next_attempt_at, o.id LIMIT ?2",
                )
                .map_err(engine)?;
            let rows = statement
                .query_map(params![now_ms, limit as i64], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, i64>(5)?,
                    ))
                })
                .map_err(engine)?;
            let mut out = Vec::new();
            for row in rows {
                let (outbox_id, webhook_id, body_sealed, url, envelope, attempts) =
                    row.map_err(engine)?;
                out.push(Delivery {
                    outbox_id,
                    webhook_id: parse_uuid(&webhook_id, "webhook_id")?,
                    body_sealed,
                    url,
                    envelope: parse_envelope(&envelope)?,
                    attempts: attempts as u32,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'",
                [],
                |row| row.get::<_, Option<i64>>(0),
            )
            .map_err(engine)
        })
        .await
    }

    async fn record_attempt(
        &self,
        outbox_id: i64,
        attempt: &Attempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        let attempt = attempt.clone();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            tx.execute(
                "INSERT INTO delivery_attempts (outbox_id, attempt, at, status, body_excerpt, error) \
                 VALUES (?1, (SELECT attempts + 1 FROM outbox WHERE id = ?1), ?2, ?3, ?4, ?5)",
                params![
                    outbox_id,
                    ts(&attempt.at),
                    attempt.status,
                    attempt.body_excerpt,
                    attempt.error
                ],
            )
            .map_err(engine)?;
            match outcome {
                AttemptOutcome::Delivered => tx.execute(
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2 WHERE id = ?1",
                    params![outbox_id, ts(&attempt.at)],
                ),
                AttemptOutcome::RetryAt(at) => tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1",
                    params![outbox_id, at],
                ),
                AttemptOutcome::GiveUp => tx.execute(
                    "UPDATE outbox SET state = 'failed', attempts = attempts + 1 WHERE id = ?1",
                    params![outbox_id],
                ),
            }
            .map_err(engine)?;
            tx.commit().map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn redeliver(&self, webhook_id: Uuid, now_ms: i64) -> Result<bool, StoreError> {
        self.write(move |connection| {
            let changed = connection
                .execute(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2 WHERE webhook_id = ?1",
                    params![webhook_id.to_string(), now_ms],
                )
                .map_err(engine)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn message_info(
        &self,
        webhook_id: Uuid,
    ) -> Result<Option<(MessageKind, Option<Uuid>)>, StoreError> {
        self.read(move |c| {
            let found: Option<(String, Option<String>)> = c
                .query_row(
                    "SELECT kind, history_id FROM webhooks WHERE id = ?1",
                    [webhook_id.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(engine)?;
            let Some((kind, history)) = found else {
                return Ok(None);
            };
            let kind = match kind.as_str() {
                "webhook" => MessageKind::Webhook,
                "event" => MessageKind::Event,
                _ => return Err(StoreError::Corrupt("webhooks.kind")),
            };
            let history = history.map(|h| parse_uuid(&h, "history_id")).transpose()?;
            Ok(Some((kind, history)))
        })
        .await
    }

    async fn delivery_state(&self, webhook_id: Uuid) -> Result<Option<DeliveryState>, StoreError> {
        self.read(move |c| {
            c.query_row(
                "SELECT state, attempts FROM outbox WHERE webhook_id = ?1",
                [webhook_id.to_string()],
                |row| {
                    Ok(DeliveryState {
                        state: row.get(0)?,
                        attempts: row.get::<_, i64>(1)? as u32,
                    })
                },
            )
            .optional()
            .map_err(engine)
        })
        .await
    }

    async fn delivery_attempts(&self, webhook_id: Uuid) -> Result<Vec<Attempt>, StoreError> {
        self.read(move |c| {
            let mut statement = c
                .prepare_cached(
                    "SELECT a.at, a.status, a.body_excerpt, a.error FROM delivery_attempts a \
                     JOIN outbox o ON o.id = a.outbox_id WHERE o.webhook_id = ?1 ORDER BY a.id",
                )
                .map_err(engine)?;
            let rows = statement
                .query_map([webhook_id.to_string()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                    ))
                })
                .map_err(engine)?;
            let mut out = Vec::new();
            for row in rows {
                let (at, status, body_excerpt, error) = row.map_err(engine)?;
                out.push(Attempt {
                    at: parse_ts(&at, "at")?,
                    status: status.map(|s| s as u16),
                    body_excerpt,
                    error,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn outbox_depth(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
                [],
                |row| row.get(0),
            )
            .map_err(engine)
        })
        .await
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        route: &str,
        request_hash: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<IdempotencyBegin, StoreError> {
        let (key, route, hash) = (key.to_owned(), route.to_owned(), request_hash.to_owned());
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let existing: Option<(String, String, Option<i64>, Option<String>, i64)> = tx
                .query_row(
                    "SELECT request_hash, state, status, body_sealed, started_at FROM idempotency \
                     WHERE key = ?1 AND route = ?2",
                    params![key, route],
                    |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                        ))
                    },
                )
                .optional()
                .map_err(engine)?;
            let outcome = match existing {
                None => {
                    tx.execute(
                        "INSERT INTO idempotency (key, route, request_hash, state, started_at) \
                         VALUES (?1, ?2, ?3, 'in_flight', ?4)",
                        params![key, route, hash, now_ms],
                    )
                    .map_err(engine)?;
                    IdempotencyBegin::Proceed
                }
                Some((stored_hash, _, _, _, _)) if stored_hash != hash => {
                    IdempotencyBegin::Mismatch
                }
                Some((_, state, Some(status), Some(body), _)) if state == "done" => {
                    IdempotencyBegin::Replay {
                        status: status as u16,
                        body_sealed: body,
                    }
                }
                Some((_, _, _, _, started_at)) if started_at < stale_before_ms => {
                    tx.execute(
                        "UPDATE idempotency SET started_at = ?3 WHERE key = ?1 AND route = ?2",
                        params![key, route, now_ms],
                    )
                    .map_err(engine)?;
                    IdempotencyBegin::Proceed
                }
                Some(_) => IdempotencyBegin::InFlight,
            };
            tx.commit().map_err(engine)?;
            Ok(outcome)
        })
        .await
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        route: &str,
        status: u16,
        body_sealed: &str,
    ) -> Result<(), StoreError> {
        let (key, route, body) = (key.to_owned(), route.to_owned(), body_sealed.to_owned());
        self.write(move |connection| {
            connection
                .execute(
                    "UPDATE idempotency SET state = 'done', status = ?3, body_sealed = ?4 \
                     WHERE key = ?1 AND route = ?2",
                    params![key, route, status, body],
                )
                .map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn idempotency_abandon(&self, key: &str, route: &str) -> Result<(), StoreError> {
        let (key, route) = (key.to_owned(), route.to_owned());
        self.write(move |connection| {
            connection
                .execute(
                    "DELETE FROM idempotency WHERE key = ?1 AND route = ?2 AND state = 'in_flight'",
                    params![key, route],
                )
                .map_err(engine)?;
            Ok(())
        })
        .await
    }
}

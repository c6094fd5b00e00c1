//! Preloading histories fast: rows are sealed exactly as the server seals them (same
//! data key, the server's own [`HistorySealer`]) on every core,
//! then written straight into the server's SQLite file in one transaction, before the
//! server opens it. A million rows take seconds instead of the hours a million PG
//! payments plus API calls would. The history-read rows then read them through the real
//! API, so a drift between this writer and the server's reader shows up as errors.
//!
//! On PostgreSQL ([`insert_postgres`]) the same sealed rows go in through the store's own
//! port, a few at a time: slower per row, but only the `history-read` rows use it.

use crate::error::BenchError;
use crate::harness::{PASSWORD, STORE};
use payments_core::envelope::EnvelopeKind;
use payments_core::money::{Currency, Money};
use payments_core::records::{CancelHistory, VendorCode};
use payments_core::records::{Source, Vendor};
use payments_core::vendor::PaymentStatus;
use payments_server::keys::HistorySealer;
use payments_server::store::{HistoryStore, PostgresStore, SqliteStore, StoredHistory};
use rusqlite::params;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Rows sealed per parallel batch.
const BATCH: usize = 20_000;

/// One group of histories to preload, all with the password [`PASSWORD`] under the
/// server's keyed record-password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreloadSet {
    /// How many.
    pub count: usize,
    /// Source ids and vendor uids are `{prefix}-{n}`; unique per database.
    pub prefix: String,
}

/// What a set became.
#[derive(Debug, Clone)]
pub struct Preloaded {
    /// The histories' ids, in insertion order.
    pub ids: Vec<Uuid>,
    /// How long sealing and writing them took.
    pub elapsed: Duration,
}

/// The column list, in the order the server's store writes it.
const COLUMNS: &str = "id, vendor_code, store_id, vendor_uid, order_id, source_schema, \
     source_table, source_id, currency, price, refund, webhook_url, envelope, password_hash, \
     data_sealed, cancels_sealed, status, created_at, paid_at, cancelled_at, version";

struct SealedRow {
    id: Uuid,
    data: String,
    cancels: String,
}

fn engine(what: &str, error: rusqlite::Error) -> BenchError {
    BenchError::Setup(format!("preload {what}: {error}"))
}

/// Creates the database at `path` (the server's migrations) and writes every set into it.
/// The Toss payment `data` is stored as each history's PG object.
///
/// # Errors
/// When the database cannot be created or written.
pub fn bulk_insert(
    path: &Path,
    keys: &HistorySealer,
    sets: &[PreloadSet],
    data: &Value,
) -> Result<Vec<Preloaded>, BenchError> {
    let path_text = path.to_string_lossy().into_owned();
    // The server's own open applies its migrations; dropping it closes the file.
    drop(
        SqliteStore::open(&path_text)
            .map_err(|e| BenchError::Setup(format!("preload open: {e}")))?,
    );
    let mut connection = rusqlite::Connection::open(path).map_err(|e| engine("open", e))?;
    // A bulk load of a scratch file: no journal (a WAL would hold every page twice and
    // grow its index with one huge transaction), no fsync, a big page cache. The server
    // switches the file back to WAL when it opens it.
    connection
        .execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;",
        )
        .map_err(|e| engine("pragmas", e))?;
    let now = payments_core::timestamp::format(&chrono::Utc::now());
    let data =
        serde_json::to_vec(data).map_err(|e| BenchError::Setup(format!("preload data: {e}")))?;
    let cancels = serde_json::to_vec(&Vec::<CancelHistory>::new())
        .map_err(|e| BenchError::Setup(format!("preload cancels: {e}")))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut results = Vec::with_capacity(sets.len());
    for set in sets {
        let started = Instant::now();
        // One hash per set: every record shares the password, and a read checks it
        // against its own row's copy all the same.
        let password_hash = keys.password_hash(PASSWORD);
        // Ids in ascending order and zero-padded names, so that every index is appended
        // to rather than split at random: the same B-trees (denser pages) in a fraction
        // of the time. Reads pick records at random, so the order is invisible to them.
        let mut all_ids: Vec<Uuid> = (0..set.count).map(|_| Uuid::new_v4()).collect();
        // Byte order is the order of the hyphenated lowercase text the column holds.
        all_ids.sort_unstable();
        let mut ids = Vec::with_capacity(set.count);
        let tx = connection.transaction().map_err(|e| engine("begin", e))?;
        {
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO histories ({COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, NULL, ?11, ?12, ?13, ?14, ?15, ?16, ?16, NULL, 0)"
                ))
                .map_err(|e| engine("prepare", e))?;
            let mut start = 0;
            while start < set.count {
                let end = (start + BATCH).min(set.count);
                let rows = seal_batch(keys, &data, &cancels, &all_ids[start..end], threads)?;
                for (offset, row) in rows.into_iter().enumerate() {
                    let name = format!("{}-{:09}", set.prefix, start + offset);
                    insert
                        .execute(params![
                            row.id.to_string(),
                            VendorCode::TossPayments.as_str(),
                            STORE,
                            name,
                            name,
                            "bench",
                            "orders",
                            name,
                            "KRW",
                            15_000_i64,
                            EnvelopeKind::SealedV2.as_str(),
                            password_hash,
                            row.data,
                            row.cancels,
                            "paid",
                            now,
                        ])
                        .map_err(|e| engine("insert", e))?;
                    ids.push(row.id);
                }
                start = end;
            }
        }
        tx.commit().map_err(|e| engine("commit", e))?;
        results.push(Preloaded {
            ids,
            elapsed: started.elapsed(),
        });
    }
    Ok(results)
}

/// Seals `ids.len()` rows on `threads` threads (AES-CBC + HMAC per field is most of the
/// cost); `data` and `cancels` are the JSON plaintexts.
fn seal_batch(
    keys: &HistorySealer,
    data: &[u8],
    cancels: &[u8],
    ids: &[Uuid],
    threads: usize,
) -> Result<Vec<SealedRow>, BenchError> {
    let per_thread = ids.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = ids
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&id| SealedRow {
                            id,
                            data: keys.seal_data(id, data),
                            cancels: keys.seal_cancels(id, cancels),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut rows = Vec::with_capacity(ids.len());
        for worker in workers {
            let sealed = worker
                .join()
                .map_err(|_| BenchError::Setup("preload: a sealing thread panicked".into()))?;
            rows.extend(sealed);
        }
        Ok(rows)
    })
}

/// Rows written at once by [`insert_postgres`].
const PG_CONCURRENCY: usize = 16;

/// Migrates the PostgreSQL database at `url` (the server's own connect) and writes every
/// set into it through [`HistoryStore::insert_history`], sealed as [`bulk_insert`] seals.
///
/// # Errors
/// When the database cannot be reached or a row is refused.
pub async fn insert_postgres(
    url: &str,
    keys: &HistorySealer,
    sets: &[PreloadSet],
    data: &Value,
) -> Result<Vec<Preloaded>, BenchError> {
    use futures::StreamExt;
    let store = PostgresStore::connect(url)
        .await
        .map_err(|e| BenchError::Setup(format!("preload connect: {e}")))?;
    let data =
        serde_json::to_vec(data).map_err(|e| BenchError::Setup(format!("preload data: {e}")))?;
    let cancels = serde_json::to_vec(&Vec::<CancelHistory>::new())
        .map_err(|e| BenchError::Setup(format!("preload cancels: {e}")))?;
    let password_hash = keys.password_hash(PASSWORD);
    let price = Money::new(15_000, Currency::Krw)
        .map_err(|e| BenchError::Setup(format!("preload price: {e}")))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let now = chrono::Utc::now();
    let mut results = Vec::with_capacity(sets.len());
    for set in sets {
        let started = Instant::now();
        let ids: Vec<Uuid> = (0..set.count).map(|_| Uuid::new_v4()).collect();
        let rows = seal_batch(keys, &data, &cancels, &ids, threads)?;
        let histories: Vec<StoredHistory> = rows
            .into_iter()
            .enumerate()
            .map(|(n, row)| {
                let name = format!("{}-{:09}", set.prefix, n);
                StoredHistory {
                    id: row.id,
                    vendor: Vendor {
                        code: VendorCode::TossPayments,
                        store_id: STORE.into(),
                        uid: name.clone(),
                    },
                    order_id: name.clone(),
                    source: Source {
                        schema: "bench".into(),
                        table: "orders".into(),
                        id: name,
                    },
                    price,
                    refund: None,
                    webhook_url: None,
                    envelope: EnvelopeKind::SealedV2,
                    password_hash: password_hash.clone(),
                    data_sealed: row.data,
                    cancels_sealed: row.cancels,
                    status: PaymentStatus::Paid,
                    created_at: now,
                    paid_at: Some(now),
                    cancelled_at: None,
                    version: 0,
                }
            })
            .collect();
        let failures: Vec<String> = futures::stream::iter(histories.iter())
            .map(|history| {
                let store = store.clone();
                async move { store.insert_history(history, None, &[]).await }
            })
            .buffer_unordered(PG_CONCURRENCY)
            .filter_map(|written| async move { written.err().map(|e| e.to_string()) })
            .collect()
            .await;
        if let Some(first) = failures.first() {
            return Err(BenchError::Setup(format!(
                "preload: {} rows refused, the first: {first}",
                failures.len()
            )));
        }
        results.push(Preloaded {
            ids,
            elapsed: started.elapsed(),
        });
    }
    Ok(results)
}

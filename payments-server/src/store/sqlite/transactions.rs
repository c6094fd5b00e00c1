//! [`TransactionStore`] on SQLite. A transaction that holds its order is refused with
//! [`StoreConflict::OrderHeld`] while another one holds it.

use super::{SqliteStore, commit_change, engine, exists, parse_opt_ts, parse_ts, parse_uuid, ts};
use crate::store::{
    NewMessage, StoreConflict, StoreError, StoredTransaction, TransactionStore, TransactionWrite,
    words,
};
use async_trait::async_trait;
use payments_core::records::charges::TransactionKind;
use rusqlite::{Connection, Row, params};
use uuid::Uuid;

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
                    &[&t.kind.as_str(), &t.order_id],
                )?
            {
                return Err(StoreError::Conflict(StoreConflict::OrderHeld));
            }
            tx.prepare_cached("INSERT INTO transactions (id, kind, order_id, status, history_id, body_sealed, password_hash, created_at, version, holds_order, attempt_until) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
    .map_err(engine)?
    .execute(params![
                    t.id.to_string(),
                    t.kind.as_str(),
                    t.order_id,
                    t.status.as_str(),
                    t.history_id.map(|h| h.to_string()),
                    t.body_sealed,
                    t.password_hash,
                    ts(&t.created_at),
                    t.version,
                    t.holds_order,
                    t.attempt_until.as_ref().map(ts),
                ],
            )
            .map_err(engine)?;
            Ok(true)
        }
        TransactionWrite::Update(t) => {
            let changed = tx
                .prepare_cached(
                    "UPDATE transactions SET status = ?2, history_id = ?3, body_sealed = ?4, \
                     holds_order = ?6, attempt_until = ?7, version = version + 1 \
                     WHERE id = ?1 AND version = ?5",
                )
                .map_err(engine)?
                .execute(params![
                    t.id.to_string(),
                    t.status.as_str(),
                    t.history_id.map(|h| h.to_string()),
                    t.body_sealed,
                    t.version,
                    t.holds_order,
                    t.attempt_until.as_ref().map(ts),
                ])
                .map_err(engine)?;
            Ok(changed == 1)
        }
    }
}

const TRANSACTION_COLUMNS: &str = "id, kind, order_id, status, history_id, body_sealed, \
     password_hash, created_at, version, holds_order, attempt_until";

/// The raw columns of a transaction row, converted outside rusqlite's row callback so a
/// corrupt value is a typed error.
struct TransactionRow {
    id: String,
    kind: String,
    order_id: String,
    status: String,
    history_id: Option<String>,
    body_sealed: String,
    password_hash: String,
    created_at: String,
    version: i64,
    holds_order: bool,
    attempt_until: Option<String>,
}

fn transaction_row(row: &Row<'_>) -> rusqlite::Result<TransactionRow> {
    Ok(TransactionRow {
        id: row.get(0)?,
        kind: row.get(1)?,
        order_id: row.get(2)?,
        status: row.get(3)?,
        history_id: row.get(4)?,
        body_sealed: row.get(5)?,
        password_hash: row.get(6)?,
        created_at: row.get(7)?,
        version: row.get(8)?,
        holds_order: row.get(9)?,
        attempt_until: row.get(10)?,
    })
}

fn transaction_from(row: TransactionRow) -> Result<StoredTransaction, StoreError> {
    Ok(StoredTransaction {
        id: parse_uuid(&row.id, "transactions.id")?,
        kind: words::parse(&row.kind, "transactions.kind")?,
        order_id: row.order_id,
        status: words::parse(&row.status, "transactions.status")?,
        history_id: row
            .history_id
            .map(|h| parse_uuid(&h, "transactions.history_id"))
            .transpose()?,
        body_sealed: row.body_sealed,
        password_hash: row.password_hash,
        holds_order: row.holds_order,
        created_at: parse_ts(&row.created_at, "transactions.created_at")?,
        attempt_until: parse_opt_ts(row.attempt_until, "transactions.attempt_until")?,
        version: row.version,
    })
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
        out.push(transaction_from(row.map_err(engine)?)?);
    }
    Ok(out)
}

#[async_trait]
impl TransactionStore for SqliteStore {
    async fn write_transaction(
        &self,
        transaction: &TransactionWrite,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let write = transaction.clone();
        let messages = messages.to_vec();
        self.write_change(!messages.is_empty(), move |connection| {
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
        kind: TransactionKind,
        order_id: &str,
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        let order = order_id.to_owned();
        self.read(move |c| {
            query_transactions(c, "kind = ?1 AND order_id = ?2", &[&kind.as_str(), &order])
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, transaction};
    use super::*;

    #[tokio::test]
    async fn a_lease_is_written_read_back_and_cleared() {
        let store = SqliteStore::in_memory().unwrap();
        let mut row = transaction(1, "o-1", true);
        row.attempt_until = Some(at("2026-06-01T00:01:00.000Z"));
        store
            .write_transaction(&TransactionWrite::Insert(row.clone()), &[])
            .await
            .unwrap();
        let read = store.transaction_by_id(row.id).await.unwrap().unwrap();
        assert_eq!(read, row);
        let released = StoredTransaction {
            attempt_until: None,
            ..read
        };
        assert!(
            store
                .write_transaction(&TransactionWrite::Update(released), &[])
                .await
                .unwrap()
        );
        let read = store.transaction_by_id(row.id).await.unwrap().unwrap();
        assert_eq!((read.attempt_until, read.version), (None, 1));
    }

    #[tokio::test]
    async fn a_stored_word_no_variant_has_is_corrupt_not_a_default() {
        let store = SqliteStore::in_memory().unwrap();
        let row = transaction(1, "o-1", true);
        store
            .write_transaction(&TransactionWrite::Insert(row.clone()), &[])
            .await
            .unwrap();
        store
            .write(|c| {
                c.prepare_cached("UPDATE transactions SET status = 'settled'")
                    .map_err(engine)?
                    .execute([])
                    .map_err(engine)
            })
            .await
            .unwrap();
        let error = store.transaction_by_id(row.id).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Corrupt("transactions.status")),
            "{error:?}"
        );
    }
}

//! [`TransactionStore`] on SQLite. A transaction that holds its order is refused with
//! [`StoreConflict::OrderHeld`] while another one holds it.

use super::{SqliteStore, commit_change, engine, exists, parse_ts, parse_uuid, ts};
use crate::store::{
    NewMessage, StoreConflict, StoreError, StoredTransaction, TransactionStore, TransactionWrite,
};
use async_trait::async_trait;
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
        kind: &str,
        order_id: &str,
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        let (kind, order) = (kind.to_owned(), order_id.to_owned());
        self.read(move |c| query_transactions(c, "kind = ?1 AND order_id = ?2", &[&kind, &order]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::transaction;
    use super::*;

    #[tokio::test]
    async fn one_transaction_at_a_time_holds_an_order() {
        let store = SqliteStore::in_memory().unwrap();
        let first = transaction(1, "o-1", true);
        store
            .write_transaction(&TransactionWrite::Insert(first.clone()), &[])
            .await
            .unwrap();
        let error = store
            .write_transaction(&TransactionWrite::Insert(transaction(2, "o-1", true)), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict(StoreConflict::OrderHeld)),
            "{error:?}"
        );
        // A transaction that holds nothing (a coupon, a failed charge) is not refused.
        store
            .write_transaction(&TransactionWrite::Insert(transaction(3, "o-1", false)), &[])
            .await
            .unwrap();
        // Once the holder fails it lets go, and the order can be charged again.
        let mut failed = first.clone();
        failed.status = "failed".into();
        failed.holds_order = false;
        assert!(
            store
                .write_transaction(&TransactionWrite::Update(failed), &[])
                .await
                .unwrap()
        );
        store
            .write_transaction(&TransactionWrite::Insert(transaction(4, "o-1", true)), &[])
            .await
            .unwrap();
        let all = store.transactions_by_order("charge", "o-1").await.unwrap();
        assert_eq!(all.len(), 3);
        let read = store.transaction_by_id(first.id).await.unwrap().unwrap();
        assert_eq!(
            (read.status.as_str(), read.holds_order, read.version),
            ("failed", false, 1)
        );
    }

    #[tokio::test]
    async fn an_update_whose_version_moved_on_writes_nothing() {
        let store = SqliteStore::in_memory().unwrap();
        let row = transaction(1, "o-1", true);
        store
            .write_transaction(&TransactionWrite::Insert(row.clone()), &[])
            .await
            .unwrap();
        let mut stale = row.clone();
        stale.version = 3;
        stale.status = "approved".into();
        assert!(
            !store
                .write_transaction(&TransactionWrite::Update(stale), &[])
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .transaction_by_id(row.id)
                .await
                .unwrap()
                .unwrap()
                .status,
            "pending"
        );
    }
}

//! [`TransactionStore`] on PostgreSQL. A transaction that holds its order is refused
//! with [`StoreConflict::OrderHeld`](crate::store::StoreConflict::OrderHeld) by the
//! partial unique index `transactions_held_order`, whichever instance wrote the holder.

use super::{PostgresStore, commit_change, engine, get, query, ts};
use crate::store::{
    NewMessage, StoreError, StoredTransaction, TransactionStore, TransactionWrite, words,
};
use async_trait::async_trait;
use payments_core::records::charges::TransactionKind;
use tokio_postgres::Row;
use uuid::Uuid;

/// Writes a transaction inside `tx`; `false` when an update's version moved on.
///
/// # Errors
/// Engine failures; [`StoreConflict::OrderHeld`](crate::store::StoreConflict::OrderHeld).
pub(super) async fn write_transaction_in(
    tx: &deadpool_postgres::Transaction<'_>,
    write: &TransactionWrite,
) -> Result<bool, StoreError> {
    match write {
        TransactionWrite::Insert(t) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO transactions (id, kind, order_id, status, history_id, body_sealed, \
                     password_hash, created_at, version, holds_order, attempt_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .await
                .map_err(engine)?;
            tx.execute(
                &statement,
                &[
                    &t.id,
                    &t.kind.as_str(),
                    &t.order_id,
                    &t.status.as_str(),
                    &t.history_id,
                    &t.body_sealed,
                    &t.password_hash,
                    &ts(&t.created_at),
                    &t.version,
                    &t.holds_order,
                    &t.attempt_until.as_ref().map(ts),
                ],
            )
            .await
            .map_err(engine)?;
            Ok(true)
        }
        TransactionWrite::Update(t) => {
            let statement = tx
                .prepare_cached(
                    "UPDATE transactions SET status = $2, history_id = $3, body_sealed = $4, \
                     holds_order = $6, attempt_until = $7, version = version + 1 \
                     WHERE id = $1 AND version = $5",
                )
                .await
                .map_err(engine)?;
            let changed = tx
                .execute(
                    &statement,
                    &[
                        &t.id,
                        &t.status.as_str(),
                        &t.history_id,
                        &t.body_sealed,
                        &t.version,
                        &t.holds_order,
                        &t.attempt_until.as_ref().map(ts),
                    ],
                )
                .await
                .map_err(engine)?;
            Ok(changed == 1)
        }
    }
}

const TRANSACTION_COLUMNS: &str = "id, kind, order_id, status, history_id, body_sealed, \
     password_hash, created_at, version, holds_order, attempt_until";

/// The one place a transaction row becomes a [`StoredTransaction`].
fn transaction_from(row: &Row) -> Result<StoredTransaction, StoreError> {
    Ok(StoredTransaction {
        id: get(row, 0, "id")?,
        kind: words::parse(
            &get::<String>(row, 1, "transactions.kind")?,
            "transactions.kind",
        )?,
        order_id: get(row, 2, "order_id")?,
        status: words::parse(
            &get::<String>(row, 3, "transactions.status")?,
            "transactions.status",
        )?,
        history_id: get(row, 4, "history_id")?,
        body_sealed: get(row, 5, "body_sealed")?,
        password_hash: get(row, 6, "password_hash")?,
        created_at: get(row, 7, "created_at")?,
        version: get(row, 8, "version")?,
        holds_order: get(row, 9, "holds_order")?,
        attempt_until: get(row, 10, "transactions.attempt_until")?,
    })
}

impl PostgresStore {
    async fn query_transactions(
        &self,
        condition: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE {condition} ORDER BY created_at, id"
        );
        query(&client, &sql, params)
            .await?
            .iter()
            .map(transaction_from)
            .collect()
    }
}

#[async_trait]
impl TransactionStore for PostgresStore {
    async fn write_transaction(
        &self,
        transaction: &TransactionWrite,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(engine)?;
        let committed = commit_change(tx, Some(transaction), messages).await?;
        if committed && !messages.is_empty() {
            self.wake_outbox();
        }
        Ok(committed)
    }

    async fn transaction_by_id(&self, id: Uuid) -> Result<Option<StoredTransaction>, StoreError> {
        Ok(self.query_transactions("id = $1", &[&id]).await?.pop())
    }

    async fn transaction_by_history(
        &self,
        history_id: Uuid,
    ) -> Result<Option<StoredTransaction>, StoreError> {
        Ok(self
            .query_transactions("history_id = $1", &[&history_id])
            .await?
            .pop())
    }

    async fn transactions_by_order(
        &self,
        kind: TransactionKind,
        order_id: &str,
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        self.query_transactions("kind = $1 AND order_id = $2", &[&kind.as_str(), &order_id])
            .await
    }
}

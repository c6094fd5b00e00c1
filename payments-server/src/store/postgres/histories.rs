//! [`HistoryStore`] on PostgreSQL. A new history is refused with the rule it breaks
//! (source, PG uid) by the named unique constraints, so two instances creating the same
//! history at once store one; the transaction and messages that go with it are written
//! in the same SQL transaction.

use super::{
    PostgresStore, commit_change, engine, execute, get, parse_envelope, parse_vendor, query, ts,
};
use crate::store::{
    HistoryStore, NewMessage, StoreConflict, StoreError, StoredHistory, TransactionWrite, words,
};
use async_trait::async_trait;
use payments_core::money::{Currency, Money};
use payments_core::records::{Source, Vendor, VendorCode};
use tokio_postgres::Row;
use uuid::Uuid;

pub(super) const HISTORY_COLUMNS: &str = "id, vendor_code, store_id, vendor_uid, order_id, source_schema, \
     source_table, source_id, currency, price, refund, webhook_url, envelope, password_hash, \
     data_sealed, cancels_sealed, status, created_at, paid_at, cancelled_at, version";

/// The one place a history row becomes a [`StoredHistory`].
pub(super) fn history_from(row: &Row) -> Result<StoredHistory, StoreError> {
    let currency: Currency = get::<String>(row, 8, "histories.currency")?
        .parse()
        .map_err(|_| StoreError::Corrupt("histories.currency"))?;
    let money = |amount: i64, column: &'static str| {
        Money::new(amount, currency).map_err(|_| StoreError::Corrupt(column))
    };
    Ok(StoredHistory {
        id: get(row, 0, "id")?,
        vendor: Vendor {
            code: parse_vendor(&get::<String>(row, 1, "vendor_code")?)?,
            store_id: get(row, 2, "store_id")?,
            uid: get(row, 3, "vendor_uid")?,
        },
        order_id: get(row, 4, "order_id")?,
        source: Source {
            schema: get(row, 5, "source_schema")?,
            table: get(row, 6, "source_table")?,
            id: get(row, 7, "source_id")?,
        },
        price: money(get(row, 9, "histories.price")?, "histories.price")?,
        refund: get::<Option<i64>>(row, 10, "histories.refund")?
            .map(|refund| money(refund, "histories.refund"))
            .transpose()?,
        webhook_url: get(row, 11, "webhook_url")?,
        envelope: parse_envelope(&get::<String>(row, 12, "envelope")?)?,
        password_hash: get(row, 13, "password_hash")?,
        data_sealed: get(row, 14, "data_sealed")?,
        cancels_sealed: get(row, 15, "cancels_sealed")?,
        status: words::parse(
            &get::<String>(row, 16, "histories.status")?,
            "histories.status",
        )?,
        created_at: get(row, 17, "created_at")?,
        paid_at: get(row, 18, "paid_at")?,
        cancelled_at: get(row, 19, "cancelled_at")?,
        version: get(row, 20, "version")?,
    })
}

impl PostgresStore {
    async fn query_history(
        &self,
        condition: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<StoredHistory>, StoreError> {
        let client = self.client().await?;
        let sql = format!("SELECT {HISTORY_COLUMNS} FROM histories WHERE {condition}");
        query(&client, &sql, params)
            .await?
            .first()
            .map(history_from)
            .transpose()
    }
}

/// What recording a history changes beside its row, in the same SQL transaction: a
/// payment still awaiting the PG gets a check due at once (the reconciliation worker
/// asks the PG until it is final), and a payment kept as unknown is known now.
async fn record_checks_in(
    tx: &deadpool_postgres::Transaction<'_>,
    h: &StoredHistory,
) -> Result<(), StoreError> {
    if crate::store::checks::awaits_pg(h.status) {
        execute(
            tx,
            "UPDATE histories SET next_check_at = $1 WHERE id = $2",
            &[&h.created_at.timestamp_millis(), &h.id],
        )
        .await?;
    }
    execute(
        tx,
        "DELETE FROM unknown_payments WHERE vendor_code = $1 AND vendor_uid = $2",
        &[&h.vendor.code.as_str(), &h.vendor.uid],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl HistoryStore for PostgresStore {
    async fn insert_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<(), StoreError> {
        let h = history;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(engine)?;
        let statement = tx
            .prepare_cached(&format!(
                "INSERT INTO histories ({HISTORY_COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
            ))
            .await
            .map_err(engine)?;
        tx.execute(
            &statement,
            &[
                &h.id,
                &h.vendor.code.as_str(),
                &h.vendor.store_id,
                &h.vendor.uid,
                &h.order_id,
                &h.source.schema,
                &h.source.table,
                &h.source.id,
                &h.price.currency().code(),
                &h.price.amount(),
                &h.refund.map(|refund| refund.amount()),
                &h.webhook_url,
                &h.envelope.as_str(),
                &h.password_hash,
                &h.data_sealed,
                &h.cancels_sealed,
                &h.status.as_str(),
                &ts(&h.created_at),
                &h.paid_at.as_ref().map(ts),
                &h.cancelled_at.as_ref().map(ts),
                &h.version,
            ],
        )
        .await
        .map_err(engine)?;
        record_checks_in(&tx, h).await?;
        // The transaction that approves the history must still be the one read.
        if !commit_change(tx, transaction, messages).await? {
            return Err(StoreError::Conflict(StoreConflict::TransactionMoved));
        }
        if !messages.is_empty() {
            self.wake_outbox();
        }
        Ok(())
    }

    async fn history_by_id(&self, id: Uuid) -> Result<Option<StoredHistory>, StoreError> {
        self.query_history("id = $1", &[&id]).await
    }

    async fn history_by_source(
        &self,
        source: &Source,
    ) -> Result<Option<StoredHistory>, StoreError> {
        self.query_history(
            "source_schema = $1 AND source_table = $2 AND source_id = $3",
            &[&source.schema, &source.table, &source.id],
        )
        .await
    }

    async fn history_by_vendor_uid(
        &self,
        vendor: VendorCode,
        uid: &str,
    ) -> Result<Option<StoredHistory>, StoreError> {
        self.query_history(
            "vendor_code = $1 AND vendor_uid = $2",
            &[&vendor.as_str(), &uid],
        )
        .await
    }

    async fn history_conflict(
        &self,
        source: &Source,
        vendor: VendorCode,
        uid: &str,
    ) -> Result<Option<StoreConflict>, StoreError> {
        let client = self.client().await?;
        // Each side of the OR is one of the unique constraints; the source's rule wins.
        let rows = query(
            &client,
            "SELECT bool_or(source_schema = $1 AND source_table = $2 AND source_id = $3) \
             FROM histories WHERE (source_schema = $1 AND source_table = $2 \
             AND source_id = $3) OR (vendor_code = $4 AND vendor_uid = $5)",
            &[
                &source.schema,
                &source.table,
                &source.id,
                &vendor.as_str(),
                &uid,
            ],
        )
        .await?;
        let by_source: Option<bool> = match rows.first() {
            Some(row) => get(row, 0, "histories")?,
            None => None,
        };
        Ok(by_source.map(|by_source| {
            if by_source {
                StoreConflict::Source
            } else {
                StoreConflict::VendorUid
            }
        }))
    }

    async fn history_by_order_id(
        &self,
        vendor: VendorCode,
        order_id: &str,
    ) -> Result<Option<StoredHistory>, StoreError> {
        // SQLite answers the first row in its index order; the id makes ours fixed.
        self.query_history(
            "vendor_code = $1 AND order_id = $2 ORDER BY created_at, id LIMIT 1",
            &[&vendor.as_str(), &order_id],
        )
        .await
    }

    async fn update_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let h = history;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(engine)?;
        let statement = tx
            .prepare_cached(
                "UPDATE histories SET refund = $1, data_sealed = $2, cancels_sealed = $3, \
                 status = $4, paid_at = $5, cancelled_at = $6, version = version + 1 \
                 WHERE id = $7 AND version = $8",
            )
            .await
            .map_err(engine)?;
        let changed = tx
            .execute(
                &statement,
                &[
                    &h.refund.map(|refund| refund.amount()),
                    &h.data_sealed,
                    &h.cancels_sealed,
                    &h.status.as_str(),
                    &h.paid_at.as_ref().map(ts),
                    &h.cancelled_at.as_ref().map(ts),
                    &h.id,
                    &h.version,
                ],
            )
            .await
            .map_err(engine)?;
        if changed == 0 {
            return Ok(false);
        }
        let committed = commit_change(tx, transaction, messages).await?;
        if committed && !messages.is_empty() {
            self.wake_outbox();
        }
        Ok(committed)
    }
}

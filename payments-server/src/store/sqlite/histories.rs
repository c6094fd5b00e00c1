//! [`HistoryStore`] on SQLite. A new history is refused with the rule it breaks
//! (source, PG uid) before it is written; the transaction and messages that go with it
//! are written in the same SQL transaction.

use super::{
    SqliteStore, commit_change, engine, ensure_unique_record, parse_envelope, parse_opt_ts,
    parse_ts, parse_uuid, parse_vendor, ts,
};
use crate::store::{
    HistoryStore, NewMessage, StoreConflict, StoreError, StoredHistory, TransactionWrite, words,
};
use async_trait::async_trait;
use payments_core::money::{Currency, Money};
use payments_core::records::{Source, Vendor, VendorCode};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

pub(super) const HISTORY_COLUMNS: &str = "id, vendor_code, store_id, vendor_uid, order_id, source_schema, \
     source_table, source_id, currency, price, refund, webhook_url, envelope, password_hash, \
     data_sealed, cancels_sealed, status, created_at, paid_at, cancelled_at, version";

/// The raw columns of a history row, converted outside rusqlite's row callback so a
/// corrupt value is a typed error.
pub(super) struct HistoryRow {
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

pub(super) fn history_row(row: &Row<'_>) -> rusqlite::Result<HistoryRow> {
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

pub(super) fn history_from(row: HistoryRow, status: String) -> Result<StoredHistory, StoreError> {
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
    let currency: Currency = currency
        .parse()
        .map_err(|_| StoreError::Corrupt("histories.currency"))?;
    let money = |amount: i64, column: &'static str| {
        Money::new(amount, currency).map_err(|_| StoreError::Corrupt(column))
    };
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
        price: money(row.price, "histories.price")?,
        refund: row
            .refund
            .map(|refund| money(refund, "histories.refund"))
            .transpose()?,
        webhook_url: row.webhook_url,
        envelope: parse_envelope(&row.envelope)?,
        password_hash,
        data_sealed: row.data_sealed,
        cancels_sealed: row.cancels_sealed,
        status: words::parse(&status, "histories.status")?,
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

/// What recording a history changes beside its row, in the same SQL transaction: a
/// payment still awaiting the PG gets a check due at once (the reconciliation worker
/// asks the PG until it is final), and a payment kept as unknown is known now.
fn record_checks_in(tx: &rusqlite::Transaction<'_>, h: &StoredHistory) -> Result<(), StoreError> {
    if crate::store::checks::awaits_pg(h.status) {
        tx.prepare_cached("UPDATE histories SET next_check_at = ?1 WHERE id = ?2")
            .map_err(engine)?
            .execute(params![h.created_at.timestamp_millis(), h.id.to_string()])
            .map_err(engine)?;
    }
    tx.prepare_cached("DELETE FROM unknown_payments WHERE vendor_code = ?1 AND vendor_uid = ?2")
        .map_err(engine)?
        .execute(params![h.vendor.code.as_str(), h.vendor.uid])
        .map_err(engine)?;
    Ok(())
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn insert_history(
        &self,
        history: &StoredHistory,
        transaction: Option<&TransactionWrite>,
        messages: &[NewMessage],
    ) -> Result<(), StoreError> {
        let h = history.clone();
        let transaction = transaction.cloned();
        let messages = messages.to_vec();
        self.write_change(!messages.is_empty(), move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            ensure_unique_record(
                &tx,
                "histories",
                &h.source,
                ("vendor_uid", h.vendor.code, &h.vendor.uid),
            )?;
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
                    h.price.currency().code(),
                    h.price.amount(),
                    h.refund.map(|refund| refund.amount()),
                    h.webhook_url,
                    h.envelope.as_str(),
                    h.password_hash,
                    h.data_sealed,
                    h.cancels_sealed,
                    h.status.as_str(),
                    ts(&h.created_at),
                    h.paid_at.as_ref().map(ts),
                    h.cancelled_at.as_ref().map(ts),
                    h.version,
                ])
                .map_err(engine)?;
            record_checks_in(&tx, &h)?;
            // The transaction that approves the history must still be the one read.
            if commit_change(tx, transaction.as_ref(), &messages)? {
                Ok(true)
            } else {
                Err(StoreError::Conflict(StoreConflict::TransactionMoved))
            }
        })
        .await
        .map(|_| ())
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
        vendor: VendorCode,
        uid: &str,
    ) -> Result<Option<StoredHistory>, StoreError> {
        let (code, uid) = (vendor.as_str(), uid.to_owned());
        self.read(move |c| query_history(c, "vendor_code = ?1 AND vendor_uid = ?2", &[&code, &uid]))
            .await
    }

    async fn history_conflict(
        &self,
        source: &Source,
        vendor: VendorCode,
        uid: &str,
    ) -> Result<Option<StoreConflict>, StoreError> {
        let (s, code, uid) = (source.clone(), vendor.as_str(), uid.to_owned());
        self.read(move |c| {
            // Each side of the OR is one of the unique indexes; the source's rule wins.
            let taken_by_source: Option<bool> = c
                .prepare_cached(
                    "SELECT MAX(source_schema = ?1 AND source_table = ?2 AND source_id = ?3) \
                     FROM histories WHERE (source_schema = ?1 AND source_table = ?2 \
                     AND source_id = ?3) OR (vendor_code = ?4 AND vendor_uid = ?5)",
                )
                .map_err(engine)?
                .query_row(params![s.schema, s.table, s.id, code, uid], |row| {
                    row.get(0)
                })
                .map_err(engine)?;
            Ok(taken_by_source.map(|by_source| {
                if by_source {
                    StoreConflict::Source
                } else {
                    StoreConflict::VendorUid
                }
            }))
        })
        .await
    }

    async fn history_by_order_id(
        &self,
        vendor: VendorCode,
        order_id: &str,
    ) -> Result<Option<StoredHistory>, StoreError> {
        let (code, order) = (vendor.as_str(), order_id.to_owned());
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
        self.write_change(!messages.is_empty(), move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE histories SET refund = ?1, data_sealed = ?2, cancels_sealed = ?3, \
                     status = ?4, paid_at = ?5, cancelled_at = ?6, version = version + 1 \
                     WHERE id = ?7 AND version = ?8",
                )
                .map_err(engine)?
                .execute(params![
                    h.refund.map(|refund| refund.amount()),
                    h.data_sealed,
                    h.cancels_sealed,
                    h.status.as_str(),
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
}

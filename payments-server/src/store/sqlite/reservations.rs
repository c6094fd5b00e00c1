//! [`ReservationStore`] on SQLite.

use super::{SqliteStore, engine, ensure_unique_record, parse_ts, parse_uuid, parse_vendor, ts};
use crate::store::{ReservationStore, StoreError, StoredReservation};
use async_trait::async_trait;
use payments_core::records::{Source, Vendor, VendorCode};
use payments_core::timestamp::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

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

#[async_trait]
impl ReservationStore for SqliteStore {
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

    async fn reservation_by_vendor_uid(
        &self,
        code: VendorCode,
        uid: &str,
    ) -> Result<Option<StoredReservation>, StoreError> {
        let uid = uid.to_owned();
        self.read(move |c| {
            query_reservation(
                c,
                "vendor_code = ?1 AND vendor_uid = ?2",
                &[&code.as_str(), &uid],
            )
        })
        .await
    }

    async fn mark_reservation_deleted(&self, id: Uuid, at: Timestamp) -> Result<bool, StoreError> {
        self.write(move |connection| {
            let inserted = connection
                .prepare_cached(
                    "INSERT INTO reservation_deletions (reservation_id, deleted_at) \
                     VALUES (?1, ?2) ON CONFLICT (reservation_id) DO NOTHING",
                )
                .map_err(engine)?
                .execute(params![id.to_string(), ts(&at)])
                .map_err(engine)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn reservation_deleted_at(&self, id: Uuid) -> Result<Option<Timestamp>, StoreError> {
        self.read(move |c| {
            let text: Option<String> = c
                .prepare_cached(
                    "SELECT deleted_at FROM reservation_deletions WHERE reservation_id = ?1",
                )
                .map_err(engine)?
                .query_row([id.to_string()], |row| row.get(0))
                .optional()
                .map_err(engine)?;
            text.map(|t| parse_ts(&t, "deleted_at")).transpose()
        })
        .await
    }
}

//! [`ReservationStore`] on SQLite.

use super::{SqliteStore, engine, ensure_unique_record, parse_ts, parse_uuid, parse_vendor, ts};
use crate::store::{ReservationStore, StoreError, StoredReservation};
use async_trait::async_trait;
use payments_core::records::{Source, VendorCode};
use payments_core::timestamp::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

const RESERVATION_COLUMNS: &str = "id, vendor_code, store_id, vendor_uid_hash, vendor_uid_sealed, \
     source_schema, source_table, source_id, title, password_hash, data_sealed, created_at";

/// How many columns [`RESERVATION_COLUMNS`] names.
const COLUMNS: usize = 12;

fn query_reservation(
    connection: &Connection,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Option<StoredReservation>, StoreError> {
    // A row not sealed yet (see `unsealed_reservations`) is not read as a reservation.
    let sql = format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations \
         WHERE vendor_uid_sealed IS NOT NULL AND ({condition})"
    );
    let mut statement = connection.prepare_cached(&sql).map_err(engine)?;
    let found = statement
        .query_row(params, |row| {
            let mut text: Vec<String> = Vec::with_capacity(COLUMNS);
            for index in 0..COLUMNS {
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
        uid_hash,
        uid_sealed,
        schema,
        table,
        source_id,
        title,
        password_hash,
        data_sealed,
        created_at,
    ]: [String; COLUMNS] = text
        .try_into()
        .map_err(|_| StoreError::Corrupt("reservations"))?;
    Ok(Some(StoredReservation {
        id: parse_uuid(&id, "id")?,
        vendor_code: parse_vendor(&code)?,
        store_id,
        vendor_uid_hash: uid_hash,
        vendor_uid_sealed: uid_sealed,
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
            ensure_unique_record(
                &tx,
                "reservations",
                &r.source,
                ("vendor_uid_hash", r.vendor_code, &r.vendor_uid_hash),
            )?;
            tx.prepare_cached(&format!(
                "INSERT INTO reservations ({RESERVATION_COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))
            .map_err(engine)?
            .execute(params![
                r.id.to_string(),
                r.vendor_code.as_str(),
                r.store_id,
                r.vendor_uid_hash,
                r.vendor_uid_sealed,
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
        uid_hash: &str,
    ) -> Result<Option<StoredReservation>, StoreError> {
        let uid_hash = uid_hash.to_owned();
        self.read(move |c| {
            query_reservation(
                c,
                "vendor_code = ?1 AND vendor_uid_hash = ?2",
                &[&code.as_str(), &uid_hash],
            )
        })
        .await
    }

    async fn unsealed_reservations(
        &self,
        limit: u32,
    ) -> Result<Vec<(Uuid, VendorCode, String)>, StoreError> {
        self.read(move |c| {
            let mut statement = c
                .prepare_cached(
                    "SELECT id, vendor_code, vendor_uid_hash FROM reservations \
                     WHERE vendor_uid_sealed IS NULL ORDER BY id LIMIT ?1",
                )
                .map_err(engine)?;
            let rows = statement
                .query_map([limit], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(engine)?;
            let mut found = Vec::new();
            for row in rows {
                let (id, code, uid) = row.map_err(engine)?;
                found.push((parse_uuid(&id, "id")?, parse_vendor(&code)?, uid));
            }
            Ok(found)
        })
        .await
    }

    async fn seal_reservation_uid(
        &self,
        id: Uuid,
        uid_hash: &str,
        uid_sealed: &str,
    ) -> Result<bool, StoreError> {
        let (uid_hash, uid_sealed) = (uid_hash.to_owned(), uid_sealed.to_owned());
        self.write(move |connection| {
            let updated = connection
                .prepare_cached(
                    "UPDATE reservations SET vendor_uid_hash = ?2, vendor_uid_sealed = ?3 \
                     WHERE id = ?1 AND vendor_uid_sealed IS NULL",
                )
                .map_err(engine)?
                .execute(params![id.to_string(), uid_hash, uid_sealed])
                .map_err(engine)?;
            Ok(updated == 1)
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

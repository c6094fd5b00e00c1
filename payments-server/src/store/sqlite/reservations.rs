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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, source, vendor};
    use super::*;
    use crate::store::StoreConflict;

    fn reservation(id: u128, source_id: &str, uid: &str) -> StoredReservation {
        StoredReservation {
            id: Uuid::from_u128(id),
            vendor: vendor(uid),
            source: source(source_id),
            title: "card".into(),
            password_hash: "hash".into(),
            data_sealed: "sealed".into(),
            created_at: at("2026-06-01T00:00:00.000Z"),
        }
    }

    #[tokio::test]
    async fn reservations_round_trip_and_name_the_rule_they_break() {
        let store = SqliteStore::in_memory().unwrap();
        let first = reservation(1, "c-1", "bk-1");
        store.insert_reservation(&first).await.unwrap();
        assert_eq!(
            store.reservation_by_id(first.id).await.unwrap(),
            Some(first.clone())
        );
        assert_eq!(
            store.reservation_by_source(&first.source).await.unwrap(),
            Some(first.clone())
        );
        let error = store
            .insert_reservation(&reservation(2, "c-1", "bk-2"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict(StoreConflict::Source)),
            "{error:?}"
        );
        let error = store
            .insert_reservation(&reservation(3, "c-3", "bk-1"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict(StoreConflict::VendorUid)),
            "{error:?}"
        );
        assert_eq!(
            store.reservation_by_id(Uuid::from_u128(3)).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_deletion_is_found_by_billing_key_and_recorded_once() {
        let store = SqliteStore::in_memory().unwrap();
        let first = reservation(1, "c-1", "bk-1");
        store.insert_reservation(&first).await.unwrap();
        let found = store
            .reservation_by_vendor_uid(first.vendor.code, "bk-1")
            .await
            .unwrap();
        assert_eq!(found, Some(first.clone()));
        assert_eq!(store.reservation_deleted_at(first.id).await.unwrap(), None);
        let at = at("2026-06-02T00:00:00.000Z");
        assert!(store.mark_reservation_deleted(first.id, at).await.unwrap());
        let later = at + chrono::Duration::hours(1);
        assert!(
            !store
                .mark_reservation_deleted(first.id, later)
                .await
                .unwrap()
        );
        assert_eq!(
            store.reservation_deleted_at(first.id).await.unwrap(),
            Some(at)
        );
    }
}

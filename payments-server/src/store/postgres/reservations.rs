//! [`ReservationStore`] on PostgreSQL: a taken source or billing key is refused by its
//! named unique constraint.

use super::{PostgresStore, execute, get, parse_vendor, query, ts};
use crate::store::{ReservationStore, StoreError, StoredReservation};
use async_trait::async_trait;
use payments_core::records::{Source, VendorCode};
use payments_core::timestamp::Timestamp;
use tokio_postgres::Row;
use uuid::Uuid;

const RESERVATION_COLUMNS: &str = "id, vendor_code, store_id, vendor_uid_hash, vendor_uid_sealed, \
     source_schema, source_table, source_id, title, password_hash, data_sealed, created_at";

/// The one place a reservation row becomes a [`StoredReservation`].
fn reservation_from(row: &Row) -> Result<StoredReservation, StoreError> {
    Ok(StoredReservation {
        id: get(row, 0, "id")?,
        vendor_code: parse_vendor(&get::<String>(row, 1, "vendor_code")?)?,
        store_id: get(row, 2, "store_id")?,
        vendor_uid_hash: get(row, 3, "vendor_uid_hash")?,
        vendor_uid_sealed: get(row, 4, "vendor_uid_sealed")?,
        source: Source {
            schema: get(row, 5, "source_schema")?,
            table: get(row, 6, "source_table")?,
            id: get(row, 7, "source_id")?,
        },
        title: get(row, 8, "title")?,
        password_hash: get(row, 9, "password_hash")?,
        data_sealed: get(row, 10, "data_sealed")?,
        created_at: get(row, 11, "created_at")?,
    })
}

impl PostgresStore {
    async fn query_reservation(
        &self,
        condition: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<StoredReservation>, StoreError> {
        let client = self.client().await?;
        // A row not sealed yet (see `unsealed_reservations`) is not read as a reservation.
        let sql = format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations \
             WHERE vendor_uid_sealed IS NOT NULL AND ({condition})"
        );
        query(&client, &sql, params)
            .await?
            .first()
            .map(reservation_from)
            .transpose()
    }
}

#[async_trait]
impl ReservationStore for PostgresStore {
    async fn insert_reservation(&self, reservation: &StoredReservation) -> Result<(), StoreError> {
        let r = reservation;
        let client = self.client().await?;
        execute(
            &client,
            &format!(
                "INSERT INTO reservations ({RESERVATION_COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            &[
                &r.id,
                &r.vendor_code.as_str(),
                &r.store_id,
                &r.vendor_uid_hash,
                &r.vendor_uid_sealed,
                &r.source.schema,
                &r.source.table,
                &r.source.id,
                &r.title,
                &r.password_hash,
                &r.data_sealed,
                &ts(&r.created_at),
            ],
        )
        .await
        .map(drop)
    }

    async fn reservation_by_id(&self, id: Uuid) -> Result<Option<StoredReservation>, StoreError> {
        self.query_reservation("id = $1", &[&id]).await
    }

    async fn reservation_by_source(
        &self,
        source: &Source,
    ) -> Result<Option<StoredReservation>, StoreError> {
        self.query_reservation(
            "source_schema = $1 AND source_table = $2 AND source_id = $3",
            &[&source.schema, &source.table, &source.id],
        )
        .await
    }

    async fn reservation_by_vendor_uid(
        &self,
        code: VendorCode,
        uid_hash: &str,
    ) -> Result<Option<StoredReservation>, StoreError> {
        self.query_reservation(
            "vendor_code = $1 AND vendor_uid_hash = $2",
            &[&code.as_str(), &uid_hash],
        )
        .await
    }

    async fn unsealed_reservations(
        &self,
        limit: u32,
    ) -> Result<Vec<(Uuid, VendorCode, String)>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT id, vendor_code, vendor_uid_hash FROM reservations \
             WHERE vendor_uid_sealed IS NULL ORDER BY id LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    get(row, 0, "id")?,
                    parse_vendor(&get::<String>(row, 1, "vendor_code")?)?,
                    get(row, 2, "vendor_uid_hash")?,
                ))
            })
            .collect()
    }

    async fn seal_reservation_uid(
        &self,
        id: Uuid,
        uid_hash: &str,
        uid_sealed: &str,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let updated = execute(
            &client,
            "UPDATE reservations SET vendor_uid_hash = $2, vendor_uid_sealed = $3 \
             WHERE id = $1 AND vendor_uid_sealed IS NULL",
            &[&id, &uid_hash, &uid_sealed],
        )
        .await?;
        Ok(updated == 1)
    }

    async fn mark_reservation_deleted(&self, id: Uuid, at: Timestamp) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let inserted = execute(
            &client,
            "INSERT INTO reservation_deletions (reservation_id, deleted_at) \
             VALUES ($1, $2) ON CONFLICT (reservation_id) DO NOTHING",
            &[&id, &ts(&at)],
        )
        .await?;
        Ok(inserted == 1)
    }

    async fn reservation_deleted_at(&self, id: Uuid) -> Result<Option<Timestamp>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT deleted_at FROM reservation_deletions WHERE reservation_id = $1",
            &[&id],
        )
        .await?;
        rows.first()
            .map(|row| get(row, 0, "deleted_at"))
            .transpose()
    }
}

//! The reservation port: billing keys as stored, and [`ReservationStore`].

use super::StoreError;
use async_trait::async_trait;
use payments_core::records::{Source, Vendor, VendorCode};
use payments_core::timestamp::Timestamp;
use uuid::Uuid;

/// A billing key as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReservation {
    /// The server's id.
    pub id: Uuid,
    /// The billing key at the PG.
    pub vendor: Vendor,
    /// The caller's record.
    pub source: Source,
    /// The caller's title.
    pub title: String,
    /// The password's hash.
    pub password_hash: String,
    /// The PG's billing object, sealed.
    pub data_sealed: String,
    /// When recorded.
    pub created_at: Timestamp,
}

/// Where reservations (billing keys) live.
#[async_trait]
pub trait ReservationStore: Send + Sync {
    /// [`StoreConflict::Source`] or [`StoreConflict::VendorUid`] when one is taken.
    async fn insert_reservation(&self, reservation: &StoredReservation) -> Result<(), StoreError>;

    /// Engine failures.
    async fn reservation_by_id(&self, id: Uuid) -> Result<Option<StoredReservation>, StoreError>;

    /// Engine failures.
    async fn reservation_by_source(
        &self,
        source: &Source,
    ) -> Result<Option<StoredReservation>, StoreError>;

    /// The reservation of a PG billing key. Engine failures.
    async fn reservation_by_vendor_uid(
        &self,
        code: VendorCode,
        uid: &str,
    ) -> Result<Option<StoredReservation>, StoreError>;

    /// Records that the reservation's billing key was deleted at its PG, at `at`; returns
    /// whether this call recorded it (`false` when it was recorded before, whose time is
    /// kept). Engine failures.
    async fn mark_reservation_deleted(&self, id: Uuid, at: Timestamp) -> Result<bool, StoreError>;

    /// When the reservation's billing key was deleted at its PG, if it was. Engine
    /// failures.
    async fn reservation_deleted_at(&self, id: Uuid) -> Result<Option<Timestamp>, StoreError>;
}

//! The reservation port: billing keys as stored, and [`ReservationStore`].

use super::StoreError;
use async_trait::async_trait;
use payments_core::records::{Source, VendorCode};
use payments_core::timestamp::Timestamp;
use uuid::Uuid;

/// A billing key as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReservation {
    /// The server's id.
    pub id: Uuid,
    /// The PG holding the billing key.
    pub vendor_code: VendorCode,
    /// The server's store at that PG.
    pub store_id: String,
    /// The billing key's keyed hash (`DataKeys::lookup_hash` in `at_rest.rs`, label
    /// `BILLING_KEY_LABEL`): unique per PG, what lookups by billing key
    /// match. The billing key itself is never stored in the clear.
    pub vendor_uid_hash: String,
    /// The billing key, sealed.
    pub vendor_uid_sealed: String,
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
    ///
    /// [`StoreConflict::Source`]: super::StoreConflict::Source
    /// [`StoreConflict::VendorUid`]: super::StoreConflict::VendorUid
    async fn insert_reservation(&self, reservation: &StoredReservation) -> Result<(), StoreError>;

    /// Engine failures.
    async fn reservation_by_id(&self, id: Uuid) -> Result<Option<StoredReservation>, StoreError>;

    /// Engine failures.
    async fn reservation_by_source(
        &self,
        source: &Source,
    ) -> Result<Option<StoredReservation>, StoreError>;

    /// The reservation whose billing key hashes to `uid_hash`. Engine failures.
    async fn reservation_by_vendor_uid(
        &self,
        code: VendorCode,
        uid_hash: &str,
    ) -> Result<Option<StoredReservation>, StoreError>;

    /// Up to `limit` reservations stored before billing keys were sealed (migration 0009
    /// left their billing key in the clear): `(id, PG, billing key)`. Engine failures.
    async fn unsealed_reservations(
        &self,
        limit: u32,
    ) -> Result<Vec<(Uuid, VendorCode, String)>, StoreError>;

    /// Replaces the clear billing key of an unsealed reservation by its hash and sealed
    /// form; `false` when it was sealed already (another instance did it). Engine
    /// failures.
    async fn seal_reservation_uid(
        &self,
        id: Uuid,
        uid_hash: &str,
        uid_sealed: &str,
    ) -> Result<bool, StoreError>;

    /// Records that the reservation's billing key was deleted at its PG, at `at`; returns
    /// whether this call recorded it (`false` when it was recorded before, whose time is
    /// kept). Engine failures.
    async fn mark_reservation_deleted(&self, id: Uuid, at: Timestamp) -> Result<bool, StoreError>;

    /// When the reservation's billing key was deleted at its PG, if it was. Engine
    /// failures.
    async fn reservation_deleted_at(&self, id: Uuid) -> Result<Option<Timestamp>, StoreError>;
}

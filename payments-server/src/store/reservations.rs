//! The reservation port: billing keys as stored, and [`ReservationStore`].

use super::StoreError;
use async_trait::async_trait;
use payments_core::records::{Source, Vendor};
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
}

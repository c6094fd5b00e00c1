//! The certification port: which PG certifications were accepted, so each one verifies
//! a person once ([`CertificationStore`]).

use super::StoreError;
use async_trait::async_trait;
use payments_core::records::VendorCode;

/// Where accepted certifications are remembered.
#[async_trait]
pub trait CertificationStore: Send + Sync {
    /// Records that the certification `uid` of `store_id` at `code` was accepted at
    /// `used_at_ms`; `false` (and nothing written) when it was accepted before. Of two
    /// concurrent claims exactly one gets `true`.
    ///
    /// # Errors
    /// Engine failures.
    async fn claim_certification(
        &self,
        code: VendorCode,
        store_id: &str,
        uid: &str,
        used_at_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Forgets at most `limit` certifications accepted before `used_before_ms` (too old
    /// to be accepted again anyway); returns how many.
    ///
    /// # Errors
    /// Engine failures.
    async fn certification_sweep(&self, used_before_ms: i64, limit: u32)
    -> Result<u64, StoreError>;
}

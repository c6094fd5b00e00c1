//! The reconciliation port: which histories the PG is asked about again, when, and
//! [`CheckStore`]. A PG webhook may never arrive (the server was down longer than the
//! PG's retries, or the webhook was lost), so a history whose payment is not in a final
//! state at the PG carries a next check; the reconciliation worker
//! (`reconcile.rs`) claims due checks, asks the PG, and sets the next one or
//! clears it.

use super::{StoreError, StoredHistory};
use async_trait::async_trait;
use payments_core::vendor::PaymentStatus;
use uuid::Uuid;

/// Whether a history in `status` still waits for the PG to move it (a payment not yet
/// authenticated or confirmed, a virtual account not yet deposited): such a history is
/// recorded with a check due at once.
pub fn awaits_pg(status: PaymentStatus) -> bool {
    matches!(
        status,
        PaymentStatus::Ready
            | PaymentStatus::AwaitingConfirmation
            | PaymentStatus::WaitingForDeposit
    )
}

/// A history claimed for a check.
#[derive(Debug, Clone, PartialEq)]
pub struct DueCheck {
    /// The history as stored when claimed.
    pub history: StoredHistory,
    /// Checks made before this one (the backoff grows with it).
    pub checks: u32,
}

/// A charge left pending, claimed for a check.
#[derive(Debug, Clone, PartialEq)]
pub struct DueChargeCheck {
    /// The charge's transaction.
    pub transaction_id: Uuid,
    /// What recording its payment needs, sealed (see `crate::pending_charges`).
    pub context_sealed: String,
    /// Checks made before this one.
    pub checks: u32,
}

/// Where the reconciliation worker's checks live: columns of the histories, and one
/// row per pending charge.
#[async_trait]
pub trait CheckStore: Send + Sync {
    /// Claims up to `limit` histories whose check is due at `now_ms`, the longest due
    /// first, and moves their check to `lease_until_ms`: no worker, of this instance or
    /// another on the same database, claims them again before then. A worker that dies
    /// mid-check leaves the row to be claimed again after `lease_until_ms`.
    ///
    /// # Errors
    /// Engine failures.
    async fn claim_checks(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueCheck>, StoreError>;

    /// Ends a check claimed until `claimed_until_ms`: the next one at `next_ms` (`None`:
    /// nothing awaited any more), after `checks` checks in all. Applies only while the
    /// row still holds that claim: a check asked for meanwhile
    /// ([`schedule_check`](Self::schedule_check)), or a claim that ran out and was taken
    /// by another worker, is left as it is (`false`).
    ///
    /// # Errors
    /// Engine failures.
    async fn finish_check(
        &self,
        id: Uuid,
        claimed_until_ms: i64,
        next_ms: Option<i64>,
        checks: u32,
    ) -> Result<bool, StoreError>;

    /// Asks for a check of history `id` at `at_ms` (a cancel sent to the PG whose answer
    /// may be lost), whatever check was set before; a claim in force is given up, so its
    /// worker's [`finish_check`](Self::finish_check) leaves this one. The backoff starts
    /// again.
    ///
    /// # Errors
    /// Engine failures.
    async fn schedule_check(&self, id: Uuid, at_ms: i64) -> Result<(), StoreError>;

    /// Asks for a check of the pending charge `transaction_id` at `at_ms`, with what
    /// recording its payment needs (`context_sealed`); replaces an earlier one (a
    /// resumed charge), and the backoff starts again.
    ///
    /// # Errors
    /// Engine failures.
    async fn schedule_charge_check(
        &self,
        transaction_id: Uuid,
        context_sealed: &str,
        at_ms: i64,
    ) -> Result<(), StoreError>;

    /// As [`claim_checks`](Self::claim_checks), for pending charges.
    ///
    /// # Errors
    /// Engine failures.
    async fn claim_charge_checks(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueChargeCheck>, StoreError>;

    /// As [`finish_check`](Self::finish_check), for pending charges; `None` removes
    /// the row (the charge is final).
    ///
    /// # Errors
    /// Engine failures.
    async fn finish_charge_check(
        &self,
        transaction_id: Uuid,
        claimed_until_ms: i64,
        next_ms: Option<i64>,
        checks: u32,
    ) -> Result<bool, StoreError>;

    /// Histories and charges with a check pending (due or not).
    ///
    /// # Errors
    /// Engine failures.
    async fn checks_pending(&self) -> Result<i64, StoreError>;
}

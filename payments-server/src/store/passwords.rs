//! The record-password port: what the guess limiter counts per record, and the in-place
//! upgrade of a stored password hash. [`PasswordStore`].
//!
//! The counting rule lives here, in [`AttemptState::after_failure`], so every engine
//! applies the same rule: an engine only reads a row, and writes back what the rule
//! says, atomically (one SQL transaction, or a row lock).

use super::StoreError;
use async_trait::async_trait;
use uuid::Uuid;

/// A kind of record a password opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A payment history.
    History,
    /// A reservation (billing key).
    Reservation,
    /// A transaction.
    Transaction,
}

impl RecordKind {
    /// The word stored in `record_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::History => "history",
            Self::Reservation => "reservation",
            Self::Transaction => "transaction",
        }
    }
}

/// One record a password opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordRecord {
    /// Its kind (each kind has its own table).
    pub kind: RecordKind,
    /// Its id.
    pub id: Uuid,
}

/// How many wrong passwords a record takes, and how it is locked after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptPolicy {
    /// Wrong passwords within one window that lock the record (at least 1).
    pub max_failures: u32,
    /// The window, in milliseconds; it starts at its first wrong password.
    pub window_ms: i64,
    /// The longest lockout, in milliseconds. Lockout `k` (from 0) lasts
    /// `window_ms × 2^k` up to this; a record quiet for this long (no wrong password,
    /// no lockout) starts again from the first lockout.
    pub max_lockout_ms: i64,
}

/// A record's failed attempts, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptState {
    /// Wrong passwords in the current window.
    pub failures: u32,
    /// When the current window began (Unix ms).
    pub window_start_ms: i64,
    /// Lockouts earned so far: the next lasts `window × 2^lockouts`.
    pub lockouts: u32,
    /// The end of the current or last lockout (Unix ms), if any.
    pub locked_until_ms: Option<i64>,
    /// The last wrong password (Unix ms).
    pub last_failure_ms: i64,
}

impl AttemptState {
    /// The end of the lockout in force at `now_ms`, if one is.
    pub fn locked_at(&self, now_ms: i64) -> Option<i64> {
        self.locked_until_ms.filter(|until| *until > now_ms)
    }

    /// Since when the record has been quiet: its last wrong password or the end of its
    /// last lockout, whichever is later.
    fn quiet_since(&self) -> i64 {
        self.last_failure_ms
            .max(self.locked_until_ms.unwrap_or(i64::MIN))
    }

    /// The state after a wrong password at `now_ms`, from the stored one (`None`: the
    /// record had no row). The `max_failures`-th wrong password in a window locks the
    /// record; since a lockout lasts at least a window, no window of that length ever
    /// holds more than `max_failures` checked wrong passwords. A failure during a
    /// lockout (one that raced past the gate) changes nothing.
    pub fn after_failure(stored: Option<Self>, now_ms: i64, policy: &AttemptPolicy) -> Self {
        let fresh = Self {
            failures: 0,
            window_start_ms: now_ms,
            lockouts: 0,
            locked_until_ms: None,
            last_failure_ms: now_ms,
        };
        let mut state = match stored {
            Some(state) if state.locked_at(now_ms).is_some() => return state,
            Some(state) if now_ms - state.quiet_since() >= policy.max_lockout_ms => fresh,
            Some(state) => state,
            None => fresh,
        };
        if now_ms - state.window_start_ms >= policy.window_ms {
            state.failures = 0;
            state.window_start_ms = now_ms;
        }
        state.failures += 1;
        state.last_failure_ms = now_ms;
        if state.failures >= policy.max_failures.max(1) {
            let lockout = policy
                .window_ms
                .checked_mul(1i64 << state.lockouts.min(30))
                .map_or(policy.max_lockout_ms, |ms| ms.min(policy.max_lockout_ms));
            let until = now_ms.saturating_add(lockout.max(1));
            state.failures = 0;
            state.window_start_ms = until;
            state.lockouts = state.lockouts.saturating_add(1);
            state.locked_until_ms = Some(until);
        }
        state
    }
}

/// Where failed password attempts are counted, per record, and where a stored password
/// hash is replaced by its upgrade. Engines implement the four methods; the rule is
/// [`AttemptState::after_failure`].
#[async_trait]
pub trait PasswordStore: Send + Sync {
    /// The record's failed attempts; `None` when it has none since its last right
    /// password.
    ///
    /// # Errors
    /// Engine failures.
    async fn attempts(&self, record: PasswordRecord) -> Result<Option<AttemptState>, StoreError>;

    /// Counts a wrong password at `now_ms`: reads the record's state and writes
    /// [`AttemptState::after_failure`] of it, atomically, and returns what was written.
    ///
    /// # Errors
    /// Engine failures.
    async fn record_failure(
        &self,
        record: PasswordRecord,
        now_ms: i64,
        policy: &AttemptPolicy,
    ) -> Result<AttemptState, StoreError>;

    /// Forgets the record's failed attempts (a right password outside a lockout).
    ///
    /// # Errors
    /// Engine failures.
    async fn clear_attempts(&self, record: PasswordRecord) -> Result<(), StoreError>;

    /// Replaces the record's stored password hash with `new` if it is still `old`;
    /// `false` when it was not (another request upgraded it, or no such record). Only
    /// the hash changes: the record's version stays, so no update is lost to it.
    ///
    /// # Errors
    /// Engine failures.
    async fn replace_password_hash(
        &self,
        record: PasswordRecord,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn policy() -> AttemptPolicy {
        AttemptPolicy {
            max_failures: 3,
            window_ms: 10 * MINUTE,
            max_lockout_ms: 60 * MINUTE,
        }
    }

    fn fail_times(mut state: Option<AttemptState>, at: &[i64]) -> AttemptState {
        for now in at {
            state = Some(AttemptState::after_failure(state, *now, &policy()));
        }
        state.unwrap()
    }

    #[test]
    fn the_last_failure_of_a_window_locks_for_a_window() {
        let state = fail_times(None, &[0, MINUTE]);
        assert_eq!((state.failures, state.locked_at(MINUTE)), (2, None));
        let state = fail_times(Some(state), &[2 * MINUTE]);
        assert_eq!(state.locked_until_ms, Some(12 * MINUTE));
        assert_eq!(state.locked_at(12 * MINUTE - 1), Some(12 * MINUTE));
        assert_eq!(state.locked_at(12 * MINUTE), None);
        assert_eq!((state.failures, state.lockouts), (0, 1));
    }

    #[test]
    fn failures_outside_the_window_start_a_new_one() {
        let state = fail_times(None, &[0, MINUTE, 10 * MINUTE, 11 * MINUTE]);
        assert_eq!(state.locked_until_ms, None);
        assert_eq!(state.failures, 2);
    }

    #[test]
    fn a_failure_during_a_lockout_changes_nothing() {
        let locked = fail_times(None, &[0, 0, 0]);
        assert_eq!(
            AttemptState::after_failure(Some(locked), 1, &policy()),
            locked
        );
    }

    #[test]
    fn lockouts_double_up_to_the_cap_and_a_quiet_record_starts_over() {
        let mut state = None;
        let mut now = 0;
        let mut lengths = Vec::new();
        for _ in 0..5 {
            let locked = fail_times(state, &[now, now, now]);
            let until = locked.locked_until_ms.unwrap();
            lengths.push((until - now) / MINUTE);
            now = until;
            state = Some(locked);
        }
        assert_eq!(lengths, vec![10, 20, 40, 60, 60]);
        let later = now + 60 * MINUTE;
        let state = fail_times(state, &[later, later, later]);
        assert_eq!(state.locked_until_ms, Some(later + 10 * MINUTE));
    }
}

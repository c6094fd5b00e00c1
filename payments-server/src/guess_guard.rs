//! [`GuessGuard`]: slows down a caller who guesses coupon codes wrong. Pure bookkeeping
//! over an injected time: nothing here sleeps or reads a clock. The coupon routes key it
//! by the caller's source address ([`crate::http::caller::Caller`]), never by the owner a
//! request names (anyone could name a victim's); "owner" below is whatever key it gets.
//!
//! It is kept in memory, per instance, even on PostgreSQL: a code carries 100 bits, so
//! the guard brakes sloppy clients rather than keeping codes secret, and a store round
//! trip on every coupon request would tax the honest path for it. With N instances a
//! caller gets N times the allowance (docs/operations.md).

use chrono::Duration;
use payments_core::timestamp::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How [`GuessGuard`] counts and locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessPolicy {
    /// Wrong guesses within `window` that lock an owner out.
    pub threshold: usize,
    /// The sliding window the guesses are counted in.
    pub window: Duration,
    /// The first lock; each further lock doubles it.
    pub base_lock: Duration,
    /// The longest lock.
    pub max_lock: Duration,
    /// An owner with no wrong guess for this long (and no lock) is forgotten, and with
    /// them their lock count.
    pub forget_after: Duration,
    /// The most owners tracked at once; past it the least suspicious are evicted.
    pub max_owners: usize,
}

impl Default for GuessPolicy {
    /// 5 wrong guesses in 10 minutes lock an owner for 1 minute, then 2, 4, … up to a
    /// day; forgotten after a quiet day; at most 10 000 owners tracked.
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::minutes(10),
            base_lock: Duration::minutes(1),
            max_lock: Duration::days(1),
            forget_after: Duration::days(1),
            max_owners: 10_000,
        }
    }
}

/// An owner's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// When the lock ends.
    pub until: Timestamp,
}

impl Lockout {
    /// Whole seconds from `now` until the lock ends, at least 1 (for `Retry-After`).
    pub fn retry_after_secs(&self, now: Timestamp) -> u64 {
        let millis = (self.until - now).num_milliseconds().max(0) as u64;
        millis.div_ceil(1000).max(1)
    }
}

#[derive(Debug)]
struct Suspect {
    /// Wrong guesses in the current window, oldest first (at most `threshold`).
    misses: VecDeque<Timestamp>,
    /// Locks so far: the next lock lasts `base_lock × 2^locks`.
    locks: u32,
    locked_until: Option<Timestamp>,
    last_miss: Timestamp,
}

impl Suspect {
    fn locked_at(&self, now: Timestamp) -> Option<Lockout> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| Lockout { until })
    }

    fn is_stale(&self, now: Timestamp, policy: &GuessPolicy) -> bool {
        self.locked_at(now).is_none() && now - self.last_miss >= policy.forget_after
    }
}

/// Slows down an owner who guesses coupon codes wrong many times: wrong guesses are
/// counted per owner in a sliding window; reaching [`GuessPolicy::threshold`] locks the
/// owner out for [`GuessPolicy::base_lock`], doubling with every further lock up to
/// [`GuessPolicy::max_lock`].
///
/// Time is always an argument (the server passes `app.clock`), so nothing here sleeps
/// or reads a clock. Memory is bounded: only owners with wrong guesses are tracked,
/// quiet ones are forgotten, and past [`GuessPolicy::max_owners`] the least suspicious
/// (unlocked, oldest guess first) are evicted.
#[derive(Debug)]
pub struct GuessGuard {
    policy: GuessPolicy,
    suspects: Mutex<HashMap<String, Suspect>>,
}

impl Default for GuessGuard {
    fn default() -> Self {
        Self::new(GuessPolicy::default())
    }
}

impl GuessGuard {
    /// A guard with `policy` (a threshold of 0 is taken as 1).
    pub fn new(policy: GuessPolicy) -> Self {
        Self {
            policy: GuessPolicy {
                threshold: policy.threshold.max(1),
                max_owners: policy.max_owners.max(1),
                ..policy
            },
            suspects: Mutex::new(HashMap::new()),
        }
    }

    fn suspects(&self) -> std::sync::MutexGuard<'_, HashMap<String, Suspect>> {
        // The map holds no invariant a panic elsewhere could break half-way.
        self.suspects.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `owner` may try a code at `now`.
    ///
    /// # Errors
    /// The owner's [`Lockout`] while it lasts.
    pub fn check(&self, owner: &str, now: Timestamp) -> Result<(), Lockout> {
        let mut suspects = self.suspects();
        match suspects.get(owner) {
            Some(suspect) if suspect.is_stale(now, &self.policy) => {
                suspects.remove(owner);
                Ok(())
            }
            Some(suspect) => suspect.locked_at(now).map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    /// Counts a wrong guess by `owner` at `now`; returns the lock it started, if any.
    pub fn record_miss(&self, owner: &str, now: Timestamp) -> Option<Lockout> {
        let policy = self.policy;
        let mut suspects = self.suspects();
        if suspects
            .get(owner)
            .is_some_and(|s| s.is_stale(now, &policy))
        {
            suspects.remove(owner);
        }
        if !suspects.contains_key(owner) && suspects.len() >= policy.max_owners {
            evict(&mut suspects, now, &policy);
        }
        let suspect = suspects.entry(owner.to_owned()).or_insert_with(|| Suspect {
            misses: VecDeque::new(),
            locks: 0,
            locked_until: None,
            last_miss: now,
        });
        suspect.last_miss = now;
        while suspect
            .misses
            .front()
            .is_some_and(|first| now - *first >= policy.window)
        {
            suspect.misses.pop_front();
        }
        suspect.misses.push_back(now);
        if suspect.misses.len() < policy.threshold {
            return None;
        }
        // A lock starts: the window starts afresh after it.
        suspect.misses.clear();
        let factor = 1i32 << suspect.locks.min(20);
        let lock = policy
            .base_lock
            .checked_mul(factor)
            .map_or(policy.max_lock, |lock| lock.min(policy.max_lock));
        suspect.locks = suspect.locks.saturating_add(1);
        let until = now + lock;
        suspect.locked_until = Some(until);
        Some(Lockout { until })
    }

    /// How many owners are tracked now.
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.suspects().len()
    }
}

/// Makes room: forgets stale owners, then, if still full, the least suspicious eighth
/// (unlocked before locked, oldest wrong guess first), so a flood of new owners costs
/// one scan per eighth of the capacity rather than one per owner.
fn evict(suspects: &mut HashMap<String, Suspect>, now: Timestamp, policy: &GuessPolicy) {
    suspects.retain(|_, suspect| !suspect.is_stale(now, policy));
    if suspects.len() < policy.max_owners {
        return;
    }
    let mut ranked: Vec<(bool, Timestamp, String)> = suspects
        .iter()
        .map(|(owner, s)| (s.locked_at(now).is_some(), s.last_miss, owner.clone()))
        .collect();
    let drop = (policy.max_owners / 8).max(1).min(ranked.len());
    ranked.select_nth_unstable(drop - 1);
    for (_, _, owner) in ranked.into_iter().take(drop) {
        suspects.remove(&owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payments_core::timestamp;

    fn t0() -> Timestamp {
        timestamp::parse("2026-11-21T00:00:00.000Z").unwrap()
    }

    fn policy() -> GuessPolicy {
        GuessPolicy {
            threshold: 3,
            window: Duration::minutes(10),
            base_lock: Duration::minutes(1),
            max_lock: Duration::minutes(5),
            forget_after: Duration::hours(1),
            max_owners: 16,
        }
    }

    #[test]
    fn the_threshold_locks_and_the_lock_ends() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        assert_eq!(guard.record_miss("eve", now), None);
        assert_eq!(guard.record_miss("eve", now + Duration::seconds(1)), None);
        assert!(guard.check("eve", now + Duration::seconds(2)).is_ok());
        let lock = guard
            .record_miss("eve", now + Duration::seconds(2))
            .expect("third miss locks");
        assert_eq!(lock.until, now + Duration::seconds(62));
        let refused = guard.check("eve", now + Duration::seconds(3)).unwrap_err();
        assert_eq!(refused.retry_after_secs(now + Duration::seconds(3)), 59);
        assert_eq!(
            refused.retry_after_secs(now + Duration::milliseconds(61_500)),
            1
        );
        // Someone else is not affected.
        assert!(guard.check("bob", now + Duration::seconds(3)).is_ok());
        // The lock ends exactly when it says.
        assert!(guard.check("eve", now + Duration::seconds(61)).is_err());
        assert!(guard.check("eve", now + Duration::seconds(62)).is_ok());
    }

    #[test]
    fn misses_outside_the_window_do_not_count() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        guard.record_miss("eve", now);
        guard.record_miss("eve", now + Duration::minutes(5));
        // The first miss left the window: two misses in it, no lock.
        assert_eq!(guard.record_miss("eve", now + Duration::minutes(10)), None);
        assert!(guard.check("eve", now + Duration::minutes(10)).is_ok());
        assert!(
            guard
                .record_miss("eve", now + Duration::minutes(11))
                .is_some()
        );
    }

    #[test]
    fn locks_grow_exponentially_up_to_the_cap() {
        let guard = GuessGuard::new(policy());
        let mut now = t0();
        let mut locks = Vec::new();
        for _ in 0..5 {
            guard.record_miss("eve", now);
            guard.record_miss("eve", now);
            let lock = guard.record_miss("eve", now).unwrap();
            locks.push((lock.until - now).num_minutes());
            now = lock.until;
            assert!(guard.check("eve", now).is_ok());
        }
        assert_eq!(locks, vec![1, 2, 4, 5, 5]);
    }

    #[test]
    fn a_quiet_owner_is_forgotten_with_their_lock_count() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        for _ in 0..3 {
            guard.record_miss("eve", now);
        }
        for _ in 0..3 {
            guard.record_miss("eve", now + Duration::minutes(1));
        }
        assert_eq!(guard.tracked(), 1);
        let later = now + Duration::hours(2);
        assert!(guard.check("eve", later).is_ok());
        assert_eq!(guard.tracked(), 0);
        guard.record_miss("eve", later);
        guard.record_miss("eve", later);
        let lock = guard.record_miss("eve", later).unwrap();
        assert_eq!(
            lock.until - later,
            Duration::minutes(1),
            "back to the first lock"
        );
    }

    #[test]
    fn memory_stays_bounded_and_locked_owners_are_kept() {
        let guard = GuessGuard::new(policy());
        let now = t0();
        for _ in 0..3 {
            guard.record_miss("eve", now);
        }
        for n in 0..1_000 {
            guard.record_miss(&format!("owner-{n}"), now + Duration::milliseconds(n));
            assert!(guard.tracked() <= 16);
        }
        assert!(
            guard.check("eve", now + Duration::seconds(2)).is_err(),
            "the locked owner survives eviction"
        );
        // The most recent owners are still tracked.
        assert!(guard.tracked() >= 8);
    }
}

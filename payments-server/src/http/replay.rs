//! [`ReplayGuard`]: sealed-v2 requests are accepted once. A captured request replayed
//! within its 300 s freshness window (a partial cancel, a coupon issue) would otherwise act
//! again; the guard remembers the tag of every request it accepted until that request's
//! timestamp is no longer fresh, when the freshness check refuses it anyway.
//!
//! Only authentic requests reach the guard (the tag is checked first), so only holders of
//! the envelope secret can fill it. Memory is bounded: when the guard is full of fresh
//! tags it refuses new requests (`503 OVERLOADED`) instead of forgetting a tag, which
//! would let that request be replayed.
//!
//! The guard is per instance. Across instances, a request that changes money carries an
//! `Idempotency-Key` bound into its tag, and the idempotency record in the shared store
//! answers its replay with the first answer; a replayed create without a key is refused
//! by the store's uniqueness rules (`409`).

use payments_core::envelope::MAX_SKEW_MS;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Mutex;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This tag was accepted before.
    Replayed,
    /// The guard holds `capacity` fresh tags; retry once some expire.
    Full,
}

/// The tags of accepted sealed-v2 requests, until each one's timestamp stops being fresh.
#[derive(Debug)]
pub struct ReplayGuard {
    capacity: usize,
    inner: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// The first 8 bytes of each remembered tag: a fresh tag matching one of up to
    /// 2,000,000 of them by chance is a 1 in 10^13 event, and it costs a `401`, not money.
    tags: HashSet<u64>,
    /// When each tag may be forgotten, soonest first.
    expiry: BinaryHeap<Reverse<(i64, u64)>>,
}

impl ReplayGuard {
    /// A guard that remembers at most `capacity` tags.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Seen::default()),
        }
    }

    /// Accepts the request whose tag is `tag` and whose timestamp is `timestamp_ms`, at
    /// `now_ms`; remembers it until the timestamp is no longer fresh.
    ///
    /// # Errors
    /// [`Refusal::Replayed`] when the tag was accepted before; [`Refusal::Full`] when
    /// `capacity` fresh tags are remembered.
    pub fn accept(&self, tag: &[u8], timestamp_ms: i64, now_ms: i64) -> Result<(), Refusal> {
        let mut prefix = [0u8; 8];
        let n = tag.len().min(8);
        prefix[..n].copy_from_slice(&tag[..n]);
        let key = u64::from_le_bytes(prefix);
        let mut seen = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if seen.tags.contains(&key) {
            return Err(Refusal::Replayed);
        }
        while let Some(Reverse((at, old))) = seen.expiry.peek().copied() {
            if at >= now_ms {
                break;
            }
            seen.expiry.pop();
            seen.tags.remove(&old);
        }
        if seen.tags.len() >= self.capacity {
            return Err(Refusal::Full);
        }
        seen.tags.insert(key);
        seen.expiry
            .push(Reverse((timestamp_ms.saturating_add(MAX_SKEW_MS), key)));
        Ok(())
    }

    /// How many tags are remembered (the tests' view of the bound).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tags
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_000_000_000;

    #[test]
    fn a_tag_is_accepted_once_while_its_timestamp_is_fresh() {
        let guard = ReplayGuard::new(10);
        assert_eq!(guard.accept(&[1; 32], T0, T0), Ok(()));
        assert_eq!(
            guard.accept(&[1; 32], T0, T0 + 1_000),
            Err(Refusal::Replayed)
        );
        assert_eq!(guard.accept(&[2; 32], T0, T0 + 1_000), Ok(()));
        // Once the timestamp is stale the freshness check refuses the request, so the
        // tag is forgotten (here on the next accept).
        assert_eq!(guard.accept(&[3; 32], T0, T0 + MAX_SKEW_MS + 1), Ok(()));
        assert_eq!(guard.len(), 1);
    }

    #[test]
    fn a_full_guard_refuses_new_requests_and_forgets_nothing_fresh() {
        let guard = ReplayGuard::new(2);
        guard.accept(&[1; 32], T0, T0).unwrap();
        guard.accept(&[2; 32], T0, T0).unwrap();
        assert_eq!(guard.accept(&[3; 32], T0, T0), Err(Refusal::Full));
        assert_eq!(guard.accept(&[1; 32], T0, T0), Err(Refusal::Replayed));
        // A tag from the future is kept until its own timestamp goes stale.
        let later = T0 + MAX_SKEW_MS + 1;
        guard.accept(&[4; 32], later + 200_000, later).unwrap();
        assert_eq!(
            guard.accept(&[4; 32], later + 200_000, later + 400_000),
            Err(Refusal::Replayed)
        );
    }
}

//! [`Retention`]: the bookkeeping behind the `capacity` and `record_ttl` knobs — which
//! records a fake must forget. A fake keeps its records in its own maps; it tells the
//! index about each new record and removes the keys the index hands back.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

use chrono::{DateTime, Utc};

use crate::Config;

/// An insertion-order index of a fake's records, bounded by [`Config::capacity`] (the
/// oldest first out) and [`Config::record_ttl`] (a record older than the TTL by the fake's
/// clock is out). With neither set it forgets nothing and costs one push per record.
/// The record just inserted is always kept, so a capacity of 0 acts as 1: a fake can
/// still answer the request that created it.
#[derive(Debug)]
pub struct Retention<K> {
    capacity: Option<usize>,
    ttl: Option<chrono::Duration>,
    /// Tracked keys, oldest first, with their creation time.
    order: VecDeque<(K, DateTime<Utc>)>,
    tracked: HashSet<K>,
}

impl<K> Default for Retention<K> {
    /// Unbounded: forgets nothing.
    fn default() -> Self {
        Self {
            capacity: None,
            ttl: None,
            order: VecDeque::new(),
            tracked: HashSet::new(),
        }
    }
}

impl<K: Eq + Hash + Clone> Retention<K> {
    /// An index bounded by `config`'s capacity and record TTL.
    pub fn new(config: &Config) -> Self {
        Self {
            capacity: config.capacity_limit().map(|n| n.max(1)),
            ttl: config
                .record_lifetime()
                .map(|d| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
            ..Self::default()
        }
    }

    /// Notes that `key` was created at `now` (a key already tracked keeps its first time)
    /// and returns the keys to forget now: those past the capacity, oldest first, and the
    /// expired ones (see [`Retention::expired`]). The returned keys are no longer tracked.
    pub fn insert(&mut self, key: K, now: DateTime<Utc>) -> Vec<K> {
        if self.tracked.insert(key.clone()) {
            self.order.push_back((key, now));
        }
        let mut gone = self.expired(now);
        if let Some(cap) = self.capacity {
            while self.order.len() > cap {
                if let Some((k, _)) = self.order.pop_front() {
                    self.tracked.remove(&k);
                    gone.push(k);
                }
            }
        }
        gone
    }

    /// Returns (and stops tracking) the keys created more than the TTL before `now`;
    /// none without a TTL. A fake calls it before reading its records, so a lookup of an
    /// expired record answers not-found.
    pub fn expired(&mut self, now: DateTime<Utc>) -> Vec<K> {
        let Some(ttl) = self.ttl else {
            return Vec::new();
        };
        // Scans all records, not just the front: the clock may have been set back, so
        // creation times need not follow insertion order.
        let mut gone = Vec::new();
        self.order.retain(|(k, at)| {
            let live = now.signed_duration_since(*at) <= ttl;
            if !live {
                gone.push(k.clone());
            }
            live
        });
        for k in &gone {
            self.tracked.remove(k);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn unbounded_forgets_nothing() {
        let mut r = Retention::default();
        for i in 0..100 {
            assert!(r.insert(i, at(i64::from(i))).is_empty());
        }
        assert!(r.expired(at(1_000_000)).is_empty());
    }

    #[test]
    fn capacity_evicts_the_oldest_first() {
        let mut r = Retention::new(&Config::default().capacity(2));
        assert!(r.insert("a", at(0)).is_empty());
        assert!(r.insert("b", at(1)).is_empty());
        assert!(r.insert("a", at(2)).is_empty(), "re-insert keeps its place");
        assert_eq!(r.insert("c", at(3)), vec!["a"]);
        assert_eq!(r.insert("d", at(4)), vec!["b"]);
    }

    #[test]
    fn capacity_zero_keeps_the_newest() {
        let mut r = Retention::new(&Config::default().capacity(0));
        assert!(r.insert("a", at(0)).is_empty());
        assert_eq!(r.insert("b", at(1)), vec!["a"]);
    }

    #[test]
    fn ttl_expires_records_older_than_it() {
        let mut r = Retention::new(&Config::default().record_ttl(Duration::from_secs(10)));
        r.insert("a", at(0));
        r.insert("b", at(5));
        assert!(
            r.expired(at(10)).is_empty(),
            "exactly the TTL old is still live"
        );
        assert_eq!(r.expired(at(11)), vec!["a"]);
        assert_eq!(r.insert("c", at(16)), vec!["b"]);
        assert!(r.expired(at(16)).is_empty());
    }
}

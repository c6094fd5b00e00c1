//! [`KeyedLimiter`]: a token bucket per key (a source address, a message id, a caller)
//! in bounded memory. It guards the routes an anonymous or a single caller could
//! otherwise call without limit: PG webhook intake per source address, re-delivery per
//! message.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

/// A token bucket per key: `burst` calls at once, then one more per `refill_ms`.
///
/// At most `capacity` keys are tracked. A key whose bucket has refilled is the same as
/// an untracked one, so those are dropped first; if every tracked bucket is still
/// draining, the one that refills soonest goes, so a flood of fresh keys costs memory
/// for `capacity` keys and never refuses a key for want of room.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    burst: u32,
    refill_ms: i64,
    capacity: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Tokens left, counted in milliseconds of refill: full is `burst × refill_ms`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// When the bucket is full again, in Unix milliseconds.
    full_at_ms: i64,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `burst` calls at once per key (at least 1), then one per `refill_ms`; at most
    /// `capacity` keys (at least 1) tracked.
    pub fn new(burst: u32, refill_ms: u64, capacity: usize) -> Self {
        Self {
            burst: burst.max(1),
            refill_ms: i64::try_from(refill_ms).unwrap_or(i64::MAX).max(0),
            capacity: capacity.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now_ms`.
    ///
    /// # Errors
    /// The milliseconds until the next token when the bucket is empty.
    pub fn check(&self, key: &K, now_ms: i64) -> Result<(), u64> {
        let span = self.refill_ms.saturating_mul(i64::from(self.burst));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(key) && buckets.len() >= self.capacity {
            buckets.retain(|_, bucket| bucket.full_at_ms > now_ms);
            if buckets.len() >= self.capacity
                && let Some(soonest) = buckets
                    .iter()
                    .min_by_key(|(_, bucket)| bucket.full_at_ms)
                    .map(|(key, _)| key.clone())
            {
                buckets.remove(&soonest);
            }
        }
        let bucket = buckets
            .entry(key.clone())
            .or_insert(Bucket { full_at_ms: now_ms });
        // The bucket's level is how far `full_at` lies ahead: empty at `span` ahead.
        let full_at = bucket.full_at_ms.max(now_ms);
        let after = full_at.saturating_add(self.refill_ms);
        if after - now_ms > span {
            return Err(u64::try_from(after - now_ms - span).unwrap_or(u64::MAX));
        }
        bucket.full_at_ms = after;
        Ok(())
    }

    /// Keys tracked now (the tests' view of the memory bound).
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }
}

/// The key of a source address: IPv4 as is, IPv6 by its /64 (one host's usual share, so
/// one machine cannot pass for 2^64 sources), an IPv4-mapped IPv6 address as its IPv4.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Whole seconds for a `Retry-After` header (at least 1).
pub fn retry_after_secs(ms: u64) -> u64 {
    ms.div_ceil(1_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PG sends every merchant's webhooks from a few addresses: at the default
    /// `[limits]`, one address delivering 1,000 deposits in a second and then 1,000 a
    /// second for a minute is never refused (the old default, 100 then 50/s, refused
    /// most of a 1,000/s burst, and the PG's retries left deposits unpaid for seconds).
    #[test]
    fn the_default_intake_limit_admits_a_pg_sending_a_thousand_webhooks_a_second() {
        let limits = crate::config::LimitsConfig::default();
        let limiter = KeyedLimiter::new(limits.intake_burst, limits.intake_refill_ms, 16);
        let pg = "203.0.113.7";
        for n in 0..61_000_i64 {
            let now_ms = n; // one webhook per millisecond
            assert!(limiter.check(&pg, now_ms).is_ok(), "webhook {n} refused");
        }
    }

    #[test]
    fn a_burst_then_one_per_refill() {
        let limiter = KeyedLimiter::new(3, 1_000, 16);
        for _ in 0..3 {
            assert_eq!(limiter.check(&"a", 0), Ok(()));
        }
        assert_eq!(limiter.check(&"a", 0), Err(1_000));
        assert_eq!(limiter.check(&"a", 400), Err(600));
        assert_eq!(limiter.check(&"b", 400), Ok(()), "keys are independent");
        assert_eq!(limiter.check(&"a", 1_000), Ok(()));
        assert!(limiter.check(&"a", 1_000).is_err());
        // Quiet long enough, the whole burst is back.
        for _ in 0..3 {
            assert_eq!(limiter.check(&"a", 10_000), Ok(()));
        }
    }

    #[test]
    fn memory_is_bounded_and_fresh_keys_are_never_refused_for_room() {
        let limiter = KeyedLimiter::new(1, 60_000, 100);
        for key in 0..10_000u32 {
            assert_eq!(limiter.check(&key, 0), Ok(()));
        }
        assert_eq!(limiter.tracked(), 100);
        // A key still tracked keeps its empty bucket.
        assert!(limiter.check(&9_999, 1).is_err());
    }

    #[test]
    fn ipv6_sources_count_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(source_key(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1_001), 2);
    }
}

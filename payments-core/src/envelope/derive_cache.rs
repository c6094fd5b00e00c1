//! The process-wide cache behind [`SealedV2Key::derive`]: the last few secrets' derived
//! keys, so that PBKDF2 (100,000 iterations) runs once per secret and process rather
//! than at every server start and client construction.
//!
//! - Keyed by a fingerprint of the secret, `HMAC-SHA256(process key, secret)`, under a
//!   random key drawn once per process: the cache never holds the secret, and a memory
//!   dump of the fingerprints alone does not allow guessing it faster than PBKDF2 would.
//!   Fingerprints are compared in constant time and wiped on drop.
//! - Bounded: at most [`CAPACITY`] secrets; the oldest entry is dropped first. A dropped
//!   key's material is wiped as soon as its last clone goes ([`SealedV2Key`] zeroizes
//!   on drop).
//! - One derivation per secret even under concurrency: each entry is a `OnceLock`, so a
//!   second caller with the same secret waits for the first instead of deriving again
//!   (the map's lock is never held while deriving, so other secrets do not wait).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::SealedV2Key;

/// How many secrets' keys the cache keeps. A process normally has one or two secrets
/// (its own and perhaps a peer's); a test suite that invents one per test still stays
/// small.
pub(crate) const CAPACITY: usize = 16;

type Fingerprint = Zeroizing<[u8; 32]>;
type Entry = (Fingerprint, Arc<OnceLock<SealedV2Key>>);

/// The cache: a small list, newest last. Linear search over at most [`CAPACITY`]
/// fingerprints costs nothing next to one derivation.
struct Cache {
    entries: VecDeque<Entry>,
}

impl Cache {
    const fn new() -> Self {
        Self {
            entries: VecDeque::new(),
        }
    }

    /// The slot for `fingerprint`, created (and the oldest slot evicted past
    /// [`CAPACITY`]) when absent.
    fn slot(&mut self, fingerprint: Fingerprint) -> Arc<OnceLock<SealedV2Key>> {
        // Constant time per comparison; which entry matched is not secret-dependent
        // beyond the fingerprint itself, which an observer cannot compute.
        if let Some((_, slot)) = self
            .entries
            .iter()
            .find(|(known, _)| bool::from(known.ct_eq(&*fingerprint)))
        {
            return slot.clone();
        }
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        let slot = Arc::new(OnceLock::new());
        self.entries.push_back((fingerprint, slot.clone()));
        slot
    }
}

static CACHE: Mutex<Cache> = Mutex::new(Cache::new());

/// The key for `secret`: from the cache, or made by `derive` (once, however many callers
/// ask at the same time) and kept.
pub(crate) fn derived(secret: &str, derive: fn(&str) -> SealedV2Key) -> SealedV2Key {
    derived_in(&CACHE, secret, derive)
}

fn derived_in(cache: &Mutex<Cache>, secret: &str, derive: fn(&str) -> SealedV2Key) -> SealedV2Key {
    let fingerprint = fingerprint(secret);
    // A panic while the lock was held cannot leave the list inconsistent (every change
    // is one push or pop), so a poisoned lock is still usable.
    let slot = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .slot(fingerprint);
    slot.get_or_init(|| derive(secret)).clone()
}

/// `HMAC-SHA256(process key, secret)`.
fn fingerprint(secret: &str) -> Fingerprint {
    static PROCESS_KEY: OnceLock<Zeroizing<[u8; 32]>> = OnceLock::new();
    let key = PROCESS_KEY.get_or_init(|| {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut *key);
        key
    });
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&**key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(secret.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Binding;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const BINDING: Binding<'static> = Binding {
        method: "POST",
        path: "/t",
        timestamp_ms: 1,
        idempotency_key: None,
    };

    /// A cheap stand-in for PBKDF2 that counts its calls: the secret's bytes, repeated.
    fn counting(secret: &str) -> SealedV2Key {
        CALLS.fetch_add(1, Ordering::SeqCst);
        let mut bytes = [0u8; 64];
        for (out, b) in bytes.iter_mut().zip(secret.bytes().cycle()) {
            *out = b;
        }
        SealedV2Key::from_bytes(bytes)
    }
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    /// The tests share `CALLS`: one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn same_keys(a: &SealedV2Key, b: &SealedV2Key) -> bool {
        b.open(&a.seal(b"x", &BINDING), &BINDING).is_ok()
    }

    #[test]
    fn derives_once_per_secret_and_keeps_secrets_apart() {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let cache = Mutex::new(Cache::new());
        let before = CALLS.load(Ordering::SeqCst);
        let a1 = derived_in(&cache, "secret a", counting);
        let a2 = derived_in(&cache, "secret a", counting);
        let b = derived_in(&cache, "secret b", counting);
        assert_eq!(CALLS.load(Ordering::SeqCst) - before, 2);
        assert!(same_keys(&a1, &a2));
        assert!(!same_keys(&a1, &b));
        assert!(same_keys(&a1, &counting("secret a")));
    }

    #[test]
    fn holds_at_most_capacity_and_drops_the_oldest() {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let cache = Mutex::new(Cache::new());
        for i in 0..=CAPACITY {
            derived_in(&cache, &format!("secret {i}"), counting);
        }
        assert_eq!(cache.lock().unwrap().entries.len(), CAPACITY);
        let before = CALLS.load(Ordering::SeqCst);
        // The newest is still there; the first one was evicted and is derived again.
        derived_in(&cache, &format!("secret {CAPACITY}"), counting);
        assert_eq!(CALLS.load(Ordering::SeqCst), before);
        derived_in(&cache, "secret 0", counting);
        assert_eq!(CALLS.load(Ordering::SeqCst), before + 1);
    }

    #[test]
    fn concurrent_callers_share_one_derivation() {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let cache = Mutex::new(Cache::new());
        let before = CALLS.load(Ordering::SeqCst);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| derived_in(&cache, "shared", counting));
            }
        });
        assert_eq!(CALLS.load(Ordering::SeqCst) - before, 1);
    }

    #[test]
    fn the_real_derivation_is_cached_and_matches_pbkdf2() {
        let secret = "derive-cache test secret";
        let cached = SealedV2Key::derive(secret);
        let again = SealedV2Key::derive(secret);
        let fresh = SealedV2Key::derive_uncached(secret);
        assert!(same_keys(&cached, &fresh));
        assert!(same_keys(&again, &fresh));
    }
}

//! Injected time and randomness: every rule that depends on "now" or on a random value
//! takes a [`Clock`] or an [`IdGen`], so tests drive both without sleeping.

use crate::timestamp::Timestamp;
use std::sync::Mutex;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    /// A clock reading `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where identifiers and unguessable codes come from.
pub trait IdGen: Send + Sync {
    /// A fresh UUID (v4 in production).
    fn uuid(&self) -> uuid::Uuid;

    /// A fresh unguessable code of `len` characters from `alphabet` (empty when the
    /// alphabet is).
    fn code(&self, alphabet: &[u8], len: usize) -> String;
}

/// Randomness from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIdGen;

impl IdGen for RandomIdGen {
    fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::new_v4()
    }

    fn code(&self, alphabet: &[u8], len: usize) -> String {
        use rand::Rng;
        if alphabet.is_empty() {
            return String::new();
        }
        let mut rng = rand::rngs::OsRng;
        (0..len)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
            .collect()
    }
}

/// A deterministic generator for tests: UUIDs and codes count up from 1.
#[derive(Debug, Default)]
pub struct SequentialIdGen(std::sync::atomic::AtomicU64);

impl IdGen for SequentialIdGen {
    fn uuid(&self) -> uuid::Uuid {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        uuid::Uuid::from_u128(n as u128)
    }

    fn code(&self, alphabet: &[u8], len: usize) -> String {
        if alphabet.is_empty() {
            return String::new();
        }
        let mut n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let mut out = vec![alphabet[0]; len];
        for slot in out.iter_mut().rev() {
            *slot = alphabet[(n % alphabet.len() as u64) as usize];
            n /= alphabet.len() as u64;
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

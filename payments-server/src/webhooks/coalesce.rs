//! [`Refreshes`]: at most one PG fetch per payment at a time, and at most one per short
//! window, however many webhooks name it.
//!
//! A PG webhook only names a payment and the server fetches it from the PG, so anyone
//! who knows a paymentKey or imp_uid (a buyer does) could make the server call the PG
//! once per request and burn the merchant's PG rate limit. Here the first webhook for a
//! payment fetches it (the *lead*); a webhook for it while that fetch runs or within
//! the window after it only marks the payment *dirty* and is answered at once; when the
//! window ends, a dirty payment is fetched once more, so a change the PG announced
//! after the lead's fetch read the payment is still seen. N webhooks in a burst cost two
//! fetches, and a steady flood one per window.

use payments_core::records::VendorCode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A payment by its PG uid.
pub type PaymentKey = (VendorCode, String);

/// The payments fetched recently, each with whether a webhook named it since.
#[derive(Debug)]
pub struct Refreshes {
    window: Duration,
    capacity: usize,
    dirty: Mutex<HashMap<PaymentKey, bool>>,
}

/// What a webhook for a payment does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Fetch it now, then call [`Refreshes::follow_up`] until it says stop.
    Lead,
    /// A fetch ran or is running within the window: nothing to do now, the follow-up
    /// fetches once more.
    Joined,
    /// Too many payments are being followed: fetch it, without coalescing (the
    /// per-source rate limit still bounds these).
    Uncoalesced,
}

impl Refreshes {
    /// Coalesces within `window`, following at most `capacity` payments at once.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity: capacity.max(1),
            dirty: Mutex::new(HashMap::new()),
        }
    }

    /// The window a lead waits before each follow-up.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// A webhook names `key`: who fetches.
    pub fn enter(&self, key: &PaymentKey) -> Turn {
        if self.window.is_zero() {
            return Turn::Uncoalesced;
        }
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flag) = dirty.get_mut(key) {
            *flag = true;
            return Turn::Joined;
        }
        if dirty.len() >= self.capacity {
            return Turn::Uncoalesced;
        }
        dirty.insert(key.clone(), false);
        Turn::Lead
    }

    /// Called by the lead a window after each fetch: `true` when a webhook named the
    /// payment since (fetch once more, then call again), `false` when none did (the
    /// payment is no longer followed).
    pub fn follow_up(&self, key: &PaymentKey) -> bool {
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        match dirty.get_mut(key) {
            Some(flag) if *flag => {
                *flag = false;
                true
            }
            _ => {
                dirty.remove(key);
                false
            }
        }
    }

    /// Payments followed now.
    #[cfg(test)]
    pub fn followed(&self) -> usize {
        self.dirty.lock().map_or(0, |d| d.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uid: &str) -> PaymentKey {
        (VendorCode::TossPayments, uid.to_owned())
    }

    #[test]
    fn one_lead_then_one_follow_up_for_a_burst() {
        let refreshes = Refreshes::new(Duration::from_millis(100), 8);
        assert_eq!(refreshes.enter(&key("a")), Turn::Lead);
        for _ in 0..100 {
            assert_eq!(refreshes.enter(&key("a")), Turn::Joined);
        }
        assert_eq!(refreshes.enter(&key("b")), Turn::Lead, "per payment");
        assert!(
            refreshes.follow_up(&key("a")),
            "the burst asks for one more fetch"
        );
        assert!(!refreshes.follow_up(&key("a")), "then nothing named it");
        assert_eq!(
            refreshes.enter(&key("a")),
            Turn::Lead,
            "a new burst leads again"
        );
    }

    #[test]
    fn bounded_and_switchable_off() {
        let refreshes = Refreshes::new(Duration::from_millis(100), 2);
        assert_eq!(refreshes.enter(&key("a")), Turn::Lead);
        assert_eq!(refreshes.enter(&key("b")), Turn::Lead);
        assert_eq!(refreshes.enter(&key("c")), Turn::Uncoalesced);
        assert_eq!(refreshes.followed(), 2);
        let off = Refreshes::new(Duration::ZERO, 2);
        assert_eq!(off.enter(&key("a")), Turn::Uncoalesced);
    }
}

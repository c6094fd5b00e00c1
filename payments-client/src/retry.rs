//! [`RetryPolicy`]: how many attempts a retryable call gets and how long to wait
//! between them.
//!
//! What is retryable is fixed by the protocol, not by the policy:
//! - reads (`get`, `at`, monitors) on a transport error, a timeout, a lost connection or
//!   a `502`/`503`/`504`;
//! - creates and cancels only when the caller gave an [`IdempotencyKey`], on the same
//!   conditions plus `409 IDEMPOTENCY_IN_FLIGHT`, every attempt with the same key;
//! - creates and cancels without a key: never.
//!
//! [`IdempotencyKey`]: crate::IdempotencyKey

use std::time::Duration;

/// Attempts and exponential backoff for retryable calls. The default is 3 attempts,
/// waiting 100 ms, then 200 ms (doubling, capped at 2 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The off switch: every call gets exactly one attempt.
    ///
    /// ```
    /// use payments_client::RetryPolicy;
    /// assert_eq!(RetryPolicy::none().max_attempts(), 1);
    /// ```
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The default backoff with `max_attempts` attempts in all (the first included);
    /// `0` is taken as `1`.
    ///
    /// ```
    /// use payments_client::RetryPolicy;
    /// assert_eq!(RetryPolicy::attempts(5).max_attempts(), 5);
    /// assert_eq!(RetryPolicy::attempts(0).max_attempts(), 1);
    /// ```
    pub fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            ..Self::default()
        }
    }

    /// The same policy waiting `initial` before the first retry, doubling each time up
    /// to `max` (a `max` below `initial` is raised to `initial`).
    ///
    /// ```
    /// use payments_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::attempts(4)
    ///     .backoff(Duration::from_millis(10), Duration::from_millis(25));
    /// assert_eq!(policy.delay_before_retry(1), Duration::from_millis(10));
    /// assert_eq!(policy.delay_before_retry(2), Duration::from_millis(20));
    /// assert_eq!(policy.delay_before_retry(3), Duration::from_millis(25));
    /// ```
    pub fn backoff(self, initial: Duration, max: Duration) -> Self {
        Self {
            initial_backoff: initial,
            max_backoff: max.max(initial),
            ..self
        }
    }

    /// Attempts in all, the first included (at least 1).
    ///
    /// ```
    /// use payments_client::RetryPolicy;
    /// assert_eq!(RetryPolicy::default().max_attempts(), 3);
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long to wait before retry number `retry` (1 for the second attempt):
    /// `initial × 2^(retry-1)`, capped at the maximum.
    ///
    /// ```
    /// use payments_client::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.delay_before_retry(1), Duration::from_millis(100));
    /// assert_eq!(policy.delay_before_retry(30), Duration::from_secs(2));
    /// ```
    pub fn delay_before_retry(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.initial_backoff
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

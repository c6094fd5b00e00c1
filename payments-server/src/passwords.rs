//! Record passwords: every check of a record's password goes through [`check`], which
//! puts the guess limiter in front of the hash and upgrades an old stored hash after a
//! right password.
//!
//! The limiter counts wrong passwords per record in the store ([`PasswordStore`](crate::store::PasswordStore)), so
//! the count holds across restarts; the policy is `[passwords]` in the configuration
//! ([`crate::config::PasswordConfig`]). It is read *before* the hash is checked: during
//! a lockout every password is refused, the right one too, or the refusal would tell a
//! guesser which guess was right. Within one server, checks of the same record take
//! turns ([`PasswordLimiter`]), so concurrent guesses cannot all pass the limiter before
//! the first failure is counted: at most `max_failures` guesses per window reach the
//! hash, however many arrive at once.

use crate::app::App;
use crate::errors::AccessError;
use crate::store::PasswordRecord;
use payments_core::password::PasswordCheck;

/// Shards of the per-record turn: two records share a turn only when their ids fall in
/// the same shard, and then only for the few microseconds a check takes.
const SHARDS: usize = 1024;

/// The in-process half of the limiter: one turn per record (sharded), so the limiter
/// state a check reads is the one the previous check of that record wrote.
#[derive(Debug)]
pub struct PasswordLimiter {
    shards: Box<[tokio::sync::Mutex<()>]>,
}

impl Default for PasswordLimiter {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl PasswordLimiter {
    async fn turn(&self, record: PasswordRecord) -> tokio::sync::MutexGuard<'_, ()> {
        let index = (record.id.as_u128() ^ record.kind as u128) as usize % self.shards.len();
        self.shards[index].lock().await
    }
}

/// Checks `password` against `hash`, the stored hash of the record `stored_in`, with
/// the guess limiter of the record `counted_as` in front (the same record, except for a
/// transaction that belongs to a history: it shares the history's count, since it has
/// the history's password).
///
/// A wrong password is counted; the `max_failures`-th in a window locks the record. A
/// right password clears the record's count, and an old stored form (PBKDF2, or a
/// keyed hash under a retired data key) is replaced by the keyed hash under the active
/// key; a failed upgrade is logged, not answered (the old hash still verifies).
///
/// # Errors
/// [`AccessError::Locked`] during a lockout, whatever the password;
/// [`AccessError::WrongPassword`]; store failures; [`AccessError::Internal`] for a
/// corrupt stored hash.
pub async fn check(
    app: &App,
    counted_as: PasswordRecord,
    stored_in: PasswordRecord,
    hash: &str,
    password: &str,
) -> Result<(), AccessError> {
    let _turn = app.password_limiter.turn(counted_as).await;
    let now = app.now_ms();
    let attempts = app.store.attempts(counted_as).await?;
    if let Some(until) = attempts.and_then(|state| state.locked_at(now)) {
        return Err(locked(until, now));
    }
    let checked = app.check_hash(hash, password).await?;
    if checked == PasswordCheck::Wrong {
        let policy = app.config.passwords.policy();
        let state = app.store.record_failure(counted_as, now, &policy).await?;
        if state.locked_at(now).is_some() {
            tracing::warn!(
                kind = counted_as.kind.as_str(),
                record = %counted_as.id,
                lockouts = state.lockouts,
                "record locked after too many wrong passwords",
            );
        }
        return Err(AccessError::WrongPassword);
    }
    if attempts.is_some() {
        app.store.clear_attempts(counted_as).await?;
    }
    if let PasswordCheck::Upgrade { rehashed } = checked {
        match app
            .store
            .replace_password_hash(stored_in, hash, &rehashed)
            .await
        {
            Ok(_) => {}
            Err(error) => tracing::warn!(
                kind = stored_in.kind.as_str(),
                record = %stored_in.id,
                %error,
                "could not upgrade a stored password hash; it still verifies",
            ),
        }
    }
    Ok(())
}

fn locked(until_ms: i64, now_ms: i64) -> AccessError {
    let millis = u64::try_from(until_ms - now_ms).unwrap_or(0);
    AccessError::Locked {
        retry_after_secs: millis.div_ceil(1000).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PaymentServer;
    use crate::at_rest::DataKeys;
    use crate::histories;
    use crate::http::ApiError;
    use crate::store::{RecordKind, StoredHistory, StoredTransaction, TransactionWrite};
    use crate::transactions;
    use axum::response::IntoResponse;
    use chrono::Duration;
    use payments_core::clock::FixedClock;
    use payments_core::envelope::EnvelopeKind;
    use payments_core::password::PasswordHasher;
    use payments_core::records::{Source, Vendor, VendorCode};
    use payments_core::timestamp::{self, Timestamp};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use uuid::Uuid;

    const RIGHT: &str = "the right password";

    fn t0() -> Timestamp {
        timestamp::parse("2026-12-01T00:00:00.000Z").unwrap()
    }

    fn app(database: &str, data_key: &str, clock: &Arc<FixedClock>) -> Arc<App> {
        PaymentServer::builder()
            .database(database)
            .sealed_v2_secret("password limiter tests 0123456789")
            .data_key("k1", data_key)
            .clock(clock.clone())
            .build()
            .unwrap()
    }

    async fn history(app: &App, id: u128, password_hash: String) -> Uuid {
        let stored = StoredHistory {
            id: Uuid::from_u128(id),
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: "main".into(),
                uid: format!("pk-{id}"),
            },
            order_id: format!("o-{id}"),
            source: Source {
                schema: "shop".into(),
                table: "orders".into(),
                id: format!("o-{id}"),
            },
            price: payments_core::money::Money::new(1_000, payments_core::money::Currency::Krw)
                .unwrap(),
            refund: None,
            webhook_url: None,
            envelope: EnvelopeKind::SealedV2,
            password_hash,
            data_sealed: String::new(),
            cancels_sealed: String::new(),
            status: payments_core::vendor::PaymentStatus::Paid,
            created_at: t0(),
            paid_at: Some(t0()),
            cancelled_at: None,
            version: 0,
        };
        app.store.insert_history(&stored, None, &[]).await.unwrap();
        stored.id
    }

    fn checks(app: &App) -> u64 {
        app.password_checks.load(Ordering::Relaxed)
    }

    /// Sends `count` wrong passwords at once; returns (wrong, locked) answers.
    async fn flood(app: &Arc<App>, id: Uuid, count: usize) -> (usize, usize) {
        let mut guesses = tokio::task::JoinSet::new();
        for n in 0..count {
            let app = app.clone();
            guesses.spawn(async move {
                histories::get_by_id_checked(&app, id, &format!("guess {n}"))
                    .await
                    .map(|_| ())
            });
        }
        let (mut wrong, mut locked) = (0, 0);
        while let Some(answer) = guesses.join_next().await {
            match answer.unwrap() {
                Err(AccessError::WrongPassword) => wrong += 1,
                Err(AccessError::Locked { .. }) => locked += 1,
                other => panic!("a guess was answered {other:?}"),
            }
        }
        (wrong, locked)
    }

    fn retry_after(error: AccessError) -> u64 {
        match error {
            AccessError::Locked { retry_after_secs } => retry_after_secs,
            other => panic!("expected a lockout, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_thousand_guesses_reach_the_hash_five_times_per_window() {
        let clock = Arc::new(FixedClock::new(t0()));
        let app = app(":memory:", &DataKeys::generate(), &clock);
        let id = history(&app, 1, app.hash_password(RIGHT)).await;

        let before = checks(&app);
        assert_eq!(flood(&app, id, 1_000).await, (5, 995));
        assert_eq!(checks(&app) - before, 5, "only 5 guesses reached the hash");
        // During the lockout the right password is refused too, unchecked.
        let refused = histories::get_by_id_checked(&app, id, RIGHT).await;
        assert_eq!(retry_after(refused.unwrap_err()), 600);
        assert_eq!(checks(&app) - before, 5);

        // The next window: 5 more reach the hash, and the lockout doubles.
        clock.advance(Duration::minutes(10));
        assert_eq!(flood(&app, id, 1_000).await, (5, 995));
        assert_eq!(checks(&app) - before, 10);
        let refused = histories::get_by_id_checked(&app, id, RIGHT).await;
        assert_eq!(retry_after(refused.unwrap_err()), 1_200);

        // After it, the right password opens the record and starts it afresh.
        clock.advance(Duration::minutes(20));
        histories::get_by_id_checked(&app, id, RIGHT).await.unwrap();
        let record = PasswordRecord {
            kind: RecordKind::History,
            id,
        };
        assert_eq!(app.store.attempts(record).await.unwrap(), None);
        for _ in 0..4 {
            let wrong = histories::get_by_id_checked(&app, id, "wrong").await;
            assert!(matches!(wrong, Err(AccessError::WrongPassword)));
        }
        histories::get_by_id_checked(&app, id, RIGHT).await.unwrap();
        // Another record was never affected.
        let other = history(&app, 2, app.hash_password(RIGHT)).await;
        histories::get_by_id_checked(&app, other, RIGHT)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_lockout_holds_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("payments.sqlite");
        let database = database.to_str().unwrap();
        let key = DataKeys::generate();
        let clock = Arc::new(FixedClock::new(t0()));
        let first = app(database, &key, &clock);
        let id = history(&first, 1, first.hash_password(RIGHT)).await;
        for _ in 0..5 {
            let wrong = histories::get_by_id_checked(&first, id, "wrong").await;
            assert!(matches!(wrong, Err(AccessError::WrongPassword)));
        }
        drop(first);

        clock.advance(Duration::minutes(1));
        let second = app(database, &key, &clock);
        let refused = histories::get_by_id_checked(&second, id, RIGHT).await;
        assert_eq!(retry_after(refused.unwrap_err()), 540);
        assert_eq!(checks(&second), 0);
        clock.advance(Duration::minutes(9));
        histories::get_by_id_checked(&second, id, RIGHT)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_old_pbkdf2_hash_verifies_and_is_replaced_by_the_keyed_hash() {
        let clock = Arc::new(FixedClock::new(t0()));
        let app = app(":memory:", &DataKeys::generate(), &clock);
        let old = PasswordHasher::new(1_000).unwrap().hash(RIGHT);
        let id = history(&app, 1, old.clone()).await;
        let wrong = histories::get_by_id_checked(&app, id, "wrong").await;
        assert!(matches!(wrong, Err(AccessError::WrongPassword)));
        assert_eq!(
            app.store
                .history_by_id(id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            old
        );

        histories::get_by_id_checked(&app, id, RIGHT).await.unwrap();
        let upgraded = app.store.history_by_id(id).await.unwrap().unwrap();
        assert!(upgraded.password_hash.starts_with("hmac-sha256$k1$"));
        assert_eq!(
            upgraded.version, 0,
            "the upgrade is not an update of the record"
        );
        histories::get_by_id_checked(&app, id, RIGHT).await.unwrap();
        let wrong = histories::get_by_id_checked(&app, id, "wrong").await;
        assert!(matches!(wrong, Err(AccessError::WrongPassword)));
    }

    #[tokio::test]
    async fn a_transaction_of_a_history_shares_its_count() {
        let clock = Arc::new(FixedClock::new(t0()));
        let app = app(":memory:", &DataKeys::generate(), &clock);
        let hash = app.hash_password(RIGHT);
        let history_id = history(&app, 1, hash.clone()).await;
        let transaction = StoredTransaction {
            id: Uuid::from_u128(9),
            kind: payments_core::records::charges::TransactionKind::Payment,
            order_id: "o-1".into(),
            status: payments_core::transaction::TransactionStatus::Approved,
            history_id: Some(history_id),
            body_sealed: String::new(),
            password_hash: hash,
            holds_order: false,
            created_at: t0(),
            attempt_until: None,
            version: 0,
        };
        app.store
            .write_transaction(&TransactionWrite::Insert(transaction.clone()), &[])
            .await
            .unwrap();
        for _ in 0..3 {
            let wrong = histories::get_by_id_checked(&app, history_id, "wrong").await;
            assert!(matches!(wrong, Err(AccessError::WrongPassword)));
        }
        for _ in 0..2 {
            let wrong = transactions::get(&app, transaction.id, "wrong").await;
            assert!(matches!(wrong, Err(AccessError::WrongPassword)));
        }
        let refused = transactions::get(&app, transaction.id, RIGHT).await;
        assert_eq!(retry_after(refused.unwrap_err()), 600);
        let refused = histories::get_by_id_checked(&app, history_id, RIGHT).await;
        assert_eq!(retry_after(refused.unwrap_err()), 600);
    }

    #[test]
    fn a_lockout_is_answered_429_with_retry_after() {
        let response = ApiError::from(AccessError::Locked {
            retry_after_secs: 42,
        })
        .into_response();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "42");
    }
}

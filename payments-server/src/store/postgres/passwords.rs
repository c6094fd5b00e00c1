//! [`PasswordStore`] on PostgreSQL: `password_attempts` rows, counted under a
//! per-record advisory transaction lock (the row may not exist yet, so a row lock
//! cannot serialise the first two failures), so two instances counting wrong passwords
//! for one record at once never lose a count; and the compare-and-set of a record's
//! stored hash.

use super::{PostgresStore, engine, execute, get, query};
use crate::store::{
    AttemptPolicy, AttemptState, PasswordRecord, PasswordStore, RecordKind, StoreError,
};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;

/// The first key of the advisory locks that serialise a record's count (the
/// two-number key space, apart from the migrations' one-number lock); "pwat" in ASCII.
const ATTEMPT_LOCK_SPACE: i32 = 0x7077_6174;

/// The second key: the record folded to 32 bits. Two records that fold alike only take
/// turns, for the few milliseconds a count takes.
fn attempt_lock(record: PasswordRecord) -> i32 {
    let wide = record.id.as_u128() ^ ((record.kind as u128) << 120);
    let half = (wide as u64) ^ ((wide >> 64) as u64);
    ((half as u32) ^ ((half >> 32) as u32)) as i32
}

async fn query_attempts<C: GenericClient + Sync>(
    client: &C,
    record: PasswordRecord,
) -> Result<Option<AttemptState>, StoreError> {
    let rows = query(
        client,
        "SELECT failures, window_start_ms, lockouts, locked_until_ms, last_failure_ms \
         FROM password_attempts WHERE record_kind = $1 AND record_id = $2",
        &[&record.kind.as_str(), &record.id],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let failures: i32 = get(row, 0, "password_attempts.failures")?;
    let lockouts: i32 = get(row, 2, "password_attempts.lockouts")?;
    Ok(Some(AttemptState {
        failures: u32::try_from(failures)
            .map_err(|_| StoreError::Corrupt("password_attempts.failures"))?,
        window_start_ms: get(row, 1, "password_attempts.window_start_ms")?,
        lockouts: u32::try_from(lockouts)
            .map_err(|_| StoreError::Corrupt("password_attempts.lockouts"))?,
        locked_until_ms: get(row, 3, "password_attempts.locked_until_ms")?,
        last_failure_ms: get(row, 4, "password_attempts.last_failure_ms")?,
    }))
}

fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[async_trait]
impl PasswordStore for PostgresStore {
    async fn attempts(&self, record: PasswordRecord) -> Result<Option<AttemptState>, StoreError> {
        let client = self.client().await?;
        query_attempts(&client, record).await
    }

    async fn record_failure(
        &self,
        record: PasswordRecord,
        now_ms: i64,
        policy: &AttemptPolicy,
    ) -> Result<AttemptState, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(engine)?;
        execute(
            &tx,
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&ATTEMPT_LOCK_SPACE, &attempt_lock(record)],
        )
        .await?;
        let stored = query_attempts(&tx, record).await?;
        let next = AttemptState::after_failure(stored, now_ms, policy);
        if stored != Some(next) {
            execute(
                &tx,
                "INSERT INTO password_attempts (record_kind, record_id, failures, \
                 window_start_ms, lockouts, locked_until_ms, last_failure_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (record_kind, record_id) DO UPDATE SET \
                 failures = excluded.failures, window_start_ms = excluded.window_start_ms, \
                 lockouts = excluded.lockouts, locked_until_ms = excluded.locked_until_ms, \
                 last_failure_ms = excluded.last_failure_ms",
                &[
                    &record.kind.as_str(),
                    &record.id,
                    &int(next.failures),
                    &next.window_start_ms,
                    &int(next.lockouts),
                    &next.locked_until_ms,
                    &next.last_failure_ms,
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(engine)?;
        Ok(next)
    }

    async fn clear_attempts(&self, record: PasswordRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM password_attempts WHERE record_kind = $1 AND record_id = $2",
            &[&record.kind.as_str(), &record.id],
        )
        .await
        .map(drop)
    }

    async fn replace_password_hash(
        &self,
        record: PasswordRecord,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let sql = match record.kind {
            RecordKind::History => {
                "UPDATE histories SET password_hash = $3 WHERE id = $1 AND password_hash = $2"
            }
            RecordKind::Reservation => {
                "UPDATE reservations SET password_hash = $3 WHERE id = $1 AND password_hash = $2"
            }
            RecordKind::Transaction => {
                "UPDATE transactions SET password_hash = $3 WHERE id = $1 AND password_hash = $2"
            }
        };
        let client = self.client().await?;
        let changed = execute(&client, sql, &[&record.id, &old, &new]).await?;
        Ok(changed == 1)
    }
}

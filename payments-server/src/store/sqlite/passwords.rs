//! [`PasswordStore`] on SQLite: `password_attempts` rows (read on a reader, counted on
//! the one writer in one transaction, so two failures never lose a count), and the
//! compare-and-set of a record's stored hash.

use super::{SqliteStore, engine};
use crate::store::{
    AttemptPolicy, AttemptState, PasswordRecord, PasswordStore, RecordKind, StoreError,
};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

fn query_attempts(
    connection: &Connection,
    record: PasswordRecord,
) -> Result<Option<AttemptState>, StoreError> {
    let found = connection
        .prepare_cached(
            "SELECT failures, window_start_ms, lockouts, locked_until_ms, last_failure_ms \
             FROM password_attempts WHERE record_kind = ?1 AND record_id = ?2",
        )
        .map_err(engine)?
        .query_row(
            params![record.kind.as_str(), record.id.to_string()],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get(1)?,
                    row.get::<_, i64>(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .optional()
        .map_err(engine)?;
    found
        .map(
            |(failures, window_start_ms, lockouts, locked_until_ms, last)| {
                Ok(AttemptState {
                    failures: u32::try_from(failures)
                        .map_err(|_| StoreError::Corrupt("password_attempts.failures"))?,
                    window_start_ms,
                    lockouts: u32::try_from(lockouts)
                        .map_err(|_| StoreError::Corrupt("password_attempts.lockouts"))?,
                    locked_until_ms,
                    last_failure_ms: last,
                })
            },
        )
        .transpose()
}

#[async_trait]
impl PasswordStore for SqliteStore {
    async fn attempts(&self, record: PasswordRecord) -> Result<Option<AttemptState>, StoreError> {
        self.read(move |c| query_attempts(c, record)).await
    }

    async fn record_failure(
        &self,
        record: PasswordRecord,
        now_ms: i64,
        policy: &AttemptPolicy,
    ) -> Result<AttemptState, StoreError> {
        let policy = *policy;
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let stored = query_attempts(&tx, record)?;
            let next = AttemptState::after_failure(stored, now_ms, &policy);
            if stored != Some(next) {
                tx.prepare_cached(
                    "INSERT INTO password_attempts (record_kind, record_id, failures, \
                     window_start_ms, lockouts, locked_until_ms, last_failure_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT (record_kind, record_id) DO UPDATE SET \
                     failures = excluded.failures, window_start_ms = excluded.window_start_ms, \
                     lockouts = excluded.lockouts, locked_until_ms = excluded.locked_until_ms, \
                     last_failure_ms = excluded.last_failure_ms",
                )
                .map_err(engine)?
                .execute(params![
                    record.kind.as_str(),
                    record.id.to_string(),
                    next.failures,
                    next.window_start_ms,
                    next.lockouts,
                    next.locked_until_ms,
                    next.last_failure_ms,
                ])
                .map_err(engine)?;
                tx.commit().map_err(engine)?;
            }
            Ok(next)
        })
        .await
    }

    async fn clear_attempts(&self, record: PasswordRecord) -> Result<(), StoreError> {
        self.write(move |connection| {
            connection
                .prepare_cached(
                    "DELETE FROM password_attempts WHERE record_kind = ?1 AND record_id = ?2",
                )
                .map_err(engine)?
                .execute(params![record.kind.as_str(), record.id.to_string()])
                .map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        record: PasswordRecord,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let sql = match record.kind {
            RecordKind::History => {
                "UPDATE histories SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2"
            }
            RecordKind::Reservation => {
                "UPDATE reservations SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2"
            }
            RecordKind::Transaction => {
                "UPDATE transactions SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2"
            }
        };
        let (old, new) = (old.to_owned(), new.to_owned());
        self.write(move |connection| {
            let changed = connection
                .prepare_cached(sql)
                .map_err(engine)?
                .execute(params![record.id.to_string(), old, new])
                .map_err(engine)?;
            Ok(changed == 1)
        })
        .await
    }
}

//! [`CheckStore`] on SQLite: claims run on the one writer connection, so a claim's read
//! and its move of the rows' next check cannot be split by another claim.

use super::histories::{HISTORY_COLUMNS, history_from, history_row};
use super::{SqliteStore, engine, parse_uuid};
use crate::store::{CheckStore, DueChargeCheck, DueCheck, StoreError};
use async_trait::async_trait;
use rusqlite::params;
use uuid::Uuid;

#[async_trait]
impl CheckStore for SqliteStore {
    async fn claim_checks(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueCheck>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let due = {
                let sql = format!(
                    "SELECT {HISTORY_COLUMNS}, checks FROM histories \
                     WHERE next_check_at IS NOT NULL AND next_check_at <= ?1 \
                     ORDER BY next_check_at, id LIMIT ?2"
                );
                let mut statement = tx.prepare_cached(&sql).map_err(engine)?;
                let rows = statement
                    .query_map(params![now_ms, limit], |row| {
                        Ok((
                            history_row(row)?,
                            row.get::<_, String>(16)?,
                            row.get::<_, i64>(21)?,
                        ))
                    })
                    .map_err(engine)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(engine)?;
                rows.into_iter()
                    .map(|(row, status, checks)| {
                        Ok(DueCheck {
                            history: history_from(row, status)?,
                            checks: u32::try_from(checks).unwrap_or(u32::MAX),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?
            };
            for check in &due {
                tx.prepare_cached("UPDATE histories SET next_check_at = ?1 WHERE id = ?2")
                    .map_err(engine)?
                    .execute(params![lease_until_ms, check.history.id.to_string()])
                    .map_err(engine)?;
            }
            tx.commit().map_err(engine)?;
            Ok(due)
        })
        .await
    }

    async fn finish_check(
        &self,
        id: Uuid,
        claimed_until_ms: i64,
        next_ms: Option<i64>,
        checks: u32,
    ) -> Result<bool, StoreError> {
        self.write(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE histories SET next_check_at = ?1, checks = ?2 \
                     WHERE id = ?3 AND next_check_at = ?4",
                )
                .map_err(engine)?
                .execute(params![
                    next_ms,
                    i64::from(checks),
                    id.to_string(),
                    claimed_until_ms
                ])
                .map_err(engine)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn schedule_check(&self, id: Uuid, at_ms: i64) -> Result<(), StoreError> {
        self.write(move |connection| {
            connection
                .prepare_cached("UPDATE histories SET checks = 0, next_check_at = ?1 WHERE id = ?2")
                .map_err(engine)?
                .execute(params![at_ms, id.to_string()])
                .map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn schedule_charge_check(
        &self,
        transaction_id: Uuid,
        context_sealed: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let context = context_sealed.to_owned();
        self.write(move |connection| {
            connection.prepare_cached("INSERT INTO charge_checks (transaction_id, context_sealed, next_check_at, checks) \
                     VALUES (?1, ?2, ?3, 0) ON CONFLICT (transaction_id) DO UPDATE SET \
                     context_sealed = excluded.context_sealed, \
                     next_check_at = excluded.next_check_at, checks = 0")
    .map_err(engine)?
    .execute(params![transaction_id.to_string(), context, at_ms],
                )
                .map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn claim_charge_checks(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueChargeCheck>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let due = {
                let mut statement = tx
                    .prepare_cached(
                        "SELECT transaction_id, context_sealed, checks FROM charge_checks \
                         WHERE next_check_at <= ?1 ORDER BY next_check_at, transaction_id LIMIT ?2",
                    )
                    .map_err(engine)?;
                let rows = statement
                    .query_map(params![now_ms, limit], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(engine)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(engine)?;
                rows.into_iter()
                    .map(|(id, context_sealed, checks)| {
                        Ok(DueChargeCheck {
                            transaction_id: parse_uuid(&id, "charge_checks.transaction_id")?,
                            context_sealed,
                            checks: u32::try_from(checks).unwrap_or(u32::MAX),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?
            };
            for check in &due {
                tx.prepare_cached(
                    "UPDATE charge_checks SET next_check_at = ?1 WHERE transaction_id = ?2",
                )
                .map_err(engine)?
                .execute(params![lease_until_ms, check.transaction_id.to_string()])
                .map_err(engine)?;
            }
            tx.commit().map_err(engine)?;
            Ok(due)
        })
        .await
    }

    async fn finish_charge_check(
        &self,
        transaction_id: Uuid,
        claimed_until_ms: i64,
        next_ms: Option<i64>,
        checks: u32,
    ) -> Result<bool, StoreError> {
        self.write(move |connection| {
            let id = transaction_id.to_string();
            let changed = match next_ms {
                Some(next) => connection.prepare_cached("UPDATE charge_checks SET next_check_at = ?1, checks = ?2 \
                     WHERE transaction_id = ?3 AND next_check_at = ?4")
    .map_err(engine)?
    .execute(params![next, i64::from(checks), id, claimed_until_ms],
                ),
                None => connection.prepare_cached("DELETE FROM charge_checks WHERE transaction_id = ?1 AND next_check_at = ?2")
    .map_err(engine)?
    .execute(params![id, claimed_until_ms],
                ),
            }
            .map_err(engine)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn checks_pending(&self) -> Result<i64, StoreError> {
        self.read(|connection| {
            connection
                .prepare_cached(
                    "SELECT (SELECT COUNT(*) FROM histories WHERE next_check_at IS NOT NULL) \
                     + (SELECT COUNT(*) FROM charge_checks)",
                )
                .map_err(engine)?
                .query_row([], |row| row.get(0))
                .map_err(engine)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HistoryStore;
    use crate::store::sqlite::fixtures::history;
    use payments_core::vendor::PaymentStatus;

    /// Histories recorded before migration 0010 carry no check: the migration marks the
    /// ones still awaiting the PG due at once, and leaves the final ones alone.
    #[tokio::test]
    async fn histories_recorded_before_the_migration_awaiting_the_pg_are_due_at_once() {
        let store = SqliteStore::in_memory().unwrap();
        let waiting = crate::store::StoredHistory {
            status: PaymentStatus::WaitingForDeposit,
            paid_at: None,
            ..history(1, "order-1", "pay-1")
        };
        store.insert_history(&waiting, None, &[]).await.unwrap();
        store
            .insert_history(&history(2, "order-2", "pay-2"), None, &[])
            .await
            .unwrap();
        let migration = include_str!("../migrations/0010_reconcile.sql");
        let update = &migration[migration.find("UPDATE histories").unwrap()..];
        let update = &update[..=update.find(';').unwrap()];
        store
            .write(move |connection| {
                connection
                    .execute_batch(&format!(
                        "UPDATE histories SET next_check_at = NULL; {update}"
                    ))
                    .map_err(engine)
            })
            .await
            .unwrap();
        let due = store.claim_checks(0, 1, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].history.id, waiting.id);
        assert_eq!(store.checks_pending().await.unwrap(), 1);
    }
}

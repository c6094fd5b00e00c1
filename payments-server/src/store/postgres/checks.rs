//! [`CheckStore`] on PostgreSQL: due checks are claimed with `FOR UPDATE SKIP LOCKED`
//! and their next check moved to the end of the claim in the same statement, so two
//! instances claiming at once take different rows, as the outbox's claims do.

use super::histories::{HISTORY_COLUMNS, history_from};
use super::{PostgresStore, execute, get, query};
use crate::store::{CheckStore, DueChargeCheck, DueCheck, StoreError};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl CheckStore for PostgresStore {
    async fn claim_checks(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueCheck>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let columns = HISTORY_COLUMNS
            .split(',')
            .map(|column| format!("h.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "WITH due AS ( \
                 SELECT id, next_check_at FROM histories \
                 WHERE next_check_at IS NOT NULL AND next_check_at <= $1 \
                 ORDER BY next_check_at, id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE histories h SET next_check_at = $2 FROM due WHERE h.id = due.id \
             RETURNING {columns}, h.checks, due.next_check_at"
        );
        let rows = query(&client, &sql, &[&now_ms, &lease_until_ms, &limit]).await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let checks: i32 = get(row, 21, "histories.checks")?;
                let due: i64 = get(row, 22, "histories.next_check_at")?;
                Ok((
                    due,
                    DueCheck {
                        history: history_from(row)?,
                        checks: u32::try_from(checks).unwrap_or(0),
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING has no order: the longest due first, as SQLite hands them out.
        claimed.sort_by_key(|(due, check)| (*due, check.history.id));
        Ok(claimed.into_iter().map(|(_, check)| check).collect())
    }

    async fn finish_check(
        &self,
        id: Uuid,
        claimed_until_ms: i64,
        next_ms: Option<i64>,
        checks: u32,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let checks = i32::try_from(checks).unwrap_or(i32::MAX);
        let changed = execute(
            &client,
            "UPDATE histories SET next_check_at = $1, checks = $2 \
             WHERE id = $3 AND next_check_at = $4",
            &[&next_ms, &checks, &id, &claimed_until_ms],
        )
        .await?;
        Ok(changed == 1)
    }

    async fn schedule_check(&self, id: Uuid, at_ms: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "UPDATE histories SET checks = 0, next_check_at = $1 WHERE id = $2",
            &[&at_ms, &id],
        )
        .await?;
        Ok(())
    }

    async fn schedule_charge_check(
        &self,
        transaction_id: Uuid,
        context_sealed: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO charge_checks (transaction_id, context_sealed, next_check_at, checks) \
             VALUES ($1, $2, $3, 0) ON CONFLICT (transaction_id) DO UPDATE SET \
             context_sealed = EXCLUDED.context_sealed, \
             next_check_at = EXCLUDED.next_check_at, checks = 0",
            &[&transaction_id, &context_sealed, &at_ms],
        )
        .await?;
        Ok(())
    }

    async fn claim_charge_checks(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueChargeCheck>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = query(
            &client,
            "WITH due AS ( \
                 SELECT transaction_id, next_check_at FROM charge_checks \
                 WHERE next_check_at <= $1 \
                 ORDER BY next_check_at, transaction_id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE charge_checks c SET next_check_at = $2 FROM due \
             WHERE c.transaction_id = due.transaction_id \
             RETURNING c.transaction_id, c.context_sealed, c.checks, due.next_check_at",
            &[&now_ms, &lease_until_ms, &limit],
        )
        .await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let checks: i32 = get(row, 2, "charge_checks.checks")?;
                Ok((
                    get::<i64>(row, 3, "charge_checks.next_check_at")?,
                    DueChargeCheck {
                        transaction_id: get(row, 0, "charge_checks.transaction_id")?,
                        context_sealed: get(row, 1, "charge_checks.context_sealed")?,
                        checks: u32::try_from(checks).unwrap_or(0),
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|(due, check)| (*due, check.transaction_id));
        Ok(claimed.into_iter().map(|(_, check)| check).collect())
    }

    async fn finish_charge_check(
        &self,
        transaction_id: Uuid,
        claimed_until_ms: i64,
        next_ms: Option<i64>,
        checks: u32,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let checks = i32::try_from(checks).unwrap_or(i32::MAX);
        let changed =
            match next_ms {
                Some(next) => {
                    execute(
                        &client,
                        "UPDATE charge_checks SET next_check_at = $1, checks = $2 \
                     WHERE transaction_id = $3 AND next_check_at = $4",
                        &[&next, &checks, &transaction_id, &claimed_until_ms],
                    )
                    .await?
                }
                None => execute(
                    &client,
                    "DELETE FROM charge_checks WHERE transaction_id = $1 AND next_check_at = $2",
                    &[&transaction_id, &claimed_until_ms],
                )
                .await?,
            };
        Ok(changed == 1)
    }

    async fn checks_pending(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT (SELECT COUNT(*) FROM histories WHERE next_check_at IS NOT NULL) \
             + (SELECT COUNT(*) FROM charge_checks)",
            &[],
        )
        .await?;
        match rows.first() {
            Some(row) => get(row, 0, "histories.count"),
            None => Ok(0),
        }
    }
}

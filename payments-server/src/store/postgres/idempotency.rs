//! [`IdempotencyStore`] on PostgreSQL: a claim, its answer, its release. The claim is
//! an `INSERT … ON CONFLICT DO NOTHING`, so of two instances claiming one key at once
//! exactly one proceeds; the other reads the row under `FOR UPDATE` and waits, replays
//! or takes over a stale claim exactly as on SQLite.

use super::{PostgresStore, engine, execute, get, query};
use crate::store::{IdempotencyBegin, IdempotencyStore, RequestHash, StoreError};
use async_trait::async_trait;

/// Claims that vanish between our insert and our read (the holder abandoned them) are
/// tried again this many times before the key is reported in flight.
const CLAIM_TRIES: usize = 3;

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn idempotency_begin(
        &self,
        key: &str,
        route: &str,
        request_hash: &RequestHash,
        now_ms: i64,
        stale_before_ms: i64,
        expired_before_ms: i64,
    ) -> Result<IdempotencyBegin, StoreError> {
        let mut client = self.client().await?;
        for _ in 0..CLAIM_TRIES {
            let tx = client.transaction().await.map_err(engine)?;
            let claimed = execute(
                &tx,
                "INSERT INTO idempotency (key, route, request_hash, state, started_at) \
                 VALUES ($1, $2, $3, 'in_flight', $4) ON CONFLICT (key, route) DO NOTHING",
                &[&key, &route, &request_hash.current, &now_ms],
            )
            .await?;
            if claimed == 1 {
                tx.commit().await.map_err(engine)?;
                return Ok(IdempotencyBegin::Proceed);
            }
            let rows = query(
                &tx,
                "SELECT request_hash, state, status, body_sealed, started_at FROM idempotency \
                 WHERE key = $1 AND route = $2 FOR UPDATE",
                &[&key, &route],
            )
            .await?;
            let Some(row) = rows.first() else {
                continue;
            };
            let stored_hash: String = get(row, 0, "idempotency.request_hash")?;
            let state: String = get(row, 1, "idempotency.state")?;
            let status: Option<i32> = get(row, 2, "idempotency.status")?;
            let body: Option<String> = get(row, 3, "idempotency.body_sealed")?;
            let started_at: i64 = get(row, 4, "idempotency.started_at")?;
            let outcome = match (status, body) {
                // Expired: the key is new again, whatever it answered before.
                _ if started_at < expired_before_ms => {
                    execute(
                        &tx,
                        "UPDATE idempotency SET request_hash = $3, state = 'in_flight', \
                         status = NULL, body_sealed = NULL, started_at = $4 \
                         WHERE key = $1 AND route = $2",
                        &[&key, &route, &request_hash.current, &now_ms],
                    )
                    .await?;
                    IdempotencyBegin::Proceed
                }
                _ if !request_hash.matches(&stored_hash) => IdempotencyBegin::Mismatch,
                (Some(status), Some(body)) if state == "done" => IdempotencyBegin::Replay {
                    status: u16::try_from(status)
                        .map_err(|_| StoreError::Corrupt("idempotency.status"))?,
                    body_sealed: body,
                },
                _ if started_at < stale_before_ms => {
                    execute(
                        &tx,
                        "UPDATE idempotency SET started_at = $3 WHERE key = $1 AND route = $2",
                        &[&key, &route, &now_ms],
                    )
                    .await?;
                    IdempotencyBegin::Proceed
                }
                _ => IdempotencyBegin::InFlight,
            };
            tx.commit().await.map_err(engine)?;
            return Ok(outcome);
        }
        Ok(IdempotencyBegin::InFlight)
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        route: &str,
        status: u16,
        body_sealed: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "UPDATE idempotency SET state = 'done', status = $3, body_sealed = $4 \
             WHERE key = $1 AND route = $2",
            &[&key, &route, &i32::from(status), &body_sealed],
        )
        .await
        .map(drop)
    }

    async fn idempotency_abandon(&self, key: &str, route: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM idempotency WHERE key = $1 AND route = $2 AND state = 'in_flight'",
            &[&key, &route],
        )
        .await
        .map(drop)
    }

    async fn idempotency_sweep(
        &self,
        expired_before_ms: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM idempotency WHERE (key, route) IN \
             (SELECT key, route FROM idempotency WHERE started_at < $1 LIMIT $2)",
            &[&expired_before_ms, &i64::from(limit)],
        )
        .await
    }
}

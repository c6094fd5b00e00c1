//! [`IdempotencyStore`] on SQLite: a claim, its answer, its release.

use super::{SqliteStore, engine};
use crate::store::{IdempotencyBegin, IdempotencyStore, RequestHash, StoreError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn idempotency_begin(
        &self,
        key: &str,
        route: &str,
        request_hash: &RequestHash,
        now_ms: i64,
        stale_before_ms: i64,
        expired_before_ms: i64,
    ) -> Result<IdempotencyBegin, StoreError> {
        let (key, route, hash) = (key.to_owned(), route.to_owned(), request_hash.clone());
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let existing: Option<(String, String, Option<i64>, Option<String>, i64)> = tx
                .prepare_cached(
                    "SELECT request_hash, state, status, body_sealed, started_at FROM idempotency \
                     WHERE key = ?1 AND route = ?2",
                )
                .map_err(engine)?
                .query_row(params![key, route], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                })
                .optional()
                .map_err(engine)?;
            let outcome = match existing {
                None => {
                    tx.prepare_cached(
                        "INSERT INTO idempotency (key, route, request_hash, state, started_at) \
                         VALUES (?1, ?2, ?3, 'in_flight', ?4)",
                    )
                    .map_err(engine)?
                    .execute(params![key, route, hash.current, now_ms])
                    .map_err(engine)?;
                    IdempotencyBegin::Proceed
                }
                // Expired: the key is new again, whatever it answered before.
                Some((_, _, _, _, started_at)) if started_at < expired_before_ms => {
                    tx.prepare_cached(
                        "UPDATE idempotency SET request_hash = ?3, state = 'in_flight', \
                         status = NULL, body_sealed = NULL, started_at = ?4 \
                         WHERE key = ?1 AND route = ?2",
                    )
                    .map_err(engine)?
                    .execute(params![key, route, hash.current, now_ms])
                    .map_err(engine)?;
                    IdempotencyBegin::Proceed
                }
                Some((stored_hash, _, _, _, _)) if !hash.matches(&stored_hash) => {
                    IdempotencyBegin::Mismatch
                }
                Some((_, state, Some(status), Some(body), _)) if state == "done" => {
                    IdempotencyBegin::Replay {
                        status: status as u16,
                        body_sealed: body,
                    }
                }
                Some((_, _, _, _, started_at)) if started_at < stale_before_ms => {
                    tx.prepare_cached(
                        "UPDATE idempotency SET started_at = ?3 WHERE key = ?1 AND route = ?2",
                    )
                    .map_err(engine)?
                    .execute(params![key, route, now_ms])
                    .map_err(engine)?;
                    IdempotencyBegin::Proceed
                }
                Some(_) => IdempotencyBegin::InFlight,
            };
            tx.commit().map_err(engine)?;
            Ok(outcome)
        })
        .await
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        route: &str,
        status: u16,
        body_sealed: &str,
    ) -> Result<(), StoreError> {
        let (key, route, body) = (key.to_owned(), route.to_owned(), body_sealed.to_owned());
        self.write(move |connection| {
            connection
                .prepare_cached(
                    "UPDATE idempotency SET state = 'done', status = ?3, body_sealed = ?4 \
                     WHERE key = ?1 AND route = ?2",
                )
                .map_err(engine)?
                .execute(params![key, route, status, body])
                .map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn idempotency_abandon(&self, key: &str, route: &str) -> Result<(), StoreError> {
        let (key, route) = (key.to_owned(), route.to_owned());
        self.write(move |connection| {
            connection
                .prepare_cached(
                    "DELETE FROM idempotency WHERE key = ?1 AND route = ?2 AND state = 'in_flight'",
                )
                .map_err(engine)?
                .execute(params![key, route])
                .map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn idempotency_sweep(
        &self,
        expired_before_ms: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.write(move |connection| {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM idempotency WHERE rowid IN \
                     (SELECT rowid FROM idempotency WHERE started_at < ?1 LIMIT ?2)",
                )
                .map_err(engine)?
                .execute(params![expired_before_ms, limit])
                .map_err(engine)?;
            Ok(deleted as u64)
        })
        .await
    }
}

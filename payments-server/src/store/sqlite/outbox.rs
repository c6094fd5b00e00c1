//! [`OutboxStore`] on SQLite: deliveries are rows, claimed under a lease
//! (`leased_until`, as on PostgreSQL) on the one writer connection, stream by stream
//! and within the caller's [`ReceiverBudget`]; attempts are recorded with the row's
//! move, and the lease's end, in one SQL transaction.

use super::{SqliteStore, engine, parse_envelope, parse_ts, parse_uuid, ts};
use crate::store::{
    Attempt, AttemptOutcome, Delivery, DeliveryState, GivenUp, MessageKind, OutboxStore,
    ReceiverBudget, StoreError,
};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

/// The claim (`?1` now, `?2` limit, `?3` a JSON object of host → attempts left, `?4`
/// the cap of any other host). `due` is the oldest due deliveries that head their
/// stream (no earlier one pending, no other one leased) of hosts with attempts left;
/// of those, each host's first `remaining` are taken.
const CLAIM: &str = "\
    WITH budget(receiver, remaining) AS (SELECT key, value FROM json_each(?3)), \
    due AS ( \
        SELECT o.id, o.receiver, o.next_attempt_at FROM outbox o \
        WHERE o.state = 'pending' AND o.next_attempt_at <= ?1 \
          AND (o.leased_until IS NULL OR o.leased_until <= ?1) \
          AND o.receiver NOT IN (SELECT receiver FROM budget WHERE remaining <= 0) \
          AND NOT EXISTS ( \
              SELECT 1 FROM outbox e \
              WHERE e.stream = o.stream AND e.state = 'pending' AND e.id <> o.id \
                AND (e.id < o.id OR e.leased_until > ?1)) \
        ORDER BY o.next_attempt_at, o.id LIMIT ?2), \
    ranked AS ( \
        SELECT id, receiver, next_attempt_at, ROW_NUMBER() OVER ( \
            PARTITION BY receiver ORDER BY next_attempt_at, id) AS place \
        FROM due) \
    SELECT o.id, o.webhook_id, w.body_sealed, o.url, o.envelope, o.attempts, \
        w.kind, w.history_id, o.receiver \
    FROM ranked r JOIN outbox o ON o.id = r.id JOIN webhooks w ON w.id = o.webhook_id \
    LEFT JOIN budget b ON b.receiver = r.receiver \
    WHERE r.place <= COALESCE(b.remaining, ?4) \
    ORDER BY r.next_attempt_at, r.id";

/// When the next delivery may be claimed: of the rows heading their stream, the
/// latest of its next attempt and any lease on its stream, earliest first.
const NEXT_DUE: &str = "\
    SELECT MIN(MAX(o.next_attempt_at, COALESCE( \
        (SELECT MAX(e.leased_until) FROM outbox e \
         WHERE e.stream = o.stream AND e.state = 'pending'), o.next_attempt_at))) \
    FROM outbox o WHERE o.state = 'pending' AND NOT EXISTS ( \
        SELECT 1 FROM outbox e \
        WHERE e.stream = o.stream AND e.state = 'pending' AND e.id < o.id)";

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_deliveries_within(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
        budget: &ReceiverBudget,
    ) -> Result<Vec<Delivery>, StoreError> {
        // What each host with attempts in flight has left, as a JSON object for
        // json_each; any other host has the whole cap.
        let left: serde_json::Map<String, serde_json::Value> = budget
            .hosts()
            .map(|(host, left)| (host.to_owned(), serde_json::Value::from(left as u64)))
            .collect();
        let left = serde_json::Value::Object(left).to_string();
        let cap = i64::try_from(budget.per_receiver()).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // On the one writer connection, the read and the lease cannot be split by
        // another claim.
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            let mut out = Vec::new();
            {
                let mut statement = tx.prepare_cached(CLAIM).map_err(engine)?;
                let rows = statement
                    .query_map(params![now_ms, limit, left, cap], |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, i64>(5)?,
                            row.get::<_, String>(6)?,
                            row.get::<_, Option<String>>(7)?,
                            row.get::<_, String>(8)?,
                        ))
                    })
                    .map_err(engine)?;
                for row in rows {
                    let (
                        outbox_id,
                        webhook_id,
                        body_sealed,
                        url,
                        envelope,
                        attempts,
                        kind,
                        history,
                        receiver,
                    ) = row.map_err(engine)?;
                    out.push(Delivery {
                        outbox_id,
                        webhook_id: parse_uuid(&webhook_id, "webhook_id")?,
                        kind: parse_kind(&kind)?,
                        history_id: history.map(|h| parse_uuid(&h, "history_id")).transpose()?,
                        receiver,
                        body_sealed,
                        url,
                        envelope: parse_envelope(&envelope)?,
                        attempts: attempts as u32,
                    });
                }
                let mut lease = tx
                    .prepare_cached("UPDATE outbox SET leased_until = ?2 WHERE id = ?1")
                    .map_err(engine)?;
                for delivery in &out {
                    lease
                        .execute(params![delivery.outbox_id, lease_until_ms])
                        .map_err(engine)?;
                }
            }
            tx.commit().map_err(engine)?;
            Ok(out)
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            c.prepare_cached(NEXT_DUE)
                .map_err(engine)?
                .query_row([], |row| row.get::<_, Option<i64>>(0))
                .map_err(engine)
        })
        .await
    }

    async fn record_attempt(
        &self,
        outbox_id: i64,
        attempt: &Attempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        let attempt = attempt.clone();
        self.write(move |connection| {
            let tx = connection.transaction().map_err(engine)?;
            tx.prepare_cached("INSERT INTO delivery_attempts (outbox_id, attempt, at, status, body_excerpt, error) \
                 VALUES (?1, (SELECT attempts + 1 FROM outbox WHERE id = ?1), ?2, ?3, ?4, ?5)")
    .map_err(engine)?
    .execute(params![
                    outbox_id,
                    ts(&attempt.at),
                    attempt.status,
                    attempt.body_excerpt,
                    attempt.error
                ],
            )
            .map_err(engine)?;
            match outcome {
                AttemptOutcome::Delivered => tx.prepare_cached("UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2, \
                     leased_until = NULL WHERE id = ?1")
    .map_err(engine)?
    .execute(params![outbox_id, ts(&attempt.at)],
                ),
                AttemptOutcome::RetryAt(at) => tx.prepare_cached("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, \
                     leased_until = NULL WHERE id = ?1")
    .map_err(engine)?
    .execute(params![outbox_id, at],
                ),
                AttemptOutcome::GiveUp => tx.prepare_cached("UPDATE outbox SET state = 'failed', attempts = attempts + 1, leased_until = NULL \
                     WHERE id = ?1")
    .map_err(engine)?
    .execute(params![outbox_id],
                ),
            }
            .map_err(engine)?;
            tx.commit().map_err(engine)?;
            Ok(())
        })
        .await
    }

    async fn redeliver(&self, webhook_id: Uuid, now_ms: i64) -> Result<bool, StoreError> {
        // A lease in force stays: the worker holding it is still delivering.
        let found = self.write(move |connection| {
            let changed = connection.prepare_cached("UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2 WHERE webhook_id = ?1")
    .map_err(engine)?
    .execute(params![webhook_id.to_string(), now_ms],
                )
                .map_err(engine)?;
            Ok(changed == 1)
        })
        .await?;
        if found {
            self.wake_outbox();
        }
        Ok(found)
    }

    async fn message_info(
        &self,
        webhook_id: Uuid,
    ) -> Result<Option<(MessageKind, Option<Uuid>)>, StoreError> {
        self.read(move |c| {
            let found: Option<(String, Option<String>)> = c
                .prepare_cached("SELECT kind, history_id FROM webhooks WHERE id = ?1")
                .map_err(engine)?
                .query_row([webhook_id.to_string()], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
                .map_err(engine)?;
            let Some((kind, history)) = found else {
                return Ok(None);
            };
            let kind = parse_kind(&kind)?;
            let history = history.map(|h| parse_uuid(&h, "history_id")).transpose()?;
            Ok(Some((kind, history)))
        })
        .await
    }

    async fn delivery_state(&self, webhook_id: Uuid) -> Result<Option<DeliveryState>, StoreError> {
        self.read(move |c| {
            c.prepare_cached("SELECT state, attempts FROM outbox WHERE webhook_id = ?1")
                .map_err(engine)?
                .query_row([webhook_id.to_string()], |row| {
                    Ok(DeliveryState {
                        state: row.get(0)?,
                        attempts: row.get::<_, i64>(1)? as u32,
                    })
                })
                .optional()
                .map_err(engine)
        })
        .await
    }

    async fn delivery_attempts(&self, webhook_id: Uuid) -> Result<Vec<Attempt>, StoreError> {
        self.read(move |c| {
            let mut statement = c
                .prepare_cached(
                    "SELECT a.at, a.status, a.body_excerpt, a.error FROM delivery_attempts a \
                     JOIN outbox o ON o.id = a.outbox_id WHERE o.webhook_id = ?1 ORDER BY a.id",
                )
                .map_err(engine)?;
            let rows = statement
                .query_map([webhook_id.to_string()], attempt_row)
                .map_err(engine)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(attempt(row.map_err(engine)?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn given_up(
        &self,
        before: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<GivenUp>, StoreError> {
        self.read(move |c| {
            // A `before` that names no given-up message starts at the newest, like `None`.
            let mut statement = c
                .prepare_cached(
                    "SELECT o.id, o.webhook_id, w.kind, w.history_id, o.url, o.attempts \
                     FROM outbox o JOIN webhooks w ON w.id = o.webhook_id \
                     WHERE o.state = 'failed' AND o.id < COALESCE( \
                         (SELECT id FROM outbox WHERE webhook_id = ?1 AND state = 'failed'), \
                         9223372036854775807) \
                     ORDER BY o.id DESC LIMIT ?2",
                )
                .map_err(engine)?;
            let rows = statement
                .query_map(
                    params![before.map(|b| b.to_string()), limit as i64],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, Option<String>>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, i64>(5)?,
                        ))
                    },
                )
                .map_err(engine)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(engine)?;
            let mut last = c
                .prepare_cached(
                    "SELECT at, status, body_excerpt, error FROM delivery_attempts \
                     WHERE outbox_id = ?1 ORDER BY id DESC LIMIT 1",
                )
                .map_err(engine)?;
            let mut out = Vec::with_capacity(rows.len());
            for (outbox_id, webhook_id, kind, history, url, attempts) in rows {
                let last_attempt = last
                    .query_row([outbox_id], attempt_row)
                    .optional()
                    .map_err(engine)?
                    .map(attempt)
                    .transpose()?;
                out.push(GivenUp {
                    webhook_id: parse_uuid(&webhook_id, "webhook_id")?,
                    kind: parse_kind(&kind)?,
                    history_id: history.map(|h| parse_uuid(&h, "history_id")).transpose()?,
                    url,
                    attempts: attempts as u32,
                    last_attempt,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn outbox_depth(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
                .map_err(engine)?
                .query_row([], |row| row.get(0))
                .map_err(engine)
        })
        .await
    }

    async fn wait_for_messages(&self) {
        self.inner.outbox_wake.notified().await;
    }
}

/// A `delivery_attempts` row as selected (`at, status, body_excerpt, error`).
type AttemptRow = (String, Option<i64>, Option<String>, Option<String>);

fn attempt_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AttemptRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn attempt((at, status, body_excerpt, error): AttemptRow) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        at: parse_ts(&at, "at")?,
        status: status.map(|s| s as u16),
        body_excerpt,
        error,
    })
}

fn parse_kind(kind: &str) -> Result<MessageKind, StoreError> {
    match kind {
        "webhook" => Ok(MessageKind::Webhook),
        "event" => Ok(MessageKind::Event),
        _ => Err(StoreError::Corrupt("webhooks.kind")),
    }
}

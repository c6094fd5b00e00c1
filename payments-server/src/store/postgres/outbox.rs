//! [`OutboxStore`] on PostgreSQL. Deliveries are claimed with `FOR UPDATE SKIP LOCKED`
//! and leased until `leased_until`: of two instances' workers polling at once each
//! takes other rows, and a row leased by a worker that died is taken again once its
//! lease ran out. A claim takes only rows heading their stream, within the caller's
//! [`ReceiverBudget`], as on SQLite. An attempt is recorded with the row's move (and the lease's end) in
//! one SQL transaction. The wake-up is LISTEN/NOTIFY (see the module above).

use super::{PostgresStore, engine, execute, get, parse_envelope, query, ts};
use crate::store::{
    Attempt, AttemptOutcome, Delivery, DeliveryState, GivenUp, MessageKind, OutboxStore,
    ReceiverBudget, StoreError,
};
use async_trait::async_trait;
use tokio_postgres::Row;
use uuid::Uuid;

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn claim_deliveries_within(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
        budget: &ReceiverBudget,
    ) -> Result<Vec<Delivery>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cap = i64::try_from(budget.per_receiver()).unwrap_or(i64::MAX);
        let (hosts, remaining): (Vec<String>, Vec<i64>) = budget
            .hosts()
            .map(|(host, left)| (host.to_owned(), i64::try_from(left).unwrap_or(i64::MAX)))
            .unzip();
        // `due` locks what it takes (SKIP LOCKED: another instance's claim in progress
        // keeps its rows, this one takes others); the rows `ranked` leaves out are let
        // go when the statement ends.
        let rows = query(
            &client,
            "WITH budget AS ( \
                 SELECT * FROM unnest($4::text[], $5::bigint[]) AS b(receiver, remaining)), \
             due AS ( \
                 SELECT o.id, o.receiver, o.next_attempt_at FROM outbox o \
                 WHERE o.state = 'pending' AND o.next_attempt_at <= $1 \
                   AND (o.leased_until IS NULL OR o.leased_until <= $1) \
                   AND o.receiver NOT IN (SELECT receiver FROM budget WHERE remaining <= 0) \
                   AND NOT EXISTS ( \
                       SELECT 1 FROM outbox e \
                       WHERE e.stream = o.stream AND e.state = 'pending' AND e.id <> o.id \
                         AND (e.id < o.id OR e.leased_until > $1)) \
                 ORDER BY o.next_attempt_at, o.id LIMIT $3 \
                 FOR UPDATE OF o SKIP LOCKED), \
             ranked AS ( \
                 SELECT id, receiver, row_number() OVER ( \
                     PARTITION BY receiver ORDER BY next_attempt_at, id) AS place \
                 FROM due), \
             chosen AS ( \
                 SELECT r.id FROM ranked r LEFT JOIN budget b ON b.receiver = r.receiver \
                 WHERE r.place <= COALESCE(b.remaining, $6)) \
             UPDATE outbox o SET leased_until = $2 FROM chosen, webhooks w \
             WHERE o.id = chosen.id AND w.id = o.webhook_id \
             RETURNING o.id, o.webhook_id, w.body_sealed, o.url, o.envelope, o.attempts, \
                 w.kind, w.history_id, o.receiver, o.next_attempt_at",
            &[&now_ms, &lease_until_ms, &limit, &hosts, &remaining, &cap],
        )
        .await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok((
                    get::<i64>(row, 9, "outbox.next_attempt_at")?,
                    delivery(row)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING has no order: hand them out oldest due first, as SQLite does.
        claimed.sort_by_key(|(due, delivery)| (*due, delivery.outbox_id));
        Ok(claimed.into_iter().map(|(_, delivery)| delivery).collect())
    }

    async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        // Of the rows heading their stream, the latest of its next attempt and any lease
        // on its stream, earliest first.
        let rows = query(
            &client,
            "SELECT MIN(GREATEST(o.next_attempt_at, ( \
                 SELECT MAX(e.leased_until) FROM outbox e \
                 WHERE e.stream = o.stream AND e.state = 'pending'))) \
             FROM outbox o WHERE o.state = 'pending' AND NOT EXISTS ( \
                 SELECT 1 FROM outbox e \
                 WHERE e.stream = o.stream AND e.state = 'pending' AND e.id < o.id)",
            &[],
        )
        .await?;
        match rows.first() {
            Some(row) => get(row, 0, "outbox.next_attempt_at"),
            None => Ok(None),
        }
    }

    async fn record_attempt(
        &self,
        outbox_id: i64,
        attempt: &Attempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(engine)?;
        execute(
            &tx,
            "INSERT INTO delivery_attempts (outbox_id, attempt, at, status, body_excerpt, error) \
             VALUES ($1, (SELECT attempts + 1 FROM outbox WHERE id = $1), $2, $3, $4, $5)",
            &[
                &outbox_id,
                &ts(&attempt.at),
                &attempt.status.map(i32::from),
                &attempt.body_excerpt,
                &attempt.error,
            ],
        )
        .await?;
        match outcome {
            AttemptOutcome::Delivered => {
                execute(
                    &tx,
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, \
                     delivered_at = $2, leased_until = NULL WHERE id = $1",
                    &[&outbox_id, &ts(&attempt.at)],
                )
                .await?
            }
            AttemptOutcome::RetryAt(at) => {
                execute(
                    &tx,
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, \
                     leased_until = NULL WHERE id = $1",
                    &[&outbox_id, &at],
                )
                .await?
            }
            AttemptOutcome::GiveUp => {
                execute(
                    &tx,
                    "UPDATE outbox SET state = 'failed', attempts = attempts + 1, \
                     leased_until = NULL WHERE id = $1",
                    &[&outbox_id],
                )
                .await?
            }
        };
        tx.commit().await.map_err(engine)
    }

    async fn redeliver(&self, webhook_id: Uuid, now_ms: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        // A lease in force stays: the worker holding it is still delivering.
        let changed = execute(
            &client,
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $2 \
             WHERE webhook_id = $1",
            &[&webhook_id, &now_ms],
        )
        .await?;
        let found = changed == 1;
        if found {
            self.wake_outbox();
        }
        Ok(found)
    }

    async fn message_info(
        &self,
        webhook_id: Uuid,
    ) -> Result<Option<(MessageKind, Option<Uuid>)>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT kind, history_id FROM webhooks WHERE id = $1",
            &[&webhook_id],
        )
        .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let kind = parse_kind(&get::<String>(row, 0, "webhooks.kind")?)?;
        Ok(Some((kind, get(row, 1, "webhooks.history_id")?)))
    }

    async fn delivery_state(&self, webhook_id: Uuid) -> Result<Option<DeliveryState>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT state, attempts FROM outbox WHERE webhook_id = $1",
            &[&webhook_id],
        )
        .await?;
        rows.first()
            .map(|row| {
                Ok(DeliveryState {
                    state: get(row, 0, "outbox.state")?,
                    attempts: count(get(row, 1, "outbox.attempts")?)?,
                })
            })
            .transpose()
    }

    async fn delivery_attempts(&self, webhook_id: Uuid) -> Result<Vec<Attempt>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT a.at, a.status, a.body_excerpt, a.error FROM delivery_attempts a \
             JOIN outbox o ON o.id = a.outbox_id WHERE o.webhook_id = $1 ORDER BY a.id",
            &[&webhook_id],
        )
        .await?;
        rows.iter().map(|row| attempt(row, 0)).collect()
    }

    async fn given_up(
        &self,
        before: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<GivenUp>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A `before` that names no given-up message starts at the newest, like `None`.
        let rows = query(
            &client,
            "SELECT o.webhook_id, w.kind, w.history_id, o.url, o.attempts, \
                 a.at, a.status, a.body_excerpt, a.error \
             FROM outbox o JOIN webhooks w ON w.id = o.webhook_id \
             LEFT JOIN LATERAL ( \
                 SELECT at, status, body_excerpt, error FROM delivery_attempts \
                 WHERE outbox_id = o.id ORDER BY id DESC LIMIT 1) a ON TRUE \
             WHERE o.state = 'failed' AND o.id < COALESCE( \
                 (SELECT id FROM outbox WHERE webhook_id = $1 AND state = 'failed'), \
                 9223372036854775807) \
             ORDER BY o.id DESC LIMIT $2",
            &[&before, &limit],
        )
        .await?;
        rows.iter()
            .map(|row| {
                let last_attempt = match get::<Option<chrono::DateTime<chrono::Utc>>>(
                    row,
                    5,
                    "delivery_attempts.at",
                )? {
                    Some(_) => Some(attempt(row, 5)?),
                    None => None,
                };
                Ok(GivenUp {
                    webhook_id: get(row, 0, "outbox.webhook_id")?,
                    kind: parse_kind(&get::<String>(row, 1, "webhooks.kind")?)?,
                    history_id: get(row, 2, "webhooks.history_id")?,
                    url: get(row, 3, "outbox.url")?,
                    attempts: count(get(row, 4, "outbox.attempts")?)?,
                    last_attempt,
                })
            })
            .collect()
    }

    async fn outbox_depth(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
            &[],
        )
        .await?;
        rows.first().map_or(Ok(0), |row| get(row, 0, "outbox"))
    }

    async fn wait_for_messages(&self) {
        self.inner.outbox_wake.notified().await;
    }
}

/// The one place a claimed row becomes a [`Delivery`].
fn delivery(row: &Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        outbox_id: get(row, 0, "outbox.id")?,
        webhook_id: get(row, 1, "outbox.webhook_id")?,
        body_sealed: get(row, 2, "webhooks.body_sealed")?,
        url: get(row, 3, "outbox.url")?,
        envelope: parse_envelope(&get::<String>(row, 4, "outbox.envelope")?)?,
        attempts: count(get(row, 5, "outbox.attempts")?)?,
        kind: parse_kind(&get::<String>(row, 6, "webhooks.kind")?)?,
        history_id: get(row, 7, "webhooks.history_id")?,
        receiver: get(row, 8, "outbox.receiver")?,
    })
}

/// An attempt from the four columns `at, status, body_excerpt, error` from `first`.
fn attempt(row: &Row, first: usize) -> Result<Attempt, StoreError> {
    let status: Option<i32> = get(row, first + 1, "delivery_attempts.status")?;
    Ok(Attempt {
        at: get(row, first, "delivery_attempts.at")?,
        status: status
            .map(u16::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt("delivery_attempts.status"))?,
        body_excerpt: get(row, first + 2, "delivery_attempts.body_excerpt")?,
        error: get(row, first + 3, "delivery_attempts.error")?,
    })
}

fn count(value: i32) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt("outbox.attempts"))
}

fn parse_kind(kind: &str) -> Result<MessageKind, StoreError> {
    match kind {
        "webhook" => Ok(MessageKind::Webhook),
        "event" => Ok(MessageKind::Event),
        _ => Err(StoreError::Corrupt("webhooks.kind")),
    }
}

//! The outbox worker: delivers each pending webhook to its URL, sealed in the envelope
//! its history was created with, retrying failures on the configured schedule until the
//! attempt budget runs out. Deliveries live in the database, so a restart resumes them;
//! every attempt is recorded. Deliveries are claimed under a lease (`[webhooks]
//! lease_ms`), so several instances on one database never attempt the same delivery
//! at once, and one that dies mid-attempt leaves its claims to run out and be taken by
//! another. Delivery is at least once: receivers de-duplicate by the
//! `X-Payments-Webhook-Id` header (the WebhookHistory's `id`).
//!
//! Each attempt runs on its own ([`InFlight`]), cut at `[webhooks] timeout_ms`: a
//! receiver that hangs costs its own slot, and the worker claims more whenever a slot
//! is free (`max_in_flight`, `max_in_flight_per_receiver` per receiver host). One
//! history's webhooks (one transaction's events) still go out one at a time, in order:
//! the store hands out a stream's next message only once the previous one is
//! delivered or given up.

use crate::app::App;
use crate::at_rest::message_context;
use crate::errors::{AccessError, FieldError};
use crate::histories;
use crate::store::{Attempt, AttemptOutcome, Delivery, GivenUp, MessageKind, StoreError};
use crate::webhooks::WEBHOOK_ID_HEADER;
use crate::webhooks::in_flight::InFlight;
use payments_core::envelope::{Binding, EnvelopeKind, TIMESTAMP_HEADER};
use payments_core::records::deliveries::{
    DeliveryKind, FailedDeliveries, FailedDeliveriesQuery, FailedDelivery,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// How much of a receiver's answer is kept per attempt.
const EXCERPT: usize = 256;
/// How much of a receiver's answer is read at most; the rest is dropped unread, so a
/// receiver answering megabytes costs the server this much.
const ANSWER_CAP: usize = 4 * 1024;

/// Runs until `shutdown` turns true, then waits for the attempts under way: each ends
/// within `[webhooks] timeout_ms` and is recorded, so no delivery is cut between the
/// receiver's answer and its record (and none is left to its lease).
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let config = &app.config.webhooks;
    let poll = Duration::from_millis(config.poll_interval_ms.max(10));
    let mut in_flight = InFlight::new(config.max_in_flight, config.max_in_flight_per_receiver);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimed_at = app.now_ms();
        fill(&app, &mut in_flight).await;
        let free = in_flight.free() > 0;
        let busy = !in_flight.is_empty();
        // Nothing more to claim now: wait for an attempt to end (a slot and maybe a
        // stream's next message free up), a new message, the next due time, or shutdown.
        let wait = if free {
            match app.store.next_due().await {
                // Due after the claim: claim again then.
                Ok(Some(at)) if at > claimed_at => Duration::from_millis(
                    (at - app.now_ms()).clamp(0, poll.as_millis() as i64) as u64,
                ),
                // Due at the claim yet not taken: held back by the receiver budget, which
                // only an attempt of this worker ending frees (and that wakes the loop).
                _ => poll,
            }
        } else {
            poll
        };
        tokio::select! {
            () = in_flight.finished(), if busy => {}
            () = app.store.wait_for_messages(), if free => {}
            () = tokio::time::sleep(wait), if free => {}
            _ = shutdown.changed() => {}
        }
    }
    in_flight.drain().await;
}

/// Claims into the free slots until they are full or a claim finds nothing due.
async fn fill(app: &Arc<App>, in_flight: &mut InFlight) {
    let lease = i64::try_from(app.config.webhooks.lease_ms).unwrap_or(i64::MAX);
    while in_flight.free() > 0 {
        // Claimed under a lease: another instance's worker on the same database skips
        // these until the lease runs out, which it only does if this worker died.
        let now = app.now_ms();
        let due = match app
            .store
            .claim_deliveries_within(
                now,
                now.saturating_add(lease),
                in_flight.free(),
                in_flight.budget(),
            )
            .await
        {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "outbox: cannot claim due deliveries");
                return;
            }
        };
        if due.is_empty() {
            return;
        }
        // A claim that took fewer than asked may have left hosts it filled up behind
        // others: the next turn skips those hosts and finds the rest.
        for delivery in due {
            let app = app.clone();
            in_flight.start(delivery.receiver.clone(), async move {
                deliver(&app, delivery).await
            });
        }
    }
}

async fn deliver(app: &App, delivery: Delivery) {
    let attempt_number = delivery.attempts + 1;
    // The time limit is the attempt's own: sealing, connecting, the answer and reading
    // it. The client's limit is the same; this one also covers what is not the request.
    let limit = Duration::from_millis(app.config.webhooks.timeout_ms);
    let answer = tokio::time::timeout(limit, post(app, &delivery))
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()));
    let (attempt, delivered) = match answer {
        Ok((status, excerpt)) => (
            Attempt {
                at: app.clock.now(),
                status: Some(status),
                body_excerpt: Some(excerpt),
                error: None,
            },
            (200..300).contains(&status),
        ),
        Err(error) => (
            Attempt {
                at: app.clock.now(),
                status: None,
                body_excerpt: None,
                error: Some(error),
            },
            false,
        ),
    };
    let max = app.config.webhooks.max_attempts;
    let outcome = if delivered {
        AttemptOutcome::Delivered
    } else if attempt_number >= max {
        AttemptOutcome::GiveUp
    } else {
        let wait = app.config.webhooks.backoff(attempt_number);
        AttemptOutcome::RetryAt(app.now_ms() + wait.as_millis() as i64)
    };
    if !delivered {
        log_failure(&delivery, &attempt, attempt_number, max, outcome);
    }
    if let Err(error) = app
        .store
        .record_attempt(delivery.outbox_id, &attempt, outcome)
        .await
    {
        tracing::error!(%error, webhook = %delivery.webhook_id, "outbox: cannot record an attempt");
    }
}

/// Every failed attempt names where it went, why it failed and what happens next, so an
/// operator can tell a receiver that is down from one that refuses (URLs can carry
/// tokens, so only the host is logged).
fn log_failure(
    delivery: &Delivery,
    attempt: &Attempt,
    number: u32,
    max: u32,
    outcome: AttemptOutcome,
) {
    let host = url::Url::parse(&delivery.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "(unparseable URL)".to_owned());
    let cause = match (attempt.status, &attempt.error) {
        (Some(status), _) => format!(
            "answered {status}: {}",
            attempt.body_excerpt.as_deref().unwrap_or("").trim()
        ),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_owned(),
    };
    let webhook = tracing::field::display(delivery.webhook_id);
    let history = delivery.history_id.map(tracing::field::display);
    let kind = delivery.kind.as_str();
    match outcome {
        AttemptOutcome::RetryAt(at) => tracing::warn!(
            webhook,
            kind,
            history,
            host,
            attempt = number,
            max,
            cause,
            retry_at_ms = at,
            "outbox: delivery failed, will retry"
        ),
        AttemptOutcome::GiveUp => tracing::warn!(
            webhook,
            kind,
            history,
            host,
            attempts = number,
            cause,
            "outbox: delivery gave up; PATCH /payments/deliveries/failed lists it, \
             POST /payments/{{webhooks,events}}/{{id}}/redeliver sends it again"
        ),
        AttemptOutcome::Delivered => {}
    }
}

/// POSTs one webhook. `Ok((status, excerpt))` when the receiver answered at all.
async fn post(app: &App, delivery: &Delivery) -> Result<(u16, String), String> {
    let json = app
        .data_keys
        .open(&message_context(delivery.webhook_id), &delivery.body_sealed)
        .map_err(|e| format!("stored webhook does not open: {e}"))?;
    let envelope = app.envelopes.get(delivery.envelope).ok_or_else(|| {
        format!(
            "the {} envelope is switched off",
            delivery.envelope.as_str()
        )
    })?;
    let url = url::Url::parse(&delivery.url).map_err(|e| format!("bad webhook URL: {e}"))?;
    // Checked again at every attempt: URLs stored before the guard, or under a policy
    // since tightened, must not get through either. Host names are checked address by
    // address when the client connects (`EgressPolicy::client`).
    app.egress
        .check_url(&url)
        .map_err(|refusal| format!("refused: {refusal}"))?;
    let timestamp_ms = app.now_ms();
    let body = envelope.seal(
        &json,
        &Binding {
            method: "POST",
            path: url.path(),
            timestamp_ms,
            idempotency_key: None,
        },
    );
    let mut request = app
        .webhook_http
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            delivery.envelope.content_type(),
        )
        .header(WEBHOOK_ID_HEADER, delivery.webhook_id.to_string())
        .body(body);
    if delivery.envelope == EnvelopeKind::SealedV2 {
        request = request.header(TIMESTAMP_HEADER, timestamp_ms.to_string());
    }
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_owned()
        } else {
            // The resolver's refusal is the source's source: name it, it is the cause an
            // operator needs.
            let mut cause = format!("could not reach the receiver: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                if let Some(refusal) = inner.downcast_ref::<super::egress::EgressRefusal>() {
                    cause = format!("refused: {refusal}");
                    break;
                }
                source = inner.source();
            }
            cause
        }
    })?;
    // A redirect is not followed (the client's policy): a 3xx is an answer, and not a
    // 2xx, so the attempt failed.
    let status = response.status().as_u16();
    let text = super::egress::read_capped(response, ANSWER_CAP).await;
    let excerpt: String = text.chars().take(EXCERPT).collect();
    Ok((status, excerpt))
}

/// The answer to a re-delivery: the message and where its delivery stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Redelivery {
    /// The message's id.
    pub webhook_id: Uuid,
    /// `pending`: it goes out again with a fresh attempt budget.
    pub state: &'static str,
}

/// Why a message was not queued again.
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    /// No such message of that kind.
    #[error("{0}")]
    NotFound(String),
    /// The history's password does not match (webhooks are re-delivered with it).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// This message was re-delivered on request a short while ago.
    #[error("this message was sent again moments ago: ask again in {retry_after_secs} s")]
    TooSoon {
        /// Whole seconds until it may be asked for again (at least 1).
        retry_after_secs: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a listing was refused.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The query is out of range.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The default and the largest page of [`failed_deliveries`].
const PAGE: (u32, u32) = (50, 100);

/// Lists the deliveries that gave up, newest message first, so an operator has the ids
/// re-delivery takes. The merchant's sealed request is the authority: the listing shows
/// where and why, never a message's body.
///
/// # Errors
/// [`ListError::Invalid`] for a `limit` outside 1 to 100.
pub async fn failed_deliveries(
    app: &App,
    query: &FailedDeliveriesQuery,
) -> Result<FailedDeliveries, ListError> {
    let limit = query.limit.unwrap_or(PAGE.0);
    if !(1..=PAGE.1).contains(&limit) {
        return Err(FieldError::new("limit", format!("must be 1 to {}", PAGE.1)).into());
    }
    // One more than asked says whether there is a next page.
    let mut page = app.store.given_up(query.before, limit as usize + 1).await?;
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let deliveries: Vec<FailedDelivery> = page.into_iter().map(failed_delivery).collect();
    let next = more.then(|| deliveries.last().map(|d| d.id)).flatten();
    Ok(FailedDeliveries { deliveries, next })
}

fn failed_delivery(given_up: GivenUp) -> FailedDelivery {
    let last = given_up.last_attempt;
    FailedDelivery {
        id: given_up.webhook_id,
        kind: match given_up.kind {
            MessageKind::Webhook => DeliveryKind::Webhook,
            MessageKind::Event => DeliveryKind::Event,
        },
        history_id: given_up.history_id,
        url: given_up.url,
        attempts: given_up.attempts,
        last_attempt_at: last.as_ref().map(|a| a.at),
        last_status: last.as_ref().and_then(|a| a.status),
        last_error: last.and_then(|a| a.error.or(a.body_excerpt)),
    }
}

/// Queues a history's webhook again; the history's password authorises it.
///
/// # Errors
/// [`RedeliverError::NotFound`] for an unknown webhook, [`RedeliverError::Access`] for
/// a wrong password, [`RedeliverError::TooSoon`] within `[webhooks]
/// redeliver_interval_ms` of the message's last re-delivery.
pub async fn redeliver_webhook(
    app: &App,
    webhook_id: Uuid,
    password: &str,
) -> Result<Redelivery, RedeliverError> {
    let Some((MessageKind::Webhook, Some(history_id))) = app.store.message_info(webhook_id).await?
    else {
        return Err(RedeliverError::NotFound(format!("no webhook {webhook_id}")));
    };
    histories::get_by_id_checked(app, history_id, password).await?;
    redeliver(app, webhook_id).await
}

/// Queues a merchant event again (the merchant's sealed request is its authority).
///
/// # Errors
/// [`RedeliverError::NotFound`] for an unknown event, [`RedeliverError::TooSoon`] within
/// `[webhooks] redeliver_interval_ms` of its last re-delivery.
pub async fn redeliver_event(app: &App, event_id: Uuid) -> Result<Redelivery, RedeliverError> {
    let Some((MessageKind::Event, _)) = app.store.message_info(event_id).await? else {
        return Err(RedeliverError::NotFound(format!("no event {event_id}")));
    };
    redeliver(app, event_id).await
}

async fn redeliver(app: &App, id: Uuid) -> Result<Redelivery, RedeliverError> {
    // Each re-delivery resets the attempt budget: unlimited, anyone holding a key (or a
    // history's password) would make the server post to the receiver without end.
    app.redeliveries
        .check(&id, app.now_ms())
        .map_err(|ms| RedeliverError::TooSoon {
            retry_after_secs: crate::rate_limit::retry_after_secs(ms),
        })?;
    // The store wakes the worker itself.
    app.store.redeliver(id, app.now_ms()).await?;
    Ok(Redelivery {
        webhook_id: id,
        state: "pending",
    })
}

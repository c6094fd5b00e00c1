//! Webhook delivery: an outbox fed by state changes, a dispatcher task on the fake's runtime
//! that POSTs each event as JSON, retries on a schedule, applies the webhook fault knobs, and
//! a log of every attempt that tests read.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::lock;

/// The real retry schedule after a failed delivery: 7 retries, 1 min to ~68 h apart.
pub const REAL_RETRY_SCHEDULE_MINUTES: [u64; 7] = [1, 4, 16, 64, 256, 1024, 4096];

/// How long a held (reordered) webhook waits for a successor before it is sent anyway.
const REORDER_WINDOW: Duration = Duration::from_secs(1);

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookOutcome {
    /// The receiver answered with a 2xx status.
    Delivered {
        /// The receiver's HTTP status.
        status: u16,
    },
    /// The receiver answered non-2xx, or the request failed; a retry follows if the
    /// schedule has one left.
    Failed {
        /// The receiver's HTTP status, if it answered at all.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Dropped on purpose by [`crate::FakeToss::drop_next_webhooks`]; never sent.
    Dropped,
    /// No webhook URL was configured when the event was due; never sent.
    NoUrl,
}

/// One delivery attempt of one webhook event (the entries of [`crate::FakeToss::webhooks`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRecord {
    /// Identifies the event; retries and duplicates of one event share it.
    pub event_id: u64,
    /// `PAYMENT_STATUS_CHANGED` or `DEPOSIT_CALLBACK`.
    pub event_type: String,
    /// Where it was (or would have been) sent.
    pub url: Option<String>,
    /// The JSON body.
    pub body: Value,
    /// 1 for the first attempt, 2 for the first retry, and so on.
    pub attempt: u32,
    /// What happened.
    pub outcome: WebhookOutcome,
    /// Wall-clock time of the attempt.
    pub at: DateTime<Utc>,
}

impl WebhookRecord {
    /// `true` when this attempt reached the receiver with a 2xx answer.
    pub fn is_delivered(&self) -> bool {
        matches!(self.outcome, WebhookOutcome::Delivered { .. })
    }
}

/// A webhook event waiting in the outbox.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub id: u64,
    pub event_type: &'static str,
    pub body: Value,
}

/// Webhook settings and fault knobs, changeable while the fake runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct WebhookSettings {
    pub url: Option<String>,
    pub schedule: Vec<Duration>,
    pub timeout: Duration,
    pub drop_next: u32,
    pub duplicate_next: u32,
    pub reorder_next: u32,
    pub delay: Duration,
}

/// The outbox, settings and log shared by the fake's state and its dispatcher.
#[derive(Debug)]
pub(crate) struct WebhookHub {
    tx: mpsc::UnboundedSender<Event>,
    next_id: AtomicU64,
    pub settings: Mutex<WebhookSettings>,
    log: Mutex<Vec<WebhookRecord>>,
}

/// The per-event decisions taken from the fault knobs when an event is dispatched.
struct Plan {
    drop: bool,
    duplicate: bool,
    reorder: bool,
    delay: Duration,
}

impl WebhookHub {
    /// A hub and the receiving end its dispatcher drains.
    pub(crate) fn new(settings: WebhookSettings) -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let hub = Self {
            tx,
            next_id: AtomicU64::new(1),
            settings: Mutex::new(settings),
            log: Mutex::new(Vec::new()),
        };
        (hub, rx)
    }

    /// Queues an event; called with the store locked so events keep state-change order.
    pub(crate) fn emit(&self, event_type: &'static str, body: Value) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // The receiver lives as long as the server runtime; after shutdown events are moot.
        let _ = self.tx.send(Event {
            id,
            event_type,
            body,
        });
    }

    /// A copy of the attempt log.
    pub(crate) fn log(&self) -> Vec<WebhookRecord> {
        lock(&self.log).clone()
    }

    fn record(&self, ev: &Event, url: Option<String>, attempt: u32, outcome: WebhookOutcome) {
        lock(&self.log).push(WebhookRecord {
            event_id: ev.id,
            event_type: ev.event_type.to_owned(),
            url,
            body: ev.body.clone(),
            attempt,
            outcome,
            at: Utc::now(),
        });
    }

    fn plan(&self) -> Plan {
        let mut s = lock(&self.settings);
        let take = |n: &mut u32| {
            let hit = *n > 0;
            *n = n.saturating_sub(1);
            hit
        };
        let drop = take(&mut s.drop_next);
        let duplicate = !drop && take(&mut s.duplicate_next);
        let reorder = !drop && take(&mut s.reorder_next);
        Plan {
            drop,
            duplicate,
            reorder,
            delay: s.delay,
        }
    }
}

/// Drains the outbox until the runtime stops: first attempts go out one at a time, in order;
/// retries run as their own tasks so a failing receiver never blocks later events.
pub(crate) async fn run_dispatcher(hub: Arc<WebhookHub>, mut rx: mpsc::UnboundedReceiver<Event>) {
    let mut client: Option<reqwest::Client> = None;
    while let Some(ev) = rx.recv().await {
        let plan = hub.plan();
        if plan.drop {
            let url = lock(&hub.settings).url.clone();
            hub.record(&ev, url, 1, WebhookOutcome::Dropped);
            continue;
        }
        let mut batch = Vec::with_capacity(3);
        if plan.reorder {
            // Hold this event until the next one arrives (or the window closes), then
            // send the later one first.
            if let Ok(Some(next)) = tokio::time::timeout(REORDER_WINDOW, rx.recv()).await {
                batch.push(next);
            }
        }
        batch.push(ev.clone());
        if plan.duplicate {
            batch.push(ev);
        }
        for event in batch {
            if !plan.delay.is_zero() {
                tokio::time::sleep(plan.delay).await;
            }
            let client = client.get_or_insert_with(build_client).clone();
            if attempt(&hub, &client, &event, 1).await {
                tokio::spawn(retry(hub.clone(), client, event));
            }
        }
    }
}

fn build_client() -> reqwest::Client {
    // Per-request timeouts are set on each request, so the default builder suffices.
    reqwest::Client::new()
}

/// One delivery attempt; `true` when it failed (and a retry may follow).
async fn attempt(hub: &WebhookHub, client: &reqwest::Client, ev: &Event, n: u32) -> bool {
    let (url, timeout) = {
        let s = lock(&hub.settings);
        (s.url.clone(), s.timeout)
    };
    let Some(url) = url else {
        hub.record(ev, None, n, WebhookOutcome::NoUrl);
        return false;
    };
    let sent = client
        .post(&url)
        .timeout(timeout)
        .json(&ev.body)
        .send()
        .await;
    let outcome = match sent {
        Ok(resp) if resp.status().is_success() => WebhookOutcome::Delivered {
            status: resp.status().as_u16(),
        },
        Ok(resp) => WebhookOutcome::Failed {
            status: Some(resp.status().as_u16()),
            error: format!("receiver answered {}", resp.status()),
        },
        Err(e) => WebhookOutcome::Failed {
            status: None,
            error: e.to_string(),
        },
    };
    let failed = matches!(outcome, WebhookOutcome::Failed { .. });
    hub.record(ev, Some(url), n, outcome);
    failed
}

/// Retries a failed event on the schedule (read afresh before each wait) until one
/// attempt succeeds or the schedule runs out.
async fn retry(hub: Arc<WebhookHub>, client: reqwest::Client, ev: Event) {
    for n in 2u32.. {
        let wait = {
            let s = lock(&hub.settings);
            usize::try_from(n - 2)
                .ok()
                .and_then(|i| s.schedule.get(i))
                .copied()
        };
        let Some(wait) = wait else {
            return;
        };
        tokio::time::sleep(wait).await;
        if !attempt(&hub, &client, &ev, n).await {
            return;
        }
    }
}

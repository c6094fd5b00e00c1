//! Webhook delivery: the outbox a fake fills with [`crate::Harness::send_webhook`], the
//! dispatcher task on the fake's runtime that POSTs each event, retries it on the schedule
//! and applies the chaos knobs (drop, duplicate, delay, reorder), and the log of every
//! attempt ([`WebhookRecord`]) that tests read.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{Harness, lock};

/// How long a held (reordered) batch waits for the rest of its events before it is sent
/// anyway, reversed.
pub const REORDER_WINDOW: Duration = Duration::from_secs(1);

/// One webhook event a fake wants sent. Build with [`Webhook::json`] or [`Webhook::form`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    event_type: String,
    url: Option<String>,
    body: String,
    content_type: &'static str,
    headers: Vec<(String, String)>,
}

impl Webhook {
    /// An event of `event_type` (the vendor's name for it, e.g. `PAYMENT_STATUS_CHANGED`)
    /// whose body is `body` as JSON.
    pub fn json(event_type: impl Into<String>, body: &impl Serialize) -> Self {
        Self {
            event_type: event_type.into(),
            url: None,
            body: serde_json::to_string(body).unwrap_or_default(),
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    /// An event whose body is `body` form-encoded (`application/x-www-form-urlencoded`).
    pub fn form(event_type: impl Into<String>, body: &impl Serialize) -> Self {
        Self {
            event_type: event_type.into(),
            url: None,
            body: serde_urlencoded::to_string(body).unwrap_or_default(),
            content_type: "application/x-www-form-urlencoded",
            headers: Vec::new(),
        }
    }

    /// Sends this event to `url` instead of the configured webhook URL (when `Some`;
    /// e.g. a payment's own `notice_url`).
    #[must_use]
    pub fn to(mut self, url: Option<String>) -> Self {
        self.url = url;
        self
    }

    /// Adds a header sent with every attempt of this event (per-attempt headers come from
    /// [`crate::Vendor::webhook_headers`] and [`crate::Harness::on_webhook_attempt`]).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookOutcome {
    /// The receiver answered with a 2xx status.
    Delivered {
        /// The receiver's HTTP status.
        status: u16,
    },
    /// The receiver answered non-2xx, or could not be reached; a retry follows if the
    /// schedule has one left.
    Failed {
        /// The receiver's HTTP status, if it answered at all.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Dropped on purpose by [`crate::Harness::drop_next_webhooks`]; never sent.
    Dropped,
    /// No URL was configured (nor given with the event) when it was due; never sent.
    NoUrl,
}

/// One delivery attempt of one webhook event (the entries of [`crate::Harness::webhooks`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct WebhookRecord {
    /// Identifies the event: its retries and duplicate share it.
    pub event_id: u64,
    /// The vendor's event type.
    pub event_type: String,
    /// Where it was (or would have been) sent.
    pub url: Option<String>,
    /// The exact body (serialised over HTTP as JSON when it is JSON).
    #[serde(serialize_with = "body_as_json")]
    pub body: String,
    /// `application/json` or `application/x-www-form-urlencoded`.
    pub content_type: String,
    /// The extra headers sent with this attempt (the event's, the vendor's and the
    /// instance hook's; empty when nothing was sent).
    pub headers: Vec<(String, String)>,
    /// 1 for the first attempt, 2 for the first retry, ...; 0 when nothing was sent
    /// (`Dropped`, `NoUrl`).
    pub attempt: u32,
    /// Whether this is the extra copy made by [`crate::Harness::duplicate_next_webhooks`].
    pub duplicate: bool,
    /// What happened.
    pub outcome: WebhookOutcome,
    /// The fake clock's time of the attempt.
    pub at: DateTime<Utc>,
}

fn body_as_json<S: Serializer>(body: &str, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => v.serialize(s),
        Err(_) => s.serialize_str(body),
    }
}

impl WebhookRecord {
    /// `true` when this attempt reached the receiver with a 2xx answer.
    pub fn is_delivered(&self) -> bool {
        matches!(self.outcome, WebhookOutcome::Delivered { .. })
    }

    /// The body as JSON: parsed JSON, a form body as an object of strings, else `Null`.
    pub fn json(&self) -> Value {
        if let Ok(v) = serde_json::from_str(&self.body) {
            return v;
        }
        serde_urlencoded::from_str::<Vec<(String, String)>>(&self.body)
            .map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                )
            })
            .unwrap_or(Value::Null)
    }

    /// The first extra header named `name` (case-insensitive) sent with this attempt.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the vendor's header hook sees for each attempt.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AttemptInfo<'a> {
    /// Identifies the fake instance: unique within the process and unlikely to repeat
    /// across runs (so `instance` + `event_id` makes a transmission id).
    pub instance: u64,
    /// The event's id within the instance (shared by its retries and duplicate).
    pub event_id: u64,
    /// The vendor's event type.
    pub event_type: &'a str,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// The fake clock's time of the attempt.
    pub at: DateTime<Utc>,
    /// The exact body about to be sent (e.g. to sign it).
    pub body: &'a str,
}

/// A queued event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    id: u64,
    hook: Webhook,
    duplicate: bool,
}

/// Delivery settings and chaos knobs, changeable while the fake runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub url: Option<String>,
    pub schedule: Vec<Duration>,
    pub timeout: Duration,
    pub drop_next: u32,
    pub duplicate_next: u32,
    pub reorder_next: u32,
    pub delay: Duration,
}

/// The outbox, settings and log one fake's state and dispatcher share.
#[derive(Debug)]
pub(crate) struct Hub {
    tx: mpsc::UnboundedSender<Event>,
    next_id: AtomicU64,
    pub(crate) settings: Mutex<Settings>,
    log: Mutex<Vec<WebhookRecord>>,
    warned_no_url: AtomicBool,
}

/// The chaos decisions for one event.
enum Plan {
    Drop,
    Send {
        duplicate: bool,
        hold: bool,
        flush: bool,
    },
}

impl Hub {
    pub(crate) fn new(settings: Settings) -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let hub = Self {
            tx,
            next_id: AtomicU64::new(1),
            settings: Mutex::new(settings),
            log: Mutex::new(Vec::new()),
            warned_no_url: AtomicBool::new(false),
        };
        (hub, rx)
    }

    pub(crate) fn emit(&self, hook: Webhook) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // The receiver lives as long as the server runtime; after shutdown events are moot.
        let _ = self.tx.send(Event {
            id,
            hook,
            duplicate: false,
        });
        id
    }

    pub(crate) fn log(&self) -> Vec<WebhookRecord> {
        lock(&self.log).clone()
    }

    pub(crate) fn clear_log(&self) {
        lock(&self.log).clear();
    }

    fn plan(&self) -> Plan {
        let mut s = lock(&self.settings);
        let take = |n: &mut u32| {
            let hit = *n > 0;
            *n = n.saturating_sub(1);
            hit
        };
        if take(&mut s.drop_next) {
            return Plan::Drop;
        }
        let duplicate = take(&mut s.duplicate_next);
        let hold = take(&mut s.reorder_next);
        Plan::Send {
            duplicate,
            hold,
            flush: hold && s.reorder_next == 0,
        }
    }
}

fn record(h: &Harness, ev: &Event, url: Option<String>, attempt: u32, outcome: WebhookOutcome) {
    record_sent(h, ev, url, Vec::new(), attempt, outcome);
}

fn record_sent(
    h: &Harness,
    ev: &Event,
    url: Option<String>,
    headers: Vec<(String, String)>,
    attempt: u32,
    outcome: WebhookOutcome,
) {
    lock(&h.hub.log).push(WebhookRecord {
        event_id: ev.id,
        event_type: ev.hook.event_type.clone(),
        url,
        body: ev.hook.body.clone(),
        content_type: ev.hook.content_type.to_owned(),
        headers,
        attempt,
        duplicate: ev.duplicate,
        outcome,
        at: h.clock().now(),
    });
}

/// Drains the outbox until the runtime stops. First attempts go out one at a time in
/// order; retries run as their own tasks so a failing receiver never blocks later events.
pub(crate) async fn run(h: Arc<Harness>, mut rx: mpsc::UnboundedReceiver<Event>) {
    let mut client: Option<reqwest::Client> = None;
    let mut held: Vec<Event> = Vec::new();
    let mut held_since = tokio::time::Instant::now();
    loop {
        let next = if held.is_empty() {
            rx.recv().await
        } else {
            let wait = REORDER_WINDOW.saturating_sub(held_since.elapsed());
            match tokio::time::timeout(wait, rx.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    flush(&h, &mut client, &mut held).await;
                    continue;
                }
            }
        };
        let Some(ev) = next else {
            flush(&h, &mut client, &mut held).await;
            return;
        };
        match h.hub.plan() {
            Plan::Drop => {
                let url = ev
                    .hook
                    .url
                    .clone()
                    .or_else(|| lock(&h.hub.settings).url.clone());
                record(&h, &ev, url, 0, WebhookOutcome::Dropped);
            }
            Plan::Send {
                duplicate,
                hold,
                flush: flush_now,
            } => {
                let mut copies = vec![ev.clone()];
                if duplicate {
                    copies.push(Event {
                        duplicate: true,
                        ..ev
                    });
                }
                if hold {
                    if held.is_empty() {
                        held_since = tokio::time::Instant::now();
                    }
                    held.extend(copies);
                    if flush_now {
                        flush(&h, &mut client, &mut held).await;
                    }
                } else {
                    for copy in copies {
                        send(&h, &mut client, copy).await;
                    }
                }
            }
        }
    }
}

/// Sends the held batch in reverse order.
async fn flush(h: &Arc<Harness>, client: &mut Option<reqwest::Client>, held: &mut Vec<Event>) {
    while let Some(ev) = held.pop() {
        send(h, client, ev).await;
    }
}

async fn send(h: &Arc<Harness>, client: &mut Option<reqwest::Client>, ev: Event) {
    let delay = lock(&h.hub.settings).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // Built on first use: a TLS-capable client costs more than a whole start, and most
    // tests never send a webhook.
    let client = client.get_or_insert_with(reqwest::Client::new).clone();
    if attempt(h, &client, &ev, 1).await {
        tokio::spawn(retry(h.clone(), client, ev));
    }
}

/// One delivery attempt; `true` when it failed (and a retry may follow).
async fn attempt(h: &Harness, client: &reqwest::Client, ev: &Event, n: u32) -> bool {
    let (url, timeout) = {
        let s = lock(&h.hub.settings);
        (ev.hook.url.clone().or_else(|| s.url.clone()), s.timeout)
    };
    let Some(url) = url else {
        if !h.hub.warned_no_url.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                fake = h.vendor().name,
                event_type = %ev.hook.event_type,
                "webhook has nowhere to go: no webhook URL is set (builder `webhook_url`, \
                 `set_webhook_url`, or `webhookUrl` on PUT /internal/faults); this and later \
                 events are only logged (outcome NO_URL)"
            );
        }
        record(h, ev, None, 0, WebhookOutcome::NoUrl);
        return false;
    };
    let info = AttemptInfo {
        instance: h.instance(),
        event_id: ev.id,
        event_type: &ev.hook.event_type,
        attempt: n,
        at: h.clock().now(),
        body: &ev.hook.body,
    };
    let mut headers = ev.hook.headers.clone();
    headers.extend((h.vendor().webhook_headers)(&info));
    headers.extend(h.attempt_headers(&info));
    let mut req = client
        .post(&url)
        .timeout(timeout)
        .header(http::header::CONTENT_TYPE, ev.hook.content_type)
        .body(ev.hook.body.clone());
    for (name, value) in &headers {
        req = req.header(name.as_str(), value.as_str());
    }
    let outcome = match req.send().await {
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
    record_sent(h, ev, Some(url), headers, n, outcome);
    failed
}

/// Retries a failed event on the schedule (read afresh before each wait) until one
/// attempt succeeds or the schedule runs out.
async fn retry(h: Arc<Harness>, client: reqwest::Client, ev: Event) {
    for n in 2u32.. {
        let wait = {
            let s = lock(&h.hub.settings);
            usize::try_from(n - 2)
                .ok()
                .and_then(|i| s.schedule.get(i))
                .copied()
        };
        let Some(wait) = wait else {
            return;
        };
        tokio::time::sleep(wait).await;
        if !attempt(&h, &client, &ev, n).await {
            return;
        }
    }
}

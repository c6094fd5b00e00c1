//! Webhook delivery: `{imp_uid, merchant_uid, status}` POSTed (JSON or form-encoded) on
//! every status change, retried on a schedule, with the failure knobs (drop, duplicate,
//! delay, reorder) and a log of every attempt a test can read.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::shared::{Shared, lock};

/// The body the real API sends: which payment changed and its new status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookPayload {
    /// The payment's `imp_uid`.
    pub imp_uid: String,
    /// The payment's `merchant_uid`.
    pub merchant_uid: String,
    /// The new status: `ready`, `paid`, `failed` or `cancelled`.
    pub status: String,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The receiver answered with this 2xx status.
    Delivered {
        /// The HTTP status.
        status: u16,
    },
    /// The receiver answered non-2xx (`status`) or could not be reached (`status: None`).
    Failed {
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Not sent: swallowed by `drop_next_webhooks`.
    Dropped,
    /// Not sent: neither the payment's `notice_url` nor a webhook URL was set.
    NoUrl,
}

/// One entry of the webhook log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    /// Where it was (or would have been) sent.
    pub url: Option<String>,
    /// The event.
    pub payload: WebhookPayload,
    /// The exact body sent.
    pub body: String,
    /// `application/json` or `application/x-www-form-urlencoded`.
    pub content_type: String,
    /// 1 for the first try, then 2, 3, ... for retries (0 when nothing was sent).
    pub attempt: u32,
    /// Whether this is the extra copy made by `duplicate_next_webhooks`.
    pub duplicate: bool,
    /// What happened.
    pub outcome: WebhookOutcome,
}

/// A webhook waiting for delivery.
#[derive(Debug, Clone)]
pub(crate) struct WebhookJob {
    pub(crate) url: Option<String>,
    pub(crate) payload: WebhookPayload,
}

/// Delivery settings changeable at run time.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSettings {
    pub(crate) form_encoded: bool,
    pub(crate) retry_schedule: Vec<Duration>,
}

/// Failure knobs for outgoing webhooks.
#[derive(Debug, Default)]
pub(crate) struct WebhookFaults {
    pub(crate) drop_next: u32,
    pub(crate) duplicate_next: u32,
    pub(crate) delay: Duration,
    pub(crate) reorder_batch: usize,
    pub(crate) reorder_buf: Vec<WebhookJob>,
}

/// What the dispatcher decided for one incoming job.
enum Plan {
    /// Nothing to send now (logged, or buffered for reordering).
    Nothing,
    /// Send these jobs one after the other, after `delay`; `bool` marks duplicates.
    Send(Vec<(WebhookJob, bool)>, Duration),
}

fn plan(shared: &Shared, job: WebhookJob) -> Plan {
    let Some(_) = &job.url else {
        log_unsent(shared, job, WebhookOutcome::NoUrl);
        return Plan::Nothing;
    };
    let mut f = lock(&shared.webhook_faults);
    if f.drop_next > 0 {
        f.drop_next -= 1;
        drop(f);
        log_unsent(shared, job, WebhookOutcome::Dropped);
        return Plan::Nothing;
    }
    let delay = f.delay;
    if f.reorder_batch > 0 {
        f.reorder_buf.push(job);
        if f.reorder_buf.len() < f.reorder_batch {
            return Plan::Nothing;
        }
        f.reorder_batch = 0;
        let mut batch = std::mem::take(&mut f.reorder_buf);
        batch.reverse();
        return Plan::Send(batch.into_iter().map(|j| (j, false)).collect(), delay);
    }
    let mut jobs = vec![(job.clone(), false)];
    if f.duplicate_next > 0 {
        f.duplicate_next -= 1;
        jobs.push((job, true));
    }
    Plan::Send(jobs, delay)
}

fn log_unsent(shared: &Shared, job: WebhookJob, outcome: WebhookOutcome) {
    lock(&shared.webhook_log).push(WebhookAttempt {
        url: job.url,
        payload: job.payload,
        body: String::new(),
        content_type: String::new(),
        attempt: 0,
        duplicate: false,
        outcome,
    });
}

/// Runs on the server's runtime until it shuts down: takes jobs in emission order and
/// spawns their deliveries.
pub(crate) async fn run(shared: Arc<Shared>, mut rx: UnboundedReceiver<WebhookJob>) {
    // Built on first use: creating a TLS-capable client costs more than the whole
    // server start-up, and most tests never send a webhook.
    let mut client: Option<reqwest::Client> = None;
    while let Some(job) = rx.recv().await {
        let Plan::Send(jobs, delay) = plan(&shared, job) else {
            continue;
        };
        let client = client
            .get_or_insert_with(|| {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default()
            })
            .clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            for (job, duplicate) in jobs {
                deliver(&shared, &client, job, duplicate).await;
            }
        });
    }
}

/// Sends one webhook, retrying on the configured schedule until a 2xx answer.
async fn deliver(shared: &Shared, client: &reqwest::Client, job: WebhookJob, duplicate: bool) {
    let Some(url) = job.url.clone() else { return };
    let settings = lock(&shared.webhook_settings).clone();
    let (body, content_type) = if settings.form_encoded {
        (
            serde_urlencoded::to_string(&job.payload).unwrap_or_default(),
            "application/x-www-form-urlencoded",
        )
    } else {
        (
            serde_json::to_string(&job.payload).unwrap_or_default(),
            "application/json",
        )
    };
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let result = client
            .post(&url)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(body.clone())
            .send()
            .await;
        let outcome = match result {
            Ok(r) if r.status().is_success() => WebhookOutcome::Delivered {
                status: r.status().as_u16(),
            },
            Ok(r) => WebhookOutcome::Failed {
                status: Some(r.status().as_u16()),
                error: format!("receiver answered {}", r.status()),
            },
            Err(e) => WebhookOutcome::Failed {
                status: None,
                error: e.to_string(),
            },
        };
        let delivered = matches!(outcome, WebhookOutcome::Delivered { .. });
        lock(&shared.webhook_log).push(WebhookAttempt {
            url: Some(url.clone()),
            payload: job.payload.clone(),
            body: body.clone(),
            content_type: content_type.to_owned(),
            attempt,
            duplicate,
            outcome,
        });
        if delivered {
            return;
        }
        let Some(wait) = settings.retry_schedule.get(attempt as usize - 1) else {
            return;
        };
        tokio::time::sleep(*wait).await;
    }
}

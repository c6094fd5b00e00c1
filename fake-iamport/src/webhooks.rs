//! The webhook the real API sends — `{imp_uid, merchant_uid, status}` POSTed as JSON (or
//! form-encoded) on every status change, to the payment's `notice_url` or the configured
//! URL. Delivery, retries, chaos and the attempt log are the harness's
//! ([`fake_harness::webhook`]).

use fake_harness::Webhook;
use serde::Serialize;

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

impl WebhookPayload {
    /// The event to queue: its type is the status, its URL the payment's `notice_url`
    /// when it has one (else the configured webhook URL).
    pub(crate) fn event(&self, notice_url: Option<String>, form_encoded: bool) -> Webhook {
        let hook = if form_encoded {
            Webhook::form(&self.status, self)
        } else {
            Webhook::json(&self.status, self)
        };
        hook.to(notice_url)
    }
}

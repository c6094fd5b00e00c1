//! Webhooks: [`intake`] turns PG webhooks into verified history changes; [`outbox`]
//! delivers the resulting [`payments_core::records::WebhookHistory`] records to callers.

pub mod egress;
pub mod intake;
pub mod outbox;

use uuid::Uuid;

/// The at-rest context a webhook body is sealed under.
pub fn body_context(webhook_id: Uuid) -> String {
    format!("webhook:{webhook_id}:body")
}

/// The header naming the webhook's id on every delivery, for de-duplication.
pub const WEBHOOK_ID_HEADER: &str = "x-payments-webhook-id";

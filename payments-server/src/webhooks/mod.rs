//! Webhooks: [`intake`] turns PG webhooks into verified history changes ([`portone`]
//! checks PortOne V2's Standard Webhooks signatures first); [`outbox`] delivers the
//! resulting [`payments_core::records::WebhookHistory`] records to callers, each attempt
//! in a slot of its own ([`in_flight`]); [`coalesce`]
//! keeps the PG fetches webhooks ask for to one per payment at a time; [`unknown`]
//! watches webhooks for payments not registered (yet); [`egress`] guards where
//! deliveries may go.

pub mod coalesce;
pub mod egress;
pub mod in_flight;
pub mod intake;
pub mod outbox;
pub mod portone;
pub mod unknown;

/// The header naming the webhook's id on every delivery, for de-duplication.
pub const WEBHOOK_ID_HEADER: &str = "x-payments-webhook-id";

//! [`Webhooks`] and [`Events`]: re-delivery of what the server sends out, `POST
//! /payments/webhooks/{id}/redeliver` and `POST /payments/events/{id}/redeliver` (added
//! by this project, `docs/protocol.md`; the PG-facing `/payments/webhooks/toss` and
//! `/iamport` are for the PGs, not for this SDK). Re-delivery keeps the message's id, so
//! receivers de-duplicate; that makes both safe to repeat, and they are retried like
//! reads. [`Webhooks::failed`] lists what gave up (`PATCH /payments/deliveries/failed`),
//! so an operator has the ids to re-deliver.

use crate::error::Error;
use crate::transport::{Body, Inner, Kind};
use http::Method;
use payments_core::records::Password;
use payments_core::records::deliveries::{FailedDeliveries, FailedDeliveriesQuery};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The answer to a re-delivery request: the message and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redelivery {
    /// The message queued again (the `id` of its `WebhookHistory` or `EventRecord`).
    pub webhook_id: Uuid,
    /// Its delivery state, `"pending"` right after the request.
    pub state: String,
}

/// The webhook routes; get one from
/// [`PaymentsClient::webhooks`](crate::PaymentsClient::webhooks).
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    inner: &'a Inner,
}

impl<'a> Webhooks<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/webhooks/{id}/redeliver` (sealed, `202`): queues a webhook for
    /// delivery again, authorised by its history's password. Safe to repeat (receivers
    /// de-duplicate on the webhook id), so it is retried like a read.
    ///
    /// # Errors
    /// [`Error::Server`] `404 NOT_FOUND` for an unknown webhook, `403 WRONG_PASSWORD`;
    /// the other variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, webhook_id: uuid::Uuid) -> Result<(), payments_client::Error> {
    /// use payments_client::records::Password;
    /// let redelivery = client
    ///     .webhooks()
    ///     .redeliver(webhook_id, &Password { password: "record password".into() })
    ///     .await?;
    /// assert_eq!(redelivery.webhook_id, webhook_id);
    /// # Ok(()) }
    /// ```
    pub async fn redeliver(
        &self,
        webhook_id: Uuid,
        password: &Password,
    ) -> Result<Redelivery, Error> {
        let path = format!("/payments/webhooks/{webhook_id}/redeliver");
        self.inner
            .call(
                Method::POST,
                &path,
                Body::Sealed,
                Some(password),
                Kind::Idempotent,
            )
            .await
    }

    /// `PATCH /payments/deliveries/failed` (sealed): the webhooks and events whose
    /// delivery ran out of attempts, newest first, a page at a time. The merchant's
    /// sealed request is the authority; the listing says where and why, never what.
    /// Pass a page's `next` as the next query's `before`. Retried like a read.
    ///
    /// # Errors
    /// [`Error::Server`] `400 INVALID_FIELD` for a `limit` outside 1 to 100; the other
    /// variants of [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient) -> Result<(), payments_client::Error> {
    /// use payments_client::records::deliveries::{DeliveryKind, FailedDeliveriesQuery};
    /// let mut query = FailedDeliveriesQuery::default();
    /// loop {
    ///     let page = client.webhooks().failed(&query).await?;
    ///     for failed in &page.deliveries {
    ///         println!("{} to {}: {:?}", failed.id, failed.url, failed.last_error);
    ///         if failed.kind == DeliveryKind::Event {
    ///             client.events().redeliver(failed.id).await?;
    ///         }
    ///     }
    ///     match page.next {
    ///         Some(next) => query.before = Some(next),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn failed(&self, query: &FailedDeliveriesQuery) -> Result<FailedDeliveries, Error> {
        self.inner
            .call(
                Method::PATCH,
                "/payments/deliveries/failed",
                Body::Sealed,
                Some(query),
                Kind::Idempotent,
            )
            .await
    }
}

/// The event routes; get one from [`PaymentsClient::events`](crate::PaymentsClient::events).
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    inner: &'a Inner,
}

impl<'a> Events<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self { inner }
    }

    /// `POST /payments/events/{id}/redeliver` (sealed body `{}`, `202`): queues an
    /// event for delivery to the merchant's event URL again. The sealed request is the
    /// authority (events belong to the merchant). Retried like a read.
    ///
    /// # Errors
    /// [`Error::Server`] `404 NOT_FOUND` for an unknown event; the other variants of
    /// [`Error`].
    ///
    /// ```no_run
    /// # async fn run(client: payments_client::PaymentsClient, event_id: uuid::Uuid) -> Result<(), payments_client::Error> {
    /// let redelivery = client.events().redeliver(event_id).await?;
    /// assert_eq!(redelivery.state, "pending");
    /// # Ok(()) }
    /// ```
    pub async fn redeliver(&self, event_id: Uuid) -> Result<Redelivery, Error> {
        let path = format!("/payments/events/{event_id}/redeliver");
        let empty = serde_json::Map::new();
        self.inner
            .call(
                Method::POST,
                &path,
                Body::Sealed,
                Some(&empty),
                Kind::Idempotent,
            )
            .await
    }
}

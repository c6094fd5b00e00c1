//! `fake-toss`: a stateful, scriptable fake of the Toss Payments v1 API that a test suite
//! boots in-process in milliseconds.
//!
//! ```no_run
//! # async fn demo() {
//! let toss = fake_toss::FakeToss::builder()
//!     .secret_key("test_sk_mine")
//!     .webhook_url("http://127.0.0.1:9/hooks")
//!     .start()
//!     .await;
//! // point the code under test at toss.uri() with toss.secret_key() ...
//! let _ = toss.webhooks();
//! # }
//! ```
//!
//! # Modules
//! - [`server`]: [`FakeToss`] (the handle, deref to [`fake_harness::Harness`] for the
//!   knobs every fake shares) and [`FakeTossBuilder`].
//! - `routes`: the HTTP routes and the middleware (secret key, `Idempotency-Key`); the
//!   request log and fault injection are the harness's.
//! - Resources, one module each, holding their request bodies and rules: `payments`
//!   (lookups, key-in, confirm, cancel), `virtual_accounts` (issue, deposit), `billing`
//!   (billing keys and charges), `cash_receipts`.
//! - `store`: the data and the rules they share (status machine, expiry, webhook events);
//!   `model`: records and their JSON shapes; `fields`: field checks; `state`: what the
//!   handlers and the handle share. Dependencies run resource → store → model, never back.
//! - [`cards`]: the declined-card table. [`error`]: Toss-style errors. `auth`: the secret
//!   key check; `idempotency`: Toss's key rules on the harness's cache; `clock`: Toss's
//!   time formats.
//!
//! # API served
//! Every endpoint of the Toss v1 OpenAPI file shipped in `spec/`, plus
//! `POST /v1/payments/confirm`, `GET /v1/payments/orders/{orderId}` and
//! `POST /v1/billing/authorizations/issue`. POSTs answer `201`, reads `200`, errors
//! `{code, message}` with Toss's codes. Every `/v1` and `/internal` route (except
//! `POST /internal/webhook`) needs `Authorization: Basic base64(secretKey + ":")`.
//!
//! # Fake-only fields and endpoints
//! - `__approved: false` on `POST /v1/payments/key-in` or `POST /v1/virtual-accounts`:
//!   the widget flow — the payment stays `IN_PROGRESS` until confirmed (card → `DONE`,
//!   virtual account → `WAITING_FOR_DEPOSIT`); unconfirmed for 30 minutes (fake clock) it
//!   becomes `EXPIRED`. A declined card in this flow fails at confirmation (`ABORTED`).
//! - `PUT /internal/{paymentKey}/deposit` ([`FakeToss::deposit`]): the customer deposits.
//! - `POST /internal/billing/auth-keys` `{customerKey, cardNumber}` → `{authKey, customerKey}`
//!   ([`FakeToss::issue_auth_key`]): what the widget does in a browser.
//! - `GET /internal/clock`, `PUT /internal/clock` `{now}`, `POST /internal/clock/advance`
//!   `{ms}` ([`FakeToss::advance`], [`FakeToss::set_now`]): the injectable clock.
//! - `PUT /internal/faults` `{latencyMs, failNext, hangNext, loseResponseNext, dropWebhooks,
//!   duplicateWebhooks, reorderWebhooks, webhookDelayMs, webhookUrl}` (all optional; counts
//!   add up): the fault knobs for suites in other languages.
//! - `POST /internal/cards/declined` `{cardNumber, status, code, message}`
//!   ([`FakeToss::decline_card`]); `GET /internal/webhooks` ([`FakeToss::webhooks`]).
//! - `POST /internal/webhook` (in the spec): a receiver that answers `201`.
//!
//! # Choices where the real API is silent
//! - `Idempotency-Key`: see the `idempotency` module — replay on same key and body;
//!   `422 INVALID_IDEMPOTENCY_KEY` for a different body; `409 IDEMPOTENT_REQUEST_PROCESSING`
//!   while the first is in flight.
//! - Confirming with a different `orderId` is `403 FORBIDDEN_REQUEST`; with a different
//!   `amount`, `400 INVALID_REQUEST`; twice, `400 ALREADY_PROCESSED_PAYMENT`.
//! - `PAYMENT_STATUS_CHANGED` is sent on every status change and on every cancel (partial
//!   ones included), except into `IN_PROGRESS` (a widget payment awaiting confirmation);
//!   `data` is the full payment object. The spec's `ITossPaymentWebhook` lists only
//!   `WAITING_FOR_DEPOSIT`, `DONE`, `CANCELED`, `PARTIAL_CANCELED`, so the `ABORTED` and
//!   `EXPIRED` events fall outside that schema.
//! - `DEPOSIT_CALLBACK` `{createdAt, secret, status, transactionKey, orderId}` is sent on
//!   deposit.

pub mod cards;
pub mod error;
pub mod server;

mod auth;
mod billing;
mod cash_receipts;
mod clock;
mod fields;
mod idempotency;
mod model;
mod payments;
mod routes;
mod state;
mod store;
mod virtual_accounts;

pub use cards::{DECLINED_CARDS, DeclinedCard};
pub use error::TossError;
pub use fake_harness::{
    Compat, FakeError, Harness, RecordedRequest, WebhookOutcome, WebhookRecord,
};
pub use model::PaymentStatus;
pub use server::{DEFAULT_SECRET_KEY, FakeToss, FakeTossBuilder, REAL_RETRY_SCHEDULE};

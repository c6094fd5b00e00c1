//! A stateful fake of the PortOne v1 ("iamport") REST API that a test suite boots
//! in-process in milliseconds.
//!
//! # Modules
//! - [`server`]: [`FakeIamport`] (the handle, deref to [`fake_harness::Harness`] for the
//!   knobs every fake shares) and [`FakeIamportBuilder`].
//! - `routes`: `METHOD /path` → handler, token check, `Idempotency-Key` replay;
//!   `internal`: PortOne's own `/internal/` routes beside the harness's.
//! - Resources, one module each: `auth` (`POST /users/getToken`, token expiry),
//!   `payments` (lookups, `POST /payments/cancel`), `charges` (`subscribe/payments/onetime`
//!   and `again`), `customers` (saved cards), `vbanks` (virtual accounts, deposit),
//!   `receipts` (cash receipts), `certifications` (SMS OTP).
//! - `model`: the records and their JSON shapes; `state`: the data behind one lock;
//!   `shared`: what the handlers and the handle share. Dependencies run resource →
//!   state → model, never back.
//! - [`webhooks`]: the webhook body; delivery is the harness's. [`cards`]: card checks and
//!   the declined-card table. `envelope`, `fields`: response envelope, request parsing.
//!
//! # Use
//! ```no_run
//! # async fn demo() {
//! let imp = fake_iamport::FakeIamport::start().await;
//! let (key, secret) = imp.credentials();
//! // point the code under test at imp.uri() with key/secret, then:
//! # let imp_uid = String::new();
//! imp.deposit(&imp_uid).await.ok();
//! let _log = imp.webhooks();
//! # }
//! ```
//!
//! # API served
//! Every endpoint of `spec/portone-v1.openapi.json` (a copy of the shared spec), plus
//! `GET /payments/find/{merchant_uid}[/{payment_status}]` and `DELETE /vbanks/{imp_uid}`.
//! Responses are `{code, message, response}`: `code` 0 and `message` `"success"` on
//! success, `code` -1, a Korean message with an English gloss and `response: null` on
//! failure. Times are Unix seconds, 0 when unset; amounts are whole currency units.
//!
//! HTTP statuses follow the real API rather than the spec file's NestJS `201`s:
//! - `200` for every success;
//! - `400` for malformed or missing input (the message names the field);
//! - `401` for a missing, unknown or expired token, or a wrong key pair;
//! - `404` for an unknown id on lookups (`GET /payments/...`, customers, receipts,
//!   certifications, `DELETE /vbanks/{imp_uid}`, deposit) and for unknown endpoints;
//! - `200` with `code: -1` for business refusals, as the real API does: over-cancel,
//!   cancelling an unknown/cancelled/failed/unpaid payment, checksum mismatch, a missing
//!   refund account, a `merchant_uid` already used, an unknown `customer_uid` on
//!   `again`, a card declined at registration, wrong/expired OTP, duplicate receipt;
//! - `409` when an `Idempotency-Key` is reused for a different request;
//! - `500` for injected failures; `413` for bodies over 1 MiB.
//!
//! A declined *charge* is not an error: like the real API it answers `code: 0` with a
//! payment whose `status` is `failed` and whose `fail_reason` is the card company's text.
//!
//! # Declined cards
//! | card number | registration | charge | message |
//! |---|---|---|---|
//! | 4000-0000-0000-0002 | ok | declined | `[8326] 한도초과` (credit limit exceeded) |
//! | 4000-0000-0000-0010 | ok | declined | `[8350] 잔액부족` (insufficient funds) |
//! | 4000-0000-0000-0028 | declined | declined | `[8314] 거래정지카드` (card suspended) |
//! | 4000-0000-0000-0036 | declined | declined | `[8324] 분실/도난` (lost or stolen) |
//! | 4000-0000-0000-0044 | declined | declined | `[8301] 카드번호 오류` (invalid number) |
//! | 4000-0000-0000-0051 | declined | declined | `[8373] 유효기간 오류` (wrong expiry) |
//! | 4000-0000-0000-0069 | declined | declined | `[8371] 비밀번호 오류` (wrong password) |
//! | 4000-0000-0000-0077 | ok | declined | `[8380] 해외결제 차단` (blocked by issuer) |
//! | any card whose `expiry` month is past (by the fake's clock) | declined | declined | `[8373] 유효기간 만료` |
//!
//! The full messages are in [`cards::DECLINED_CARDS`];
//! [`FakeIamport::decline_card`] adds more at run time. Any other well-formed number
//! is approved.
//!
//! # Fake-only endpoints, fields and behaviour
//! - `PUT /internal/deposit/{imp_uid}` (token required, like the spec says): deposits a
//!   `ready` virtual account; also [`FakeIamport::deposit`].
//! - `POST /internal/webhook`: a sink that accepts a webhook body and answers `201 {}`
//!   (it is in the spec; point `notice_url` at it to ignore webhooks).
//! - `Idempotency-Key` header on `onetime`, `again`, `payments/cancel`, `POST /vbanks`,
//!   `POST /subscribe/customers/..` and `POST /receipts/..`: the same key with the same
//!   method, path and body replays the first `200` answer (header
//!   `idempotent-replayed: true`) without acting again; with anything different it is
//!   `409`. Independently, a `merchant_uid` that names a payment that is not `failed` is
//!   refused (`200`, `code: -1`), so a retried `again` never charges twice.
//! - `card_number` in responses keeps the first 6 and last 4 digits and zeroes the rest
//!   (the spec's pattern forbids `*`). `receipt_url`s point at `fake-iamport.invalid`.
//! - `/internal/*` requests never get injected latency or failures.
//!
//! # Failure injection
//! [`FakeIamport::set_latency`], [`FakeIamport::fail_next`] (`500`),
//! [`FakeIamport::hang_next`] (never answered), [`FakeIamport::fail_next_after_acting`]
//! and [`FakeIamport::hang_next_after_acting`] (the request takes effect but its answer
//! is lost), [`FakeIamport::drop_next_webhooks`],
//! [`FakeIamport::duplicate_next_webhooks`], [`FakeIamport::set_webhook_delay`],
//! [`FakeIamport::reorder_next_webhooks`], and the retry schedule
//! ([`FakeIamportBuilder::webhook_retry_schedule`]).

mod auth;
pub mod cards;
mod certifications;
mod charges;
mod customers;
mod envelope;
mod fields;
mod internal;
mod model;
mod payments;
mod receipts;
mod routes;
pub mod server;
mod shared;
mod state;
mod vbanks;
pub mod webhooks;

pub use fake_harness::{
    Compat, FakeError, Harness, RecordedRequest, WebhookOutcome, WebhookRecord,
};
pub use server::{DEFAULT_IMP_KEY, DEFAULT_IMP_SECRET, FakeIamport, FakeIamportBuilder};
pub use vbanks::BANKS;
pub use webhooks::WebhookPayload;

//! The Toss Payments v1 adapter: a reqwest client implementing [`PaymentGateway`] for one
//! merchant (one secret key).
//!
//! Calls and bodies (`base_url` + path):
//! - lookup: `GET /v1/payments/{paymentKey}`; by order: `GET /v1/payments/orders/{orderId}`;
//! - confirm: `POST /v1/payments/confirm` `{paymentKey, orderId, amount}`;
//! - cancel: `POST /v1/payments/{paymentKey}/cancel` `{paymentKey, cancelReason,
//!   cancelAmount?, refundReceiveAccount?}` (+ `Idempotency-Key` when the caller gives one;
//!   `paymentKey` is in the body because the spec's `ITossPaymentCancel.ICreate` requires
//!   it, the real API reading it from the path);
//! - billing lookup: `POST /v1/billing/authorizations/{billingKey}` `{customerKey}`;
//! - charge: `POST /v1/billing/{billingKey}` `{method: "billing", billingKey, customerKey,
//!   amount, orderId, orderName}` + `Idempotency-Key`. The body is the union of the real
//!   API's fields (`orderName`) and the spec's `ITossBilling.IPaymentStore` (`method`,
//!   `billingKey`), so it satisfies both. Toss bills in KRW only: a charge in another
//!   currency is `Rejected {status: 400, code: "INVALID_CURRENCY"}` without a call.
//!
//! How answers map to [`GatewayError`]:
//! - connect/DNS failure (nothing sent): `Unavailable`;
//! - timeout or broken connection after sending: `OutcomeUnknown` on a write (confirm,
//!   cancel, charge), `Unavailable` on a read (a read changes nothing, so nothing is unknown);
//! - 5xx: `OutcomeUnknown` on a write, `Unavailable` on a read;
//! - `409 IDEMPOTENT_REQUEST_PROCESSING` (the same key is still being processed): `OutcomeUnknown`;
//! - 404 or `NOT_FOUND_*`: `NotFound`; 401 or `UNAUTHORIZED_KEY`/`INVALID_API_KEY`: `Unauthorized`;
//! - on a charge, a card refusal (`REJECT_*`, `INVALID_CARD*`, `EXCEED_*`, `NOT_ENOUGH_*`,
//!   card-state codes, and any 403 that is not about access): `Declined`;
//! - any other 4xx: `Rejected {status, code, message}`;
//! - a 2xx body that is not the documented object: `Malformed`.
//!
//! Logs (`tracing` at debug) carry the method, the route template (never the concrete
//! path: billing keys are secrets), the status and the elapsed time. Error messages carry
//! Toss's code and message and never the secret key, a billing key or a card number.

use base64::Engine as _;
use payments_core::money::{Currency, Money};
use payments_core::records::VendorCode;
use payments_core::secret::Secret;
use payments_core::vendor::{
    BillingCharge, CancelPayment, GatewayError, PaymentGateway, VendorBillingKey, VendorPayment,
    pg_amount, toss,
};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};
use std::time::Instant;

use super::{describe, elapsed_ms, idempotency_header, segment, transport_error};

/// The PG's name in messages.
const PG: &str = "Toss";

/// Toss Payments v1 for one merchant: every call authenticates with
/// `Authorization: Basic base64(secret_key + ":")`.
///
/// Cloning is cheap (the reqwest client is shared). `Debug` never prints the key.
#[derive(Clone)]
pub struct TossGateway {
    base_url: String,
    /// The whole `Authorization` header value, built once; it embeds the secret key.
    authorization: Secret<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for TossGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossGateway")
            .field("base_url", &self.base_url)
            .field("secret_key", &"***")
            .finish()
    }
}

/// What a call does at the PG, which decides how an uncertain failure reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Changes nothing: a failure means "try again later".
    Read,
    /// May move money: a failure after sending means "outcome unknown".
    Write,
    /// A billing charge: a write whose card refusals are [`GatewayError::Declined`].
    Charge,
}

impl Call {
    fn writes(self) -> bool {
        !matches!(self, Self::Read)
    }
}

/// One request: method, route template (for logs), concrete URL, optional JSON body and
/// idempotency key.
struct Request<'a> {
    method: Method,
    route: &'static str,
    url: String,
    body: Option<Value>,
    idempotency_key: Option<&'a str>,
    call: Call,
}

impl TossGateway {
    /// An adapter calling `base_url` (without trailing slash, e.g.
    /// `"https://api.tosspayments.com"` or a fake's `uri()`) with `secret_key`, over
    /// `http` (whose timeouts bound every call).
    pub fn new(base_url: &str, secret_key: Secret<String>, http: reqwest::Client) -> Self {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", secret_key.expose()));
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            authorization: Secret::new(format!("Basic {encoded}")),
            http,
        }
    }

    /// Sends one request and returns the 2xx body as JSON, or the mapped error.
    async fn send(&self, request: Request<'_>) -> Result<Value, GatewayError> {
        let Request {
            method,
            route,
            url,
            body,
            idempotency_key,
            call,
        } = request;
        let mut authorization =
            HeaderValue::from_str(self.authorization.expose()).map_err(|_| {
                GatewayError::Unauthorized("the secret key is not a valid header value".into())
            })?;
        authorization.set_sensitive(true);
        let mut builder = self
            .http
            .request(method.clone(), &url)
            .header(AUTHORIZATION, authorization);
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", idempotency_header(key)?);
        }
        if let Some(body) = &body {
            builder = builder.json(body);
        }
        let started = Instant::now();
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(vendor = "toss", %method, path = route, elapsed_ms = elapsed_ms(started), error = %describe(&error), "PG call failed");
                return Err(transport_error(&error, call.writes(), PG));
            }
        };
        let status = response.status();
        let bytes = response.bytes().await;
        tracing::debug!(vendor = "toss", %method, path = route, status = status.as_u16(), elapsed_ms = elapsed_ms(started), "PG call");
        let bytes = bytes.map_err(|error| transport_error(&error, call.writes(), PG))?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|error| {
                GatewayError::Malformed(format!(
                    "{method} {route} answered {status} with a body that is not JSON: {error}"
                ))
            })
        } else {
            Err(error_for(status.as_u16(), &bytes, call))
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn payment(&self, request: Request<'_>) -> Result<VendorPayment, GatewayError> {
        let raw = self.send(request).await?;
        Ok(toss::payment_view(raw)?)
    }
}

#[async_trait::async_trait]
impl PaymentGateway for TossGateway {
    fn vendor(&self) -> VendorCode {
        VendorCode::TossPayments
    }

    async fn lookup_payment(&self, uid: &str) -> Result<VendorPayment, GatewayError> {
        let key = segment(uid, "paymentKey", PG)?;
        self.payment(Request {
            method: Method::GET,
            route: "/v1/payments/{paymentKey}",
            url: self.url(&format!("/v1/payments/{key}")),
            body: None,
            idempotency_key: None,
            call: Call::Read,
        })
        .await
    }

    async fn lookup_payment_by_order(&self, order_id: &str) -> Result<VendorPayment, GatewayError> {
        let order = segment(order_id, "orderId", PG)?;
        self.payment(Request {
            method: Method::GET,
            route: "/v1/payments/orders/{orderId}",
            url: self.url(&format!("/v1/payments/orders/{order}")),
            body: None,
            idempotency_key: None,
            call: Call::Read,
        })
        .await
    }

    async fn confirm_payment(
        &self,
        uid: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<VendorPayment, GatewayError> {
        let amount = pg_amount(amount, "amount")?;
        self.payment(Request {
            method: Method::POST,
            route: "/v1/payments/confirm",
            url: self.url("/v1/payments/confirm"),
            body: Some(json!({ "paymentKey": uid, "orderId": order_id, "amount": amount })),
            idempotency_key: None,
            call: Call::Write,
        })
        .await
    }

    async fn cancel_payment(
        &self,
        cancel: CancelPayment<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        let key = segment(cancel.uid, "paymentKey", PG)?;
        let mut body = json!({ "paymentKey": cancel.uid, "cancelReason": cancel.reason });
        if let Some(amount) = cancel.amount {
            body["cancelAmount"] = json!(pg_amount(amount, "cancelAmount")?);
        }
        if let Some(account) = cancel.refund_account {
            // Toss takes the account number as digits only; callers often keep hyphens.
            let digits: String = account
                .account
                .expose()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            body["refundReceiveAccount"] = json!({
                "bank": account.bank,
                "accountNumber": digits,
                "holderName": account.holder,
            });
        }
        self.payment(Request {
            method: Method::POST,
            route: "/v1/payments/{paymentKey}/cancel",
            url: self.url(&format!("/v1/payments/{key}/cancel")),
            body: Some(body),
            idempotency_key: cancel.idempotency_key,
            call: Call::Write,
        })
        .await
    }

    async fn lookup_billing_key(
        &self,
        uid: &str,
        customer_key: &str,
    ) -> Result<VendorBillingKey, GatewayError> {
        let key = segment(uid, "billingKey", PG)?;
        // A POST, but it only reads: a failure never leaves anything half done.
        let raw = self
            .send(Request {
                method: Method::POST,
                route: "/v1/billing/authorizations/{billingKey}",
                url: self.url(&format!("/v1/billing/authorizations/{key}")),
                body: Some(json!({ "customerKey": customer_key })),
                idempotency_key: None,
                call: Call::Read,
            })
            .await?;
        Ok(toss::billing_view(raw)?)
    }

    async fn charge_billing_key(
        &self,
        charge: BillingCharge<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        // Toss bills in won only; sending another currency's amount would charge it as won.
        if charge.amount.currency() != Currency::Krw {
            return Err(GatewayError::Rejected {
                status: 400,
                code: "INVALID_CURRENCY".into(),
                message: format!(
                    "Toss billing charges are in KRW only; got currency {:?}",
                    charge.amount.currency().code()
                ),
            });
        }
        let amount = pg_amount(charge.amount, "amount")?;
        let key = segment(charge.billing_key, "billingKey", PG)?;
        self.payment(Request {
            method: Method::POST,
            route: "/v1/billing/{billingKey}",
            url: self.url(&format!("/v1/billing/{key}")),
            body: Some(json!({
                "method": "billing",
                "billingKey": charge.billing_key,
                "customerKey": charge.customer_key,
                "amount": amount,
                "orderId": charge.order_id,
                "orderName": charge.order_name,
            })),
            idempotency_key: Some(charge.idempotency_key),
            call: Call::Charge,
        })
        .await
    }
}

/// Toss's error body.
#[derive(serde::Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// Maps a non-2xx answer to the error the caller acts on.
fn error_for(status: u16, body: &[u8], call: Call) -> GatewayError {
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { code, message }) => (code, message),
        Err(_) => (
            String::new(),
            format!("HTTP {status} with an unreadable error body"),
        ),
    };
    if status >= 500 {
        let text = format!("Toss answered {status} {code}: {message}");
        return if call.writes() {
            GatewayError::OutcomeUnknown(text)
        } else {
            GatewayError::Unavailable(text)
        };
    }
    if code == "IDEMPOTENT_REQUEST_PROCESSING" {
        // The first request under this key is still running at Toss: it may yet succeed.
        return GatewayError::OutcomeUnknown(format!("{code}: {message}"));
    }
    if status == 404 || code.starts_with("NOT_FOUND") {
        return GatewayError::NotFound(format!("{code}: {message}"));
    }
    if status == 401 || code == "UNAUTHORIZED_KEY" || code == "INVALID_API_KEY" {
        return GatewayError::Unauthorized(format!("{code}: {message}"));
    }
    if call == Call::Charge && is_card_refusal(status, &code) {
        return GatewayError::Declined { code, message };
    }
    if (400..500).contains(&status) {
        return GatewayError::Rejected {
            status,
            code,
            message,
        };
    }
    GatewayError::Malformed(format!(
        "unexpected HTTP status {status} ({code}: {message})"
    ))
}

/// Whether a 4xx on a billing charge is the card (issuer, limits, fraud checks) refusing
/// rather than a fault in our request or credentials.
///
/// Refusals: `REJECT_*`, `INVALID_CARD*`, `EXCEED_*`, `NOT_ENOUGH_*`, the card-state codes
/// (`INVALID_STOPPED_CARD`, `INVALID_REJECT_CARD`, `NOT_AVAILABLE_PAYMENT`,
/// `CARD_PROCESSING_ERROR`, `FDS_ERROR`, `RESTRICTED_*`), and any other 403 except the
/// access-control ones (Toss answers card refusals with 403).
fn is_card_refusal(status: u16, code: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "REJECT_",
        "INVALID_CARD",
        "EXCEED_",
        "NOT_ENOUGH_",
        "RESTRICTED_",
        "BELOW_MINIMUM_",
    ];
    const CODES: [&str; 5] = [
        "INVALID_STOPPED_CARD",
        "INVALID_REJECT_CARD",
        "NOT_AVAILABLE_PAYMENT",
        "CARD_PROCESSING_ERROR",
        "FDS_ERROR",
    ];
    const NOT_REFUSALS: [&str; 4] = [
        "FORBIDDEN_REQUEST",
        "FORBIDDEN_CONSECUTIVE_REQUEST",
        "UNAUTHORIZED_KEY",
        "INVALID_API_KEY",
    ];
    PREFIXES.iter().any(|p| code.starts_with(p))
        || CODES.contains(&code)
        || (status == 403 && !NOT_REFUSALS.contains(&code))
}

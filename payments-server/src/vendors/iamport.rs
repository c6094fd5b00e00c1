//! The PortOne v1 (iamport) adapter: a reqwest client implementing [`PaymentGateway`]
//! for one merchant (one `imp_key`/`imp_secret` pair).
//!
//! Calls and bodies (`base_url` + path), each with `Authorization: <access token>`:
//! - lookup: `GET /payments/{imp_uid}`; by order: `GET /payments/find/{merchant_uid}`;
//! - confirm: PortOne has no confirmation step, so the payment is looked up and its
//!   `merchant_uid` and `amount` checked against the caller's (a mismatch is
//!   `Rejected {status: 400, code: "ORDER_MISMATCH" | "AMOUNT_MISMATCH"}`, made here, as
//!   Toss would refuse such a confirmation);
//! - cancel: `GET /payments/{imp_uid}` first, then `POST /payments/cancel` `{imp_uid,
//!   merchant_uid, amount?, reason, checksum, refund_holder?, refund_bank?,
//!   refund_account?, refund_tel?}` (+ `Idempotency-Key` when the caller gives one). The
//!   `checksum` is the balance the lookup just read: PortOne refuses the cancel if the
//!   balance changed in between (a concurrent cancel), so two racing cancels cannot both
//!   succeed. It does not protect a retry after an unknown outcome (the retry reads the
//!   new balance); the caller must look the payment up before retrying.
//! - billing lookup: `GET /subscribe/customers/{customer_uid}`;
//! - charge: `POST /subscribe/payments/again` `{customer_uid, merchant_uid, amount, name,
//!   currency}` + `Idempotency-Key`.
//!
//! The access token comes from `POST /users/getToken` `{imp_key, imp_secret}`. It is
//! cached until 60 s before it expires, the lifetime being computed from the server's own
//! `expired_at - now` (so a skewed local clock does not matter) and counted on the
//! adapter's [`Clock`]. One refresh runs at a time: concurrent callers wait for it and
//! share its token. A 401 on a cached token drops it, fetches a new one and retries once.
//!
//! How answers map to [`GatewayError`] (the envelope is `{code, message, response}`,
//! `code` 0 meaning success, whatever the HTTP status):
//! - connect/DNS failure (nothing sent): `Unavailable`;
//! - timeout or broken connection after sending, or a 5xx: `OutcomeUnknown` on a write
//!   (cancel, charge), `Unavailable` on a read;
//! - 401: `Unauthorized` (after the one retry); 404, or a message saying the payment does
//!   not exist ("존재하지 않는 결제정보입니다"): `NotFound`;
//! - a charge answered `code: 0` with `status: "failed"`: `Declined {code: "failed",
//!   message: fail_reason}`; a charge answered 200 with a non-zero code: `Declined`,
//!   except "this merchant_uid was already paid", which is `Rejected` (the earlier charge
//!   under that order id may well have succeeded: that is no card refusal);
//! - any other non-zero code or 4xx: `Rejected {status, code, message}`;
//! - a body that is not the documented envelope or object: `Malformed`.
//!
//! Logs (`tracing` at debug) carry the method, the route template, the status and the
//! elapsed time; never a token, the API secret, a billing key or a card number.

use payments_core::clock::{Clock, SystemClock};
use payments_core::money::Money;
use payments_core::records::VendorCode;
use payments_core::secret::Secret;
use payments_core::timestamp::Timestamp;
use payments_core::vendor::{
    BillingCharge, CancelPayment, GatewayError, PaymentGateway, VendorBillingKey, VendorPayment,
    iamport, pg_amount,
};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

use super::{describe, elapsed_ms, idempotency_header, segment, transport_error};

/// The PG's name in messages.
const PG: &str = "PortOne";

/// How long before its expiry a token is replaced, so that it never expires in flight.
const REFRESH_MARGIN_SECONDS: i64 = 60;

/// PortOne v1 for one merchant, with its cached access token.
///
/// `Debug` never prints the API key pair or the token.
pub struct IamportGateway {
    base_url: String,
    imp_key: String,
    imp_secret: Secret<String>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// The cached token. An async mutex held across the refresh is what makes one refresh
    /// at a time: a caller that finds the token stale refreshes while the others wait.
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for IamportGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamportGateway")
            .field("base_url", &self.base_url)
            .field("imp_key", &"***")
            .field("imp_secret", &"***")
            .finish()
    }
}

/// An access token and the local time from which it is no longer used.
struct CachedToken {
    value: Secret<String>,
    refresh_at: Timestamp,
}

/// What a call does at the PG, which decides how an uncertain failure reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Changes nothing: a failure means "try again later".
    Read,
    /// May move money: a failure after sending means "outcome unknown".
    Write,
    /// `subscribe/payments/again`: a write whose refusals are [`GatewayError::Declined`].
    Charge,
}

impl Call {
    fn writes(self) -> bool {
        !matches!(self, Self::Read)
    }
}

/// One authenticated request.
struct Request<'a> {
    method: Method,
    route: &'static str,
    url: String,
    body: Option<Value>,
    idempotency_key: Option<&'a str>,
    call: Call,
}

/// Why one attempt failed: a 401 is kept apart so that a stale cached token can be
/// replaced and the call retried.
enum Failure {
    Unauthorized(String),
    Gateway(GatewayError),
}

impl From<GatewayError> for Failure {
    fn from(error: GatewayError) -> Self {
        Self::Gateway(error)
    }
}

impl From<Failure> for GatewayError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unauthorized(message) => GatewayError::Unauthorized(message),
            Failure::Gateway(error) => error,
        }
    }
}

impl IamportGateway {
    /// An adapter calling `base_url` (without trailing slash, e.g.
    /// `"https://api.iamport.kr"` or a fake's `uri()`) with the merchant's REST API key
    /// pair, over `http` (whose timeouts bound every call). Token expiry is counted on the
    /// system clock; see [`IamportGateway::with_clock`].
    pub fn new(
        base_url: &str,
        imp_key: String,
        imp_secret: Secret<String>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            imp_key,
            imp_secret,
            http,
            clock: Arc::new(SystemClock),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// The same adapter counting token lifetimes on `clock` (tests move it to reach the
    /// refresh margin without waiting). Any cached token is dropped.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self.token = tokio::sync::Mutex::new(None);
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A usable token and whether it came from the cache (only a cached token is worth
    /// replacing after a 401).
    async fn token(&self) -> Result<(Secret<String>, bool), GatewayError> {
        let mut slot = self.token.lock().await;
        if let Some(cached) = slot.as_ref()
            && self.clock.now() < cached.refresh_at
        {
            return Ok((cached.value.clone(), true));
        }
        *slot = None;
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok((value, false))
    }

    /// Forgets `used` if it is still the cached token (another caller may already have
    /// replaced it, and that newer token must be kept).
    async fn forget_token(&self, used: &Secret<String>) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|cached| cached.value == *used) {
            *slot = None;
        }
    }

    /// `POST /users/getToken`.
    async fn fetch_token(&self) -> Result<CachedToken, GatewayError> {
        let route = "/users/getToken";
        let body = json!({ "imp_key": self.imp_key, "imp_secret": self.imp_secret.expose() });
        let started = Instant::now();
        let response = match self.http.post(self.url(route)).json(&body).send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(vendor = "iamport", method = "POST", path = route, elapsed_ms = elapsed_ms(started), error = %describe(&error), "PG call failed");
                // Asking for a token changes nothing worth knowing: never "outcome unknown".
                return Err(transport_error(&error, false, PG));
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await;
        tracing::debug!(
            vendor = "iamport",
            method = "POST",
            path = route,
            status,
            elapsed_ms = elapsed_ms(started),
            "PG call"
        );
        let bytes = bytes.map_err(|error| transport_error(&error, false, PG))?;
        let received_at = self.clock.now();
        let user = match read_envelope(status, &bytes, Call::Read) {
            Ok(user) => user,
            Err(Failure::Unauthorized(message)) => {
                return Err(GatewayError::Unauthorized(format!(
                    "PortOne refused the API key pair: {message}"
                )));
            }
            Err(Failure::Gateway(GatewayError::Rejected { code, message, .. })) => {
                // getToken only fails on the key pair (the real API answers some of these 200).
                return Err(GatewayError::Unauthorized(format!(
                    "PortOne refused the API key pair: {code}: {message}"
                )));
            }
            Err(Failure::Gateway(error)) => return Err(error),
        };
        let token = match user.get("access_token") {
            Some(Value::String(token)) if !token.is_empty() => token.clone(),
            _ => {
                return Err(GatewayError::Malformed(
                    "getToken: access_token is missing".into(),
                ));
            }
        };
        let seconds = |field: &'static str| {
            user.get(field)
                .and_then(Value::as_f64)
                .filter(|s| s.is_finite())
                .ok_or_else(|| {
                    GatewayError::Malformed(format!("getToken: {field} is not a number"))
                })
        };
        let (now, expired_at) = (seconds("now")?, seconds("expired_at")?);
        // The server's own clock measures the lifetime; ours only counts it down.
        let lifetime = (expired_at - now) as i64;
        let usable = lifetime
            .saturating_sub(REFRESH_MARGIN_SECONDS)
            .clamp(0, 366 * 86_400);
        Ok(CachedToken {
            value: Secret::new(token),
            refresh_at: received_at + chrono::Duration::seconds(usable),
        })
    }

    /// Sends an authenticated request, replacing a rejected cached token once, and returns
    /// the envelope's `response`.
    async fn call(&self, request: Request<'_>) -> Result<Value, GatewayError> {
        let (token, cached) = self.token().await?;
        match self.attempt(&request, &token).await {
            Err(Failure::Unauthorized(_)) if cached => {
                tracing::debug!(
                    vendor = "iamport",
                    path = request.route,
                    "cached token refused; refreshing once"
                );
                self.forget_token(&token).await;
                let (token, _) = self.token().await?;
                Ok(self.attempt(&request, &token).await?)
            }
            result => Ok(result?),
        }
    }

    async fn attempt(
        &self,
        request: &Request<'_>,
        token: &Secret<String>,
    ) -> Result<Value, Failure> {
        let mut authorization = HeaderValue::from_str(token.expose()).map_err(|_| {
            GatewayError::Malformed("getToken: access_token is not a valid header value".into())
        })?;
        authorization.set_sensitive(true);
        let mut builder = self
            .http
            .request(request.method.clone(), &request.url)
            .header(AUTHORIZATION, authorization);
        if let Some(key) = request.idempotency_key {
            builder = builder.header("Idempotency-Key", idempotency_header(key)?);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let (method, route) = (&request.method, request.route);
        let started = Instant::now();
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(vendor = "iamport", %method, path = route, elapsed_ms = elapsed_ms(started), error = %describe(&error), "PG call failed");
                return Err(transport_error(&error, request.call.writes(), PG).into());
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await;
        tracing::debug!(vendor = "iamport", %method, path = route, status, elapsed_ms = elapsed_ms(started), "PG call");
        let bytes = bytes.map_err(|error| transport_error(&error, request.call.writes(), PG))?;
        read_envelope(status, &bytes, request.call)
    }

    async fn payment(&self, request: Request<'_>) -> Result<VendorPayment, GatewayError> {
        let raw = self.call(request).await?;
        Ok(iamport::payment_view(raw)?)
    }
}

#[async_trait::async_trait]
impl PaymentGateway for IamportGateway {
    fn vendor(&self) -> VendorCode {
        VendorCode::Iamport
    }

    async fn lookup_payment(&self, uid: &str) -> Result<VendorPayment, GatewayError> {
        let imp_uid = segment(uid, "imp_uid", PG)?;
        self.payment(Request {
            method: Method::GET,
            route: "/payments/{imp_uid}",
            url: self.url(&format!("/payments/{imp_uid}")),
            body: None,
            idempotency_key: None,
            call: Call::Read,
        })
        .await
    }

    async fn lookup_payment_by_order(&self, order_id: &str) -> Result<VendorPayment, GatewayError> {
        let merchant_uid = segment(order_id, "merchant_uid", PG)?;
        self.payment(Request {
            method: Method::GET,
            route: "/payments/find/{merchant_uid}",
            url: self.url(&format!("/payments/find/{merchant_uid}")),
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
        let payment = self.lookup_payment(uid).await?;
        // Toss refuses a confirmation for another order or amount; PortOne has no such
        // step, so the adapter makes the same check on what the payer actually paid.
        if payment.order_id != order_id {
            return Err(GatewayError::Rejected {
                status: 400,
                code: "ORDER_MISMATCH".into(),
                message: format!(
                    "imp_uid {uid:?} belongs to merchant_uid {:?}, not {order_id:?}",
                    payment.order_id
                ),
            });
        }
        if payment.amount != amount {
            return Err(GatewayError::Rejected {
                status: 400,
                code: "AMOUNT_MISMATCH".into(),
                message: format!(
                    "imp_uid {uid:?} is for {} {}, not {}",
                    pg_amount(payment.amount, "amount")?,
                    payment.amount.currency(),
                    pg_amount(amount, "amount")?
                ),
            });
        }
        Ok(payment)
    }

    async fn cancel_payment(
        &self,
        cancel: CancelPayment<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        let before = self.lookup_payment(cancel.uid).await?;
        let mut body = json!({
            "imp_uid": before.uid,
            "merchant_uid": before.order_id,
            "reason": cancel.reason,
            "checksum": pg_amount(before.balance(), "checksum")?,
        });
        if let Some(amount) = cancel.amount {
            body["amount"] = json!(pg_amount(amount, "amount")?);
        }
        if let Some(account) = cancel.refund_account {
            body["refund_holder"] = json!(account.holder);
            body["refund_bank"] = json!(account.bank);
            body["refund_account"] = json!(account.account.expose());
            if let Some(tel) = &account.mobile {
                body["refund_tel"] = json!(tel);
            }
        }
        self.payment(Request {
            method: Method::POST,
            route: "/payments/cancel",
            url: self.url("/payments/cancel"),
            body: Some(body),
            idempotency_key: cancel.idempotency_key,
            call: Call::Write,
        })
        .await
    }

    async fn lookup_billing_key(
        &self,
        uid: &str,
        _customer_key: &str,
    ) -> Result<VendorBillingKey, GatewayError> {
        let customer_uid = segment(uid, "customer_uid", PG)?;
        let raw = self
            .call(Request {
                method: Method::GET,
                route: "/subscribe/customers/{customer_uid}",
                url: self.url(&format!("/subscribe/customers/{customer_uid}")),
                body: None,
                idempotency_key: None,
                call: Call::Read,
            })
            .await?;
        Ok(iamport::billing_view(raw)?)
    }

    async fn lookup_certification(&self, uid: &str) -> Result<serde_json::Value, GatewayError> {
        let imp_uid = segment(uid, "imp_uid", PG)?;
        self.call(Request {
            method: Method::GET,
            route: "/certifications/{imp_uid}",
            url: self.url(&format!("/certifications/{imp_uid}")),
            body: None,
            idempotency_key: None,
            call: Call::Read,
        })
        .await
    }

    async fn charge_billing_key(
        &self,
        charge: BillingCharge<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        let raw = self
            .call(Request {
                method: Method::POST,
                route: "/subscribe/payments/again",
                url: self.url("/subscribe/payments/again"),
                body: Some(json!({
                    "customer_uid": charge.billing_key,
                    "merchant_uid": charge.order_id,
                    "amount": pg_amount(charge.amount, "amount")?,
                    "name": charge.order_name,
                    "currency": charge.amount.currency().code(),
                })),
                idempotency_key: Some(charge.idempotency_key),
                call: Call::Charge,
            })
            .await?;
        let payment = iamport::payment_view(raw)?;
        if payment.raw.get("status").and_then(Value::as_str) == Some("failed") {
            return Err(GatewayError::Declined {
                code: "failed".into(),
                message: payment.failure.unwrap_or_else(|| {
                    "PortOne reported the charge failed without a reason".into()
                }),
            });
        }
        Ok(payment)
    }
}

/// Reads PortOne's envelope and returns its `response`, or the mapped failure.
fn read_envelope(status: u16, body: &[u8], call: Call) -> Result<Value, Failure> {
    let envelope: Option<Value> = serde_json::from_slice(body).ok();
    let code = envelope
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64);
    let message = envelope
        .as_ref()
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map_or_else(|| format!("HTTP {status}"), str::to_owned);
    if status >= 500 {
        let text = format!("PortOne answered {status}: {message}");
        return Err(if call.writes() {
            GatewayError::OutcomeUnknown(text)
        } else {
            GatewayError::Unavailable(text)
        }
        .into());
    }
    if status == 401 {
        return Err(Failure::Unauthorized(format!(
            "{}: {message}",
            code.unwrap_or_default()
        )));
    }
    if status == 404 {
        return Err(GatewayError::NotFound(message).into());
    }
    let (Some(mut envelope), Some(code)) = (envelope, code) else {
        return Err(GatewayError::Malformed(format!(
            "HTTP {status} with a body that is not PortOne's {{code, message, response}} envelope"
        ))
        .into());
    };
    if code == 0 && (200..300).contains(&status) {
        return match envelope.get_mut("response").map(Value::take) {
            Some(response @ Value::Object(_)) => Ok(response),
            _ => Err(
                GatewayError::Malformed("the envelope's response is not an object".into()).into(),
            ),
        };
    }
    if says_not_found(&message) {
        return Err(GatewayError::NotFound(message).into());
    }
    let code = code.to_string();
    if call == Call::Charge && (200..300).contains(&status) && !says_order_already_used(&message) {
        return Err(GatewayError::Declined { code, message }.into());
    }
    Err(GatewayError::Rejected {
        status,
        code,
        message,
    }
    .into())
}

/// PortOne's "no such payment / customer" messages ("존재하지 않는 결제정보입니다",
/// "취소할 결제건이 존재하지 않습니다", "…찾을 수 없습니다"), which come with a -1 code and
/// sometimes HTTP 200.
fn says_not_found(message: &str) -> bool {
    let lower = message.to_lowercase();
    message.contains("존재하지 않")
        || message.contains("찾을 수 없")
        || lower.contains("not found")
        || lower.contains("does not exist")
}

/// The duplicate-order refusal on `again` ("이미 결제가 진행된 merchant_uid입니다").
fn says_order_already_used(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("merchant_uid") && (message.contains("이미") || lower.contains("already"))
}

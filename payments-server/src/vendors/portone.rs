//! The PortOne V2 adapter: a reqwest client implementing [`PaymentGateway`] for one
//! PortOne store (an API secret and the store's `storeId`).
//!
//! Every call carries `Authorization: PortOne <API secret>` and names the store
//! (`storeId` in the query of a GET, in the body of a POST), so one API secret may serve
//! several stores. A V2 payment is named by the merchant's own `paymentId`: it is the
//! payment's uid *and* its order id (see [`payments_core::vendor::portone`]).
//!
//! Calls (`base_url` + path):
//! - lookup, and lookup by order: `GET /payments/{paymentId}?storeId=`;
//! - confirm: V2 has nothing for the server to confirm (its `PAY_PENDING` is the PG's
//!   step), so the payment is looked up and its order and amount checked as the PortOne
//!   V1 adapter does (`Rejected {400, ORDER_MISMATCH | AMOUNT_MISMATCH}`);
//! - cancel: `GET` first; an issued, undeposited virtual account cancelled in full is
//!   closed (`POST /payments/{paymentId}/virtual-account/close`), anything else is
//!   `POST /payments/{paymentId}/cancel {storeId, reason, amount?,
//!   currentCancellableAmount, refundAccount?}` (+ `Idempotency-Key` when given) with
//!   `currentCancellableAmount` = the caller's [`CancelPayment::balance`] (the balance the
//!   server holds), or the balance just read. PortOne refuses the cancel when its own
//!   balance differs, so a cancel made elsewhere is never doubled. The answer only
//!   carries the cancellation, so the payment is read again after; a cancel that
//!   succeeded but cannot be read back is `OutcomeUnknown`. The refund account's `bank`
//!   is passed as given: it must be a V2 `Bank` code (`SHINHAN`, `KOOKMIN`, …);
//! - billing lookup: `GET /billing-keys/{billingKey}?storeId=` (a deleted key reads
//!   with [`VendorBillingKey::deleted`] set);
//! - charge: `POST /payments/{paymentId}/billing-key {storeId, billingKey, orderName,
//!   amount: {total}, currency}` + `Idempotency-Key`, with `paymentId` = the charge's
//!   order id. That id is deterministic, so it is the idempotency too: PortOne pays one
//!   `paymentId` once (`409 ALREADY_PAID` after), and a retry after a lost answer finds
//!   the payment by id. The answer is a summary, so the payment is read after;
//! - certification: `GET /identity-verifications/{id}?storeId=`, the object as is.
//!
//! How answers map to [`GatewayError`] (errors are `{type, message, pgCode?,
//! pgMessage?}`):
//! - connect/DNS failure (nothing sent): `Unavailable`;
//! - timeout or broken connection after sending, or a 5xx other than `502 PG_PROVIDER`:
//!   `OutcomeUnknown` on a write (cancel, close, charge), `Unavailable` on a read;
//! - 401, and 403 (the secret does not reach the store): `Unauthorized`; 404: `NotFound`;
//! - `502 PG_PROVIDER` on a charge: `Declined {pgCode, pgMessage}`; elsewhere `Rejected`;
//! - any other 4xx: `Rejected {status, type, message}`;
//! - a 2xx body that is not the documented object: `Malformed`.
//!
//! Logs (`tracing` at debug) carry the method, the route template, the status and the
//! elapsed time; never the API secret or a billing key.

use payments_core::money::Money;
use payments_core::records::VendorCode;
use payments_core::secret::Secret;
use payments_core::vendor::{
    BillingCharge, CancelPayment, GatewayError, PaymentGateway, PaymentStatus, VendorBillingKey,
    VendorPayment, pg_amount, portone,
};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};
use std::time::Instant;

use super::{describe, elapsed_ms, idempotency_header, segment, transport_error};

/// The PG's name in messages.
const PG: &str = "PortOne V2";

/// The public API's address, the default `base_url`.
pub const DEFAULT_BASE_URL: &str = "https://api.portone.io";

/// PortOne V2 for one store. `Debug` never prints the API secret.
#[derive(Clone)]
pub struct PortOneGateway {
    base_url: String,
    /// The whole `Authorization` header value (`PortOne <secret>`), built once.
    authorization: Secret<String>,
    store_id: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for PortOneGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOneGateway")
            .field("base_url", &self.base_url)
            .field("store_id", &self.store_id)
            .field("api_secret", &"***")
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
    /// A billing-key payment: a write whose PG refusals are [`GatewayError::Declined`].
    Charge,
}

impl Call {
    fn writes(self) -> bool {
        !matches!(self, Self::Read)
    }
}

impl PortOneGateway {
    /// An adapter calling `base_url` (e.g. [`DEFAULT_BASE_URL`] or a fake's `uri()`) with
    /// the merchant's API secret for the PortOne store `store_id`, over `http` (whose
    /// timeouts bound every call).
    pub fn new(
        base_url: &str,
        api_secret: &Secret<String>,
        store_id: &str,
        http: reqwest::Client,
    ) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            authorization: Secret::new(format!("PortOne {}", api_secret.expose())),
            store_id: store_id.to_owned(),
            http,
        }
    }

    /// Sends one request and returns the 2xx body, or the mapped failure.
    async fn send(
        &self,
        method: Method,
        route: &'static str,
        path: String,
        body: Option<Value>,
        idempotency_key: Option<&str>,
        call: Call,
    ) -> Result<Value, GatewayError> {
        let mut authorization =
            HeaderValue::from_str(self.authorization.expose()).map_err(|_| {
                GatewayError::Unauthorized("the API secret is not a header value".into())
            })?;
        authorization.set_sensitive(true);
        let url = format!("{}{path}", self.base_url);
        let mut builder = self
            .http
            .request(method.clone(), &url)
            .header(AUTHORIZATION, authorization);
        if method == Method::GET {
            builder = builder.query(&[("storeId", &self.store_id)]);
        }
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", idempotency_header(key)?);
        }
        if let Some(mut body) = body {
            body["storeId"] = json!(self.store_id);
            builder = builder.json(&body);
        }
        let started = Instant::now();
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(vendor = "portone", %method, path = route, elapsed_ms = elapsed_ms(started), error = %describe(&error), "PG call failed");
                return Err(transport_error(&error, call.writes(), PG));
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await;
        tracing::debug!(vendor = "portone", %method, path = route, status, elapsed_ms = elapsed_ms(started), "PG call");
        let bytes = bytes.map_err(|error| transport_error(&error, call.writes(), PG))?;
        read_answer(status, &bytes, call)
    }

    async fn get(&self, route: &'static str, path: String) -> Result<Value, GatewayError> {
        self.send(Method::GET, route, path, None, None, Call::Read)
            .await
    }

    async fn payment(&self, payment_id: &str) -> Result<VendorPayment, GatewayError> {
        let id = segment(payment_id, "paymentId", PG)?;
        let raw = self
            .get("/payments/{paymentId}", format!("/payments/{id}"))
            .await?;
        Ok(portone::payment_view(raw)?)
    }

    /// Reads a payment after a write that succeeded: a failure to read is no failure of
    /// the write, so it reads as "outcome unknown" (ask again), never as "nothing happened".
    async fn payment_after_write(
        &self,
        payment_id: &str,
        what: &str,
    ) -> Result<VendorPayment, GatewayError> {
        self.payment(payment_id).await.map_err(|error| {
            GatewayError::OutcomeUnknown(format!(
                "{what} succeeded at {PG}, but the payment could not be read back: {error}"
            ))
        })
    }
}

#[async_trait::async_trait]
impl PaymentGateway for PortOneGateway {
    fn vendor(&self) -> VendorCode {
        VendorCode::PortOne
    }

    async fn lookup_payment(&self, uid: &str) -> Result<VendorPayment, GatewayError> {
        self.payment(uid).await
    }

    async fn lookup_payment_by_order(&self, order_id: &str) -> Result<VendorPayment, GatewayError> {
        // The merchant's paymentId is the order id.
        self.payment(order_id).await
    }

    async fn confirm_payment(
        &self,
        uid: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<VendorPayment, GatewayError> {
        let payment = self.payment(uid).await?;
        if payment.order_id != order_id {
            return Err(GatewayError::Rejected {
                status: 400,
                code: "ORDER_MISMATCH".into(),
                message: format!("paymentId {uid:?} is not order {order_id:?}"),
            });
        }
        if payment.amount != amount {
            return Err(GatewayError::Rejected {
                status: 400,
                code: "AMOUNT_MISMATCH".into(),
                message: format!("paymentId {uid:?} is for {}, not {amount}", payment.amount),
            });
        }
        Ok(payment)
    }

    async fn cancel_payment(
        &self,
        cancel: CancelPayment<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        let before = self.payment(cancel.uid).await?;
        let id = segment(&before.uid, "paymentId", PG)?;
        if before.status == PaymentStatus::WaitingForDeposit && cancel.amount.is_none() {
            // Nothing was deposited: PortOne refuses to cancel such a payment and closes
            // the account instead.
            self.send(
                Method::POST,
                "/payments/{paymentId}/virtual-account/close",
                format!("/payments/{id}/virtual-account/close"),
                Some(json!({})),
                cancel.idempotency_key,
                Call::Write,
            )
            .await?;
            return self
                .payment_after_write(&before.uid, "closing the virtual account")
                .await;
        }
        let mut body = json!({
            "reason": cancel.reason,
            "currentCancellableAmount": pg_amount(
                cancel.balance.unwrap_or_else(|| before.balance()),
                "currentCancellableAmount",
            )?,
        });
        if let Some(amount) = cancel.amount {
            body["amount"] = json!(pg_amount(amount, "amount")?);
        }
        if let Some(account) = cancel.refund_account {
            body["refundAccount"] = json!({
                "bank": account.bank,
                "number": account.account.expose(),
                "holderName": account.holder,
            });
            if let Some(phone) = &account.mobile {
                body["refundAccount"]["holderPhoneNumber"] = json!(phone);
            }
        }
        let answer = self
            .send(
                Method::POST,
                "/payments/{paymentId}/cancel",
                format!("/payments/{id}/cancel"),
                Some(body),
                cancel.idempotency_key,
                Call::Write,
            )
            .await?;
        if answer
            .pointer("/cancellation/status")
            .and_then(Value::as_str)
            == Some("FAILED")
        {
            return Err(GatewayError::Rejected {
                status: 200,
                code: "CANCELLATION_FAILED".into(),
                message: answer
                    .pointer("/cancellation/reason")
                    .and_then(Value::as_str)
                    .unwrap_or("PortOne reported the cancellation failed")
                    .to_owned(),
            });
        }
        self.payment_after_write(&before.uid, "the cancel").await
    }

    async fn lookup_billing_key(
        &self,
        uid: &str,
        _customer_key: &str,
    ) -> Result<VendorBillingKey, GatewayError> {
        let key = segment(uid, "billingKey", PG)?;
        let raw = self
            .get("/billing-keys/{billingKey}", format!("/billing-keys/{key}"))
            .await?;
        Ok(portone::billing_view(raw)?)
    }

    async fn charge_billing_key(
        &self,
        charge: BillingCharge<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        let id = segment(charge.order_id, "paymentId", PG)?;
        self.send(
            Method::POST,
            "/payments/{paymentId}/billing-key",
            format!("/payments/{id}/billing-key"),
            Some(json!({
                "billingKey": charge.billing_key,
                "orderName": charge.order_name,
                "amount": { "total": pg_amount(charge.amount, "amount.total")? },
                "currency": charge.amount.currency().code(),
            })),
            Some(charge.idempotency_key),
            Call::Charge,
        )
        .await?;
        self.payment_after_write(charge.order_id, "the charge")
            .await
    }

    async fn lookup_certification(&self, uid: &str) -> Result<Value, GatewayError> {
        let id = segment(uid, "identityVerificationId", PG)?;
        self.get(
            "/identity-verifications/{identityVerificationId}",
            format!("/identity-verifications/{id}"),
        )
        .await
    }
}

/// Reads a V2 answer: the 2xx object, or the mapped failure.
fn read_answer(status: u16, body: &[u8], call: Call) -> Result<Value, GatewayError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        return match parsed {
            Some(object @ Value::Object(_)) => Ok(object),
            _ => Err(GatewayError::Malformed(format!(
                "HTTP {status} with a body that is not a JSON object"
            ))),
        };
    }
    let text = |field: &str| {
        parsed
            .as_ref()
            .and_then(|p| p.get(field))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let kind = text("type").unwrap_or_else(|| format!("HTTP_{status}"));
    let message = text("message").unwrap_or_else(|| format!("HTTP {status}"));
    if kind == "PG_PROVIDER" {
        let code = text("pgCode").unwrap_or_else(|| kind.clone());
        let message = text("pgMessage").unwrap_or(message);
        return Err(if call == Call::Charge {
            GatewayError::Declined { code, message }
        } else {
            GatewayError::Rejected {
                status,
                code,
                message,
            }
        });
    }
    if status >= 500 {
        let text = format!("{PG} answered {status}: {kind}: {message}");
        return Err(if call.writes() {
            GatewayError::OutcomeUnknown(text)
        } else {
            GatewayError::Unavailable(text)
        });
    }
    match status {
        401 | 403 => Err(GatewayError::Unauthorized(format!("{kind}: {message}"))),
        404 => Err(GatewayError::NotFound(format!("{kind}: {message}"))),
        _ => Err(GatewayError::Rejected {
            status,
            code: kind,
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_by_status_type_and_call() {
        let body = |kind: &str| {
            format!(r#"{{"type":"{kind}","message":"m","pgCode":"REJECT","pgMessage":"no"}}"#)
        };
        assert!(matches!(
            read_answer(502, body("PG_PROVIDER").as_bytes(), Call::Charge),
            Err(GatewayError::Declined { code, message }) if code == "REJECT" && message == "no"
        ));
        assert!(matches!(
            read_answer(502, body("PG_PROVIDER").as_bytes(), Call::Read),
            Err(GatewayError::Rejected { status: 502, .. })
        ));
        assert!(matches!(
            read_answer(500, b"oops", Call::Charge),
            Err(GatewayError::OutcomeUnknown(_))
        ));
        assert!(matches!(
            read_answer(503, b"", Call::Read),
            Err(GatewayError::Unavailable(_))
        ));
        assert!(matches!(
            read_answer(403, body("FORBIDDEN").as_bytes(), Call::Read),
            Err(GatewayError::Unauthorized(_))
        ));
        assert!(matches!(
            read_answer(404, body("PAYMENT_NOT_FOUND").as_bytes(), Call::Write),
            Err(GatewayError::NotFound(_))
        ));
        assert!(matches!(
            read_answer(409, body("ALREADY_PAID").as_bytes(), Call::Charge),
            Err(GatewayError::Rejected { status: 409, code, .. }) if code == "ALREADY_PAID"
        ));
        assert!(matches!(
            read_answer(200, b"[]", Call::Read),
            Err(GatewayError::Malformed(_))
        ));
        assert!(read_answer(200, b"{}", Call::Read).is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let gateway = PortOneGateway::new(
            DEFAULT_BASE_URL,
            &Secret::new("very-secret".into()),
            "store-1",
            reqwest::Client::new(),
        );
        let printed = format!("{gateway:?}");
        assert!(!printed.contains("very-secret") && printed.contains("store-1"));
    }
}

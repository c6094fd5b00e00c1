//! Shared fixtures: keys (derived once per test binary), a fixed clock, records as the
//! server would send them, and a wiremock responder that opens the request and seals its
//! answer like `payments-server` does.
#![allow(dead_code)] // each test binary uses a different subset

use chrono::TimeZone;
use payments_client::{Connection, PaymentsClient, RetryPolicy};
use payments_core::clock::FixedClock;
use payments_core::envelope::{Binding, CompatKey, Envelope, SealedV2Key, TIMESTAMP_HEADER};
use payments_core::records::{
    Accessor, CancelCreate, Password, PaymentHistoryCreate, ReservationCreate, Source, Vendor,
    VendorCode,
};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

pub const SECRET: &str = "client test secret";
pub const COMPAT_KEY: &str = "payments-compat-key-32-bytes-abc";
pub const COMPAT_IV: &str = "iv-0123456789abc";
pub const HISTORY_ID: &str = "3f1c2a9e-0000-4000-8000-000000000001";

/// The PBKDF2 derivation costs ~100k HMACs: do it once per test binary.
pub fn sealed_key() -> SealedV2Key {
    static KEY: OnceLock<SealedV2Key> = OnceLock::new();
    KEY.get_or_init(|| SealedV2Key::derive(SECRET)).clone()
}

pub fn sealed_envelope() -> Envelope {
    Envelope::SealedV2(sealed_key())
}

pub fn compat_envelope() -> Envelope {
    Envelope::Compat(CompatKey::new(COMPAT_KEY, COMPAT_IV).expect("a valid compat key"))
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 21, 3, 4, 5).unwrap()
        + chrono::Duration::milliseconds(678)
}

pub fn now_ms() -> i64 {
    now().timestamp_millis()
}

/// Retries that wait a millisecond, so retry tests run fast.
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::attempts(attempts).backoff(Duration::from_millis(1), Duration::from_millis(2))
}

pub fn connection(server: &MockServer, envelope: Envelope) -> Connection {
    Connection::new(server.uri())
        .envelope(envelope)
        .clock(Arc::new(FixedClock::new(now())))
        .retry(fast_retry(3))
}

pub fn client(server: &MockServer, envelope: Envelope) -> PaymentsClient {
    PaymentsClient::new(connection(server, envelope)).expect("a valid connection")
}

pub fn vendor() -> Vendor {
    Vendor {
        code: VendorCode::Iamport,
        store_id: "imp12345678".into(),
        uid: "imp_1234567890".into(),
    }
}

pub fn source() -> Source {
    Source {
        schema: "shop".into(),
        table: "orders".into(),
        id: "order-0001".into(),
    }
}

pub fn history_create() -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: vendor(),
        source: source(),
        price: 12000,
        password: "pw-1234".into(),
        webhook_url: None,
    }
}

pub fn accessor() -> Accessor {
    Accessor {
        schema: "shop".into(),
        table: "orders".into(),
        id: "order-0001".into(),
        password: "pw-1234".into(),
    }
}

pub fn password() -> Password {
    Password {
        password: "pw-1234".into(),
    }
}

pub fn cancel_create() -> CancelCreate {
    CancelCreate {
        source: source(),
        password: "pw-1234".into(),
        price: 3000,
        reason: "고객 요청에 의한 환불".into(),
        account: None,
    }
}

pub fn reservation_create() -> ReservationCreate {
    ReservationCreate {
        vendor: vendor(),
        source: source(),
        title: "내 카드".into(),
        password: "pw-1234".into(),
    }
}

/// A history as the server answers it.
pub fn history_json() -> Value {
    json!({
        "id": HISTORY_ID,
        "vendor_code": "iamport",
        "vendor": {"code": "iamport", "store_id": "imp12345678", "uid": "imp_1234567890"},
        "source": {"schema": "shop", "table": "orders", "id": "order-0001"},
        "data": {"imp_uid": "imp_1234567890", "merchant_uid": "order-0001", "amount": 12000, "status": "paid"},
        "currency": "KRW",
        "price": 12000,
        "refund": null,
        "webhook_url": "https://shop.example/hooks/payments",
        "created_at": "2026-11-21T03:04:05.678Z",
        "paid_at": "2026-11-21T03:04:00.000Z",
        "cancelled_at": null,
        "cancels": []
    })
}

/// A reservation as the server answers it.
pub fn reservation_json() -> Value {
    json!({
        "id": HISTORY_ID,
        "vendor_code": "iamport",
        "vendor": {"code": "iamport", "store_id": "imp12345678", "uid": "customer-1"},
        "source": {"schema": "shop", "table": "members", "id": "member-1"},
        "title": "내 카드",
        "data": {"customer_uid": "customer-1", "card_name": "국민카드"},
        "created_at": "2026-11-21T03:04:05.678Z"
    })
}

/// Answers like the server: checks the request's envelope (answering `418` with the
/// reason when it is wrong, which fails the test), then seals `body` bound to the
/// request's method and path and the answer's own timestamp.
pub struct Sealed {
    pub envelope: Envelope,
    pub status: u16,
    pub body: Value,
    /// The answer's `X-Payments-Timestamp`; `None` leaves the header out.
    pub timestamp_ms: Option<i64>,
    /// Bind the answer to this path instead of the request's (to test tag checks).
    pub bind_path: Option<String>,
}

impl Sealed {
    pub fn new(envelope: Envelope, status: u16, body: Value) -> Self {
        Self {
            envelope,
            status,
            body,
            timestamp_ms: Some(now_ms()),
            bind_path: None,
        }
    }
}

impl Respond for Sealed {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Err(reason) = open_request(&self.envelope, request) {
            return ResponseTemplate::new(418).set_body_string(reason);
        }
        let method = request.method.as_str();
        let path = self
            .bind_path
            .clone()
            .unwrap_or_else(|| request.url.path().to_owned());
        let timestamp_ms = self.timestamp_ms.unwrap_or(now_ms());
        let plaintext = serde_json::to_vec(&self.body).unwrap();
        let body = self.envelope.seal(
            &plaintext,
            &Binding {
                method,
                path: &path,
                timestamp_ms,
                idempotency_key: None,
            },
        );
        let mut template = ResponseTemplate::new(self.status)
            .set_body_raw(body, self.envelope.kind().content_type());
        if let Some(ts) = self.timestamp_ms {
            template = template.insert_header(TIMESTAMP_HEADER, ts.to_string().as_str());
        }
        template
    }
}

/// Opens a request's body the way the server would; `Ok(None)` for a request without
/// a body. Checks content type and (sealed-v2) timestamp header.
pub fn open_request(envelope: &Envelope, request: &Request) -> Result<Option<Value>, String> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not text>").to_owned())
    };
    let timestamp_ms = match envelope {
        Envelope::SealedV2(_) => {
            let ts = header(TIMESTAMP_HEADER).ok_or("no X-Payments-Timestamp")?;
            ts.parse::<i64>()
                .map_err(|_| format!("bad timestamp {ts:?}"))?
        }
        Envelope::Compat(_) => 0,
    };
    if request.body.is_empty() {
        if header("content-type").is_some() {
            return Err("a content type without a body".into());
        }
        return Ok(None);
    }
    let content_type = header("content-type").ok_or("no content type")?;
    if content_type != envelope.kind().content_type() {
        return Err(format!("content type {content_type:?}"));
    }
    let text = std::str::from_utf8(&request.body).map_err(|_| "body is not text")?;
    let idempotency_key = header("idempotency-key");
    let plaintext = envelope
        .open(
            text,
            &Binding {
                method: request.method.as_str(),
                path: request.url.path(),
                timestamp_ms,
                idempotency_key: idempotency_key.as_deref(),
            },
        )
        .map_err(|e| format!("body does not open: {e}"))?;
    serde_json::from_slice(&plaintext)
        .map(Some)
        .map_err(|e| format!("body is not JSON: {e}"))
}

/// A plain `ErrorBody` answer.
pub fn error_answer(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"status": status, "code": code, "message": message}))
}

/// A transaction record as the server answers it, built with the core types so the
/// fixture follows their serde shape.
pub fn transaction_record_json() -> Value {
    use payments_core::money::{Currency, Money};
    use payments_core::order::OrderId;
    use payments_core::records::charges::{TransactionKind, TransactionRecord};
    use payments_core::transaction::Transaction;
    let total = Money::new(12000, Currency::Krw).unwrap();
    let transaction = Transaction::pending(
        HISTORY_ID.parse().unwrap(),
        OrderId::new("order-0001"),
        total,
        now(),
    )
    .unwrap();
    serde_json::to_value(TransactionRecord {
        transaction,
        kind: TransactionKind::Charge,
        status_message: "승인 대기".into(),
        history_id: None,
        order: None,
    })
    .unwrap()
}

/// `Charge.Create` for two of one product, paid with a saved card by id.
pub fn charge_create() -> payments_core::records::charges::ChargeCreate {
    use payments_core::money::{Currency, Money};
    use payments_core::order::{Product, ProductId};
    use payments_core::payment_method::{PaymentMethod, ReservationRef};
    use payments_core::records::charges::{ChargeCreate, OrderInput, OrderLineInput};
    ChargeCreate {
        source: source(),
        order: OrderInput {
            id: "order-0001".into(),
            lines: vec![OrderLineInput {
                product: Product {
                    id: ProductId::new("americano"),
                    name: "아메리카노".into(),
                    price: Money::new(6000, Currency::Krw).unwrap(),
                    enabled: true,
                },
                quantity: 2,
            }],
        },
        method: PaymentMethod::SavedCard {
            reservation: ReservationRef::Id(HISTORY_ID.parse().unwrap()),
            password: "card-pw".into(),
        },
        password: "pw-1234".into(),
        webhook_url: None,
    }
}

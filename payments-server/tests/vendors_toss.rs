//! The Toss Payments adapter against `wiremock`: the exact requests it sends (method,
//! path, `Authorization`, `Idempotency-Key`, JSON body) and how every class of answer maps
//! to a `GatewayError`. Bodies follow the spec's `ITossCardPayment` / `ITossBilling`.

use payments_core::money::{Currency, Money};
use payments_core::records::{RefundAccount, VendorCode};
use payments_core::secret::Secret;
use payments_core::vendor::{
    BillingCharge, CancelPayment, GatewayError, PaymentGateway, PaymentStatus,
};
use payments_server::vendors::toss::TossGateway;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Won, as the gateway port carries amounts.
fn krw(amount: i64) -> Money {
    Money::new(amount, Currency::Krw).unwrap()
}
const SECRET_KEY: &str = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R";
/// `Basic base64("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R:")`, computed independently.
const BASIC: &str = "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg==";

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("client")
}

fn gateway(server: &MockServer) -> TossGateway {
    TossGateway::new(
        &server.uri(),
        Secret::from(SECRET_KEY),
        client(Duration::from_secs(5)),
    )
}

/// A card payment as the spec's `ITossCardPayment` describes it.
fn card_payment(status: &str, total: i64, cancels: Value) -> Value {
    let cancelled: i64 = cancels
        .as_array()
        .map(|list| list.iter().filter_map(|c| c["cancelAmount"].as_i64()).sum())
        .unwrap_or(0);
    json!({
        "mId": "tosspayments", "version": "2022-11-16", "paymentKey": "pk_1",
        "orderId": "order-1", "transactionKey": "tx_1", "orderName": "Coffee",
        "currency": "KRW", "method": "카드", "type": "NORMAL", "status": status,
        "totalAmount": total, "balanceAmount": total - cancelled, "suppliedAmount": 9091,
        "taxFreeAmount": 0, "vat": 909, "useEscrow": false, "cultureExpense": false,
        "requestedAt": "2026-11-21T12:00:00+09:00", "approvedAt": "2026-11-21T12:00:05+09:00",
        "card": {"company": "현대", "number": "433012******1234", "installmentPlanMonths": 0,
                 "isInterestFree": false, "approveNo": "00000000", "useCardPoint": false,
                 "cardType": "신용", "ownerType": "개인", "acquireStatus": "READY",
                 "receiptUrl": "https://example.invalid/r"},
        "discount": null, "easyPay": null, "cancels": cancels, "cashReceipt": null
    })
}

fn toss_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "code": code, "message": message }))
}

fn charge<'a>() -> BillingCharge<'a> {
    BillingCharge {
        billing_key: "bk_secret_1",
        customer_key: "cust-1",
        order_id: "order-9",
        order_name: "Monthly plan",
        amount: krw(9900),
        idempotency_key: "idem-charge-1",
    }
}

fn cancel<'a>(amount: Option<i64>, idempotency_key: Option<&'a str>) -> CancelPayment<'a> {
    CancelPayment {
        uid: "pk_1",
        amount: amount.map(krw),
        reason: "customer asked",
        refund_account: None,
        idempotency_key,
        balance: None,
    }
}

#[tokio::test]
async fn lookup_sends_basic_auth_and_maps_the_payment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/pk_1"))
        .and(header("Authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(card_payment(
            "DONE",
            10000,
            json!(null),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let payment = gateway(&server).lookup_payment("pk_1").await.unwrap();
    assert_eq!(payment.vendor, VendorCode::TossPayments);
    assert_eq!(payment.uid, "pk_1");
    assert_eq!(payment.order_id, "order-1");
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(payment.amount, krw(10000));
    assert_eq!(payment.raw["card"]["company"], "현대");
}

#[tokio::test]
async fn lookup_by_order_uses_the_orders_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/orders/order-1"))
        .and(header("Authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(card_payment(
            "IN_PROGRESS",
            10000,
            json!(null),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let payment = gateway(&server)
        .lookup_payment_by_order("order-1")
        .await
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::AwaitingConfirmation);
}

#[tokio::test]
async fn identifiers_are_one_encoded_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/orders/a%2F..%2Fb%20c"))
        .respond_with(ResponseTemplate::new(200).set_body_json(card_payment(
            "DONE",
            10000,
            json!(null),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let toss = gateway(&server);
    toss.lookup_payment_by_order("a/../b c").await.unwrap();
    // A dot segment would climb the path: refused without a call.
    assert!(matches!(
        toss.lookup_payment("..").await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        toss.lookup_payment("").await,
        Err(GatewayError::NotFound(_))
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn confirm_posts_payment_key_order_and_amount() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/confirm"))
        .and(header("Authorization", BASIC))
        .and(body_json(
            json!({"paymentKey": "pk_1", "orderId": "order-1", "amount": 10000}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(card_payment(
            "DONE",
            10000,
            json!(null),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let payment = gateway(&server)
        .confirm_payment("pk_1", "order-1", krw(10000))
        .await
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Paid);
}

#[tokio::test]
async fn partial_cancel_sends_amount_refund_account_and_idempotency_key() {
    let server = MockServer::start().await;
    let after = card_payment(
        "PARTIAL_CANCELED",
        10000,
        json!([{"cancelAmount": 3000, "cancelReason": "customer asked", "taxFreeAmount": 0,
                "taxAmount": 0, "refundableAmount": 7000, "canceledAt": "2026-11-21T12:10:00+09:00"}]),
    );
    Mock::given(method("POST"))
        .and(path("/v1/payments/pk_1/cancel"))
        .and(header("Authorization", BASIC))
        .and(header("Idempotency-Key", "idem-cancel-1"))
        .and(body_json(json!({
            "paymentKey": "pk_1",
            "cancelReason": "customer asked",
            "cancelAmount": 3000,
            "refundReceiveAccount": {"bank": "신한", "accountNumber": "11012345678901", "holderName": "홍길동"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(after))
        .expect(1)
        .mount(&server)
        .await;

    let account = RefundAccount {
        bank: "신한".into(),
        account: Secret::from("110-123-45678901"),
        holder: "홍길동".into(),
        mobile: None,
    };
    let mut request = cancel(Some(3000), Some("idem-cancel-1"));
    request.refund_account = Some(&account);
    let payment = gateway(&server).cancel_payment(request).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::PartiallyCancelled);
    assert_eq!(payment.cancelled_amount, krw(3000));
    assert_eq!(payment.balance(), krw(7000));
}

#[tokio::test]
async fn full_cancel_omits_the_amount_and_the_idempotency_key() {
    let server = MockServer::start().await;
    let after = card_payment(
        "CANCELED",
        10000,
        json!([{"cancelAmount": 10000, "cancelReason": "customer asked", "taxFreeAmount": 0,
                "taxAmount": 0, "refundableAmount": 0, "canceledAt": "2026-11-21T12:10:00+09:00"}]),
    );
    Mock::given(method("POST"))
        .and(path("/v1/payments/pk_1/cancel"))
        .and(body_json(
            json!({"paymentKey": "pk_1", "cancelReason": "customer asked"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(after))
        .expect(1)
        .mount(&server)
        .await;

    let payment = gateway(&server)
        .cancel_payment(cancel(None, None))
        .await
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Cancelled);
    assert!(payment.cancelled_at.is_some());
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("Idempotency-Key").is_none());
}

#[tokio::test]
async fn billing_lookup_posts_the_customer_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing/authorizations/bk_secret_1"))
        .and(header("Authorization", BASIC))
        .and(body_json(json!({"customerKey": "cust-1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "mId": "tosspayments", "billingKey": "bk_secret_1", "method": "카드",
            "cardCompany": "현대", "cardNumber": "433012******1234",
            "authenticatedAt": "2026-11-21T12:00:00+09:00", "customerKey": "cust-1"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let key = gateway(&server)
        .lookup_billing_key("bk_secret_1", "cust-1")
        .await
        .unwrap();
    assert_eq!(key.uid, "bk_secret_1");
    assert_eq!(key.customer_key.as_deref(), Some("cust-1"));
    assert_eq!(key.card_number.as_deref(), Some("433012******1234"));
}

#[tokio::test]
async fn charge_posts_the_billing_body_with_the_idempotency_key() {
    let server = MockServer::start().await;
    let mut paid = card_payment("DONE", 9900, json!(null));
    paid["orderId"] = json!("order-9");
    paid["type"] = json!("BILLING");
    Mock::given(method("POST"))
        .and(path("/v1/billing/bk_secret_1"))
        .and(header("Authorization", BASIC))
        .and(header("Idempotency-Key", "idem-charge-1"))
        .and(body_json(json!({
            "method": "billing", "billingKey": "bk_secret_1", "customerKey": "cust-1",
            "amount": 9900, "orderId": "order-9", "orderName": "Monthly plan"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(paid))
        .expect(1)
        .mount(&server)
        .await;

    let payment = gateway(&server).charge_billing_key(charge()).await.unwrap();
    assert_eq!(payment.order_id, "order-9");
    assert_eq!(payment.amount, krw(9900));
    assert_eq!(payment.status, PaymentStatus::Paid);
}

#[tokio::test]
async fn a_charge_in_another_currency_is_refused_without_a_call() {
    let server = MockServer::start().await;
    let mut usd = charge();
    usd.amount = Money::new(9900, Currency::Usd).unwrap();
    let error = gateway(&server).charge_billing_key(usd).await.unwrap_err();
    assert!(
        matches!(error, GatewayError::Rejected { status: 400, ref code, .. } if code == "INVALID_CURRENCY")
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_idempotency_key_that_cannot_be_a_header_is_refused_without_a_call() {
    let server = MockServer::start().await;
    let mut bad = charge();
    bad.idempotency_key = "key\r\nX-Injected: 1";
    assert!(matches!(
        gateway(&server).charge_billing_key(bad).await,
        Err(GatewayError::Rejected { status: 400, ref code, .. }) if code == "INVALID_IDEMPOTENCY_KEY"
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn not_found_maps_from_404_and_not_found_codes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/pk_missing"))
        .respond_with(toss_error(
            404,
            "NOT_FOUND_PAYMENT",
            "존재하지 않는 결제 정보 입니다.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/billing/authorizations/bk_gone"))
        .respond_with(toss_error(
            400,
            "NOT_FOUND_BILLING",
            "billing key not found",
        ))
        .mount(&server)
        .await;
    let toss = gateway(&server);

    match toss.lookup_payment("pk_missing").await {
        Err(GatewayError::NotFound(message)) => assert!(message.contains("NOT_FOUND_PAYMENT")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        toss.lookup_billing_key("bk_gone", "cust-1").await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_refused_key_is_unauthorized_and_never_echoed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/pk_1"))
        .respond_with(toss_error(
            401,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        ))
        .mount(&server)
        .await;
    let toss = gateway(&server);

    let error = toss.lookup_payment("pk_1").await.unwrap_err();
    assert!(matches!(error, GatewayError::Unauthorized(ref m) if m.contains("UNAUTHORIZED_KEY")));
    assert!(!error.to_string().contains(SECRET_KEY));
    let debug = format!("{toss:?}");
    assert!(
        !debug.contains(SECRET_KEY) && !debug.contains("dGVzdF9z"),
        "{debug}"
    );
}

#[tokio::test]
async fn card_refusals_on_a_charge_are_declined() {
    for (status, code) in [
        (403, "REJECT_CARD_PAYMENT"),
        (403, "REJECT_CARD_COMPANY"),
        (400, "INVALID_CARD_EXPIRATION"),
        (400, "INVALID_STOPPED_CARD"),
        (403, "EXCEED_MAX_DAILY_PAYMENT_COUNT"),
        (400, "NOT_ENOUGH_BALANCE"),
        (403, "NOT_AVAILABLE_PAYMENT"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/billing/bk_secret_1"))
            .respond_with(toss_error(status, code, "결제 승인이 거절되었습니다."))
            .expect(1)
            .mount(&server)
            .await;
        match gateway(&server).charge_billing_key(charge()).await {
            Err(GatewayError::Declined { code: got, message }) => {
                assert_eq!(got, code);
                assert_eq!(message, "결제 승인이 거절되었습니다.");
            }
            other => panic!("{status} {code}: expected Declined, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn other_4xx_are_rejected_with_status_code_and_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing/bk_secret_1"))
        .respond_with(toss_error(
            400,
            "INVALID_REQUEST",
            "orderId: must be 6-64 characters",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/pk_1/cancel"))
        .respond_with(toss_error(
            403,
            "NOT_CANCELABLE_AMOUNT",
            "취소 할 수 없는 금액 입니다.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/confirm"))
        .respond_with(toss_error(
            400,
            "ALREADY_PROCESSED_PAYMENT",
            "이미 처리된 결제 입니다.",
        ))
        .mount(&server)
        .await;
    let toss = gateway(&server);

    assert_eq!(
        toss.charge_billing_key(charge()).await.unwrap_err(),
        GatewayError::Rejected {
            status: 400,
            code: "INVALID_REQUEST".into(),
            message: "orderId: must be 6-64 characters".into(),
        }
    );
    // A 403 refusal outside a charge is the PG refusing the request, not a card.
    assert_eq!(
        toss.cancel_payment(cancel(Some(99999), None))
            .await
            .unwrap_err(),
        GatewayError::Rejected {
            status: 403,
            code: "NOT_CANCELABLE_AMOUNT".into(),
            message: "취소 할 수 없는 금액 입니다.".into(),
        }
    );
    assert!(matches!(
        toss.confirm_payment("pk_1", "order-1", krw(10000)).await,
        Err(GatewayError::Rejected { status: 400, ref code, .. }) if code == "ALREADY_PROCESSED_PAYMENT"
    ));
}

#[tokio::test]
async fn a_charge_still_processing_under_its_key_is_outcome_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing/bk_secret_1"))
        .respond_with(toss_error(
            409,
            "IDEMPOTENT_REQUEST_PROCESSING",
            "이전 요청이 처리 중입니다.",
        ))
        .mount(&server)
        .await;
    assert!(matches!(
        gateway(&server).charge_billing_key(charge()).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
}

#[tokio::test]
async fn a_5xx_is_unavailable_on_reads_and_outcome_unknown_on_writes() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(toss_error(
            500,
            "FAILED_INTERNAL_SYSTEM_PROCESSING",
            "내부 시스템 처리 작업이 실패했습니다.",
        ))
        .mount(&server)
        .await;
    let toss = gateway(&server);

    assert!(matches!(
        toss.lookup_payment("pk_1").await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        toss.lookup_payment_by_order("order-1").await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        toss.lookup_billing_key("bk_1", "cust-1").await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        toss.confirm_payment("pk_1", "order-1", krw(10000)).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
    assert!(matches!(
        toss.cancel_payment(cancel(None, None)).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
    assert!(matches!(
        toss.charge_billing_key(charge()).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
    // A 5xx without Toss's body is classified the same way.
    let bare = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&bare)
        .await;
    assert!(matches!(
        gateway(&bare).charge_billing_key(charge()).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
    assert!(matches!(
        gateway(&bare).lookup_payment("pk_1").await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_timeout_is_outcome_unknown_on_writes_and_unavailable_on_reads() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(card_payment("DONE", 9900, json!(null)))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let toss = TossGateway::new(
        &server.uri(),
        Secret::from(SECRET_KEY),
        client(Duration::from_millis(150)),
    );

    match toss.charge_billing_key(charge()).await {
        Err(GatewayError::OutcomeUnknown(message)) => {
            assert!(message.contains("timed out"), "{message}");
            assert!(
                !message.contains("bk_secret_1"),
                "the billing key leaked: {message}"
            );
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(matches!(
        toss.confirm_payment("pk_1", "order-1", krw(9900)).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
    assert!(matches!(
        toss.lookup_payment("pk_1").await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_even_for_a_charge() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let toss = TossGateway::new(
        &uri,
        Secret::from(SECRET_KEY),
        client(Duration::from_secs(2)),
    );

    assert!(matches!(
        toss.charge_billing_key(charge()).await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        toss.lookup_payment("pk_1").await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn unreadable_bodies_are_malformed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/pk_garbage"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>hello</html>"))
        .mount(&server)
        .await;
    let mut wrong = card_payment("DONE", 10000, json!(null));
    wrong["totalAmount"] = json!("10000");
    Mock::given(method("GET"))
        .and(path("/v1/payments/pk_wrong"))
        .respond_with(ResponseTemplate::new(200).set_body_json(wrong))
        .mount(&server)
        .await;
    let toss = gateway(&server);

    assert!(matches!(
        toss.lookup_payment("pk_garbage").await,
        Err(GatewayError::Malformed(_))
    ));
    match toss.lookup_payment("pk_wrong").await {
        Err(GatewayError::Malformed(message)) => {
            assert!(message.contains("totalAmount"), "{message}")
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

/// Against the `fake-toss` crate: a widget card payment made over HTTP, then confirmed,
/// looked up and partly cancelled through the adapter.
#[tokio::test]
async fn against_fake_toss_a_card_payment_is_confirmed_looked_up_and_partly_cancelled() {
    let fake = fake_toss::FakeToss::start().await;
    let created: Value = reqwest::Client::new()
        .post(format!("{}/v1/payments/key-in", fake.uri()))
        .header("Authorization", fake.authorization())
        .json(&json!({
            "method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "30",
            "cardExpirationMonth": "12", "amount": 10000, "orderId": "order-fake-1",
            "orderName": "Coffee", "__approved": false
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["paymentKey"].as_str().unwrap();
    let toss = TossGateway::new(
        &fake.uri(),
        Secret::from(fake.secret_key()),
        client(Duration::from_secs(5)),
    );

    assert_eq!(
        toss.lookup_payment(key).await.unwrap().status,
        PaymentStatus::AwaitingConfirmation
    );
    // The fake refuses a confirmation for another amount, as Toss does.
    assert!(matches!(
        toss.confirm_payment(key, "order-fake-1", krw(9999)).await,
        Err(GatewayError::Rejected { status: 400, .. })
    ));
    let confirmed = toss
        .confirm_payment(key, "order-fake-1", krw(10000))
        .await
        .unwrap();
    assert_eq!(confirmed.status, PaymentStatus::Paid);
    assert_eq!(confirmed.amount, krw(10000));

    let by_order = toss.lookup_payment_by_order("order-fake-1").await.unwrap();
    assert_eq!(by_order.uid, key);
    let cancelled = toss
        .cancel_payment(CancelPayment {
            uid: key,
            amount: Some(krw(3000)),
            reason: "one item returned",
            refund_account: None,
            idempotency_key: Some("idem-fake-cancel-1"),
            balance: None,
        })
        .await
        .unwrap();
    assert_eq!(cancelled.status, PaymentStatus::PartiallyCancelled);
    assert_eq!(cancelled.balance(), krw(7000));
    assert_eq!(cancelled.cancels[0].reason, "one item returned");
    assert_eq!(fake.payment(key).unwrap()["balanceAmount"], 7000);
    // An unknown payment is NotFound; more than the balance is the PG's refusal.
    let unknown = toss.cancel_payment(cancel(None, None)).await;
    assert!(
        matches!(unknown, Err(GatewayError::NotFound(_))),
        "{unknown:?}"
    );
    let over = toss
        .cancel_payment(CancelPayment {
            uid: key,
            amount: Some(krw(8000)),
            ..cancel(None, None)
        })
        .await;
    assert!(
        matches!(over, Err(GatewayError::Rejected { .. })),
        "{over:?}"
    );
    assert!(matches!(
        toss.lookup_payment("pk_unknown").await,
        Err(GatewayError::NotFound(_))
    ));
}

/// Against the `fake-toss` crate: a billing key issued over HTTP, then read and charged
/// through the adapter, and a refused card declined.
#[tokio::test]
async fn against_fake_toss_a_billing_key_is_read_and_charged() {
    let fake = fake_toss::FakeToss::start().await;
    let http = reqwest::Client::new();
    let toss = TossGateway::new(
        &fake.uri(),
        Secret::from(fake.secret_key()),
        client(Duration::from_secs(5)),
    );
    let mut billing_keys = Vec::new();
    for (customer, card) in [
        ("cust-fake-1", "4330123412341234"),
        ("cust-fake-2", "4330123499990000"),
    ] {
        let auth_key = fake.issue_auth_key(customer, card).unwrap();
        let billing: Value = http
            .post(format!("{}/v1/billing/authorizations/issue", fake.uri()))
            .header("Authorization", fake.authorization())
            .json(&json!({ "authKey": auth_key, "customerKey": customer }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        billing_keys.push(billing["billingKey"].as_str().unwrap().to_owned());
    }

    let key = toss
        .lookup_billing_key(&billing_keys[0], "cust-fake-1")
        .await
        .unwrap();
    assert_eq!(key.customer_key.as_deref(), Some("cust-fake-1"));
    let payment = toss
        .charge_billing_key(BillingCharge {
            billing_key: &billing_keys[0],
            customer_key: "cust-fake-1",
            order_id: "order-fake-bill-1",
            order_name: "Monthly plan",
            amount: krw(9900),
            idempotency_key: "idem-fake-charge-1",
        })
        .await
        .unwrap();
    assert_eq!(
        (payment.status, payment.amount),
        (PaymentStatus::Paid, krw(9900))
    );

    // The second card is refused from now on, as an issuer would after a limit is hit.
    fake.decline_card(
        "4330123499990000",
        403,
        "REJECT_CARD_PAYMENT",
        "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    );
    let declined = toss
        .charge_billing_key(BillingCharge {
            billing_key: &billing_keys[1],
            customer_key: "cust-fake-2",
            order_id: "order-fake-bill-2",
            order_name: "Monthly plan",
            amount: krw(9900),
            idempotency_key: "idem-fake-charge-2",
        })
        .await;
    assert!(
        matches!(declined, Err(GatewayError::Declined { ref code, .. }) if code == "REJECT_CARD_PAYMENT"),
        "{declined:?}"
    );
}

/// Collects what the adapter logs, to check what reaches a log line.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn logs_name_method_route_and_status_but_no_secret() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("payments_server=debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing/bk_secret_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(card_payment(
            "DONE",
            9900,
            json!(null),
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/pk_1/cancel"))
        .respond_with(toss_error(
            400,
            "INVALID_REFUND_ACCOUNT_INFO",
            "환불 계좌번호와 예금주명이 일치하지 않습니다.",
        ))
        .mount(&server)
        .await;
    let toss = gateway(&server);
    toss.charge_billing_key(charge()).await.unwrap();
    let account = RefundAccount {
        bank: "신한".into(),
        account: Secret::from("110-123-45678901"),
        holder: "홍길동".into(),
        mobile: None,
    };
    let mut request = cancel(None, None);
    request.refund_account = Some(&account);
    let error = toss.cancel_payment(request).await.unwrap_err();
    assert!(!error.to_string().contains("45678901"));

    let text = logs.text();
    assert!(text.contains("method=POST"), "{text}");
    assert!(
        text.contains("path=\"/v1/billing/{billingKey}\"")
            || text.contains("path=/v1/billing/{billingKey}"),
        "{text}"
    );
    assert!(
        text.contains("status=200") && text.contains("status=400"),
        "{text}"
    );
    assert!(text.contains("elapsed_ms="), "{text}");
    for secret in [SECRET_KEY, "dGVzdF9za196", "bk_secret_1", "45678901"] {
        assert!(!text.contains(secret), "{secret} reached the logs: {text}");
    }
}

//! The PortOne v1 adapter against `wiremock`: the exact requests it sends, its access
//! token cache (reuse, refresh near expiry on an injected clock, retry after a 401, one
//! refresh for concurrent callers), and how every class of answer maps to a
//! `GatewayError`. Bodies follow the spec's `IIamport*` schemas inside the real envelope.

use payments_core::clock::FixedClock;
use payments_core::money::{Currency, Money};
use payments_core::records::{RefundAccount, VendorCode};
use payments_core::secret::Secret;
use payments_core::vendor::{
    BillingCharge, CancelPayment, GatewayError, PaymentGateway, PaymentStatus,
};
use payments_server::vendors::iamport::IamportGateway;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Won, as the gateway port carries amounts.
fn krw(amount: i64) -> Money {
    Money::new(amount, Currency::Krw).unwrap()
}
const IMP_KEY: &str = "imp_key_1234567890";
const IMP_SECRET: &str = "imp_secret_QWERTYUIOPASDFGHJKL";
/// The server's clock in the token answers (Unix seconds).
const SERVER_NOW: i64 = 1_795_000_000;

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("client")
}

fn gateway_with(uri: &str, timeout: Duration) -> IamportGateway {
    IamportGateway::new(
        uri,
        IMP_KEY.into(),
        Secret::from(IMP_SECRET),
        client(timeout),
    )
}

fn gateway(server: &MockServer) -> IamportGateway {
    gateway_with(&server.uri(), Duration::from_secs(5))
}

fn ok(response: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "code": 0, "message": null, "response": response }))
}

fn failure(status: u16, code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "code": code, "message": message, "response": null }))
}

fn token_answer(token: &str, lifetime: i64) -> ResponseTemplate {
    ok(json!({ "access_token": token, "now": SERVER_NOW, "expired_at": SERVER_NOW + lifetime }))
}

/// Mounts `POST /users/getToken` for the test key pair answering `token` (30 minutes).
async fn mount_token(server: &MockServer, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .and(body_json(
            json!({ "imp_key": IMP_KEY, "imp_secret": IMP_SECRET }),
        ))
        .respond_with(token_answer(token, 1800))
        .expect(times)
        .mount(server)
        .await;
}

/// A card payment as the spec's `IIamportCardPayment` describes it.
fn card_payment(status: &str, amount: i64, cancel_amount: i64, history: Value) -> Value {
    json!({
        "imp_uid": "imp_1", "merchant_uid": "order-1", "pay_method": "card",
        "name": "Coffee", "amount": amount, "cancel_amount": cancel_amount, "currency": "KRW",
        "receipt_url": "https://example.invalid/r", "cash_receipt_issue": false,
        "channel": "api", "pg_provider": "nice", "emb_pg_provider": null, "pg_id": "pg",
        "pg_tid": "tid", "escrow": false, "buyer_name": null, "buyer_email": null,
        "buyer_tel": null, "buyer_addr": null, "buyer_postcode": null, "customer_uid": null,
        "customer_uid_usage": null, "custom_data": null, "user_agent": null,
        "status": status, "started_at": SERVER_NOW, "paid_at": if status == "failed" { 0 } else { SERVER_NOW + 10 },
        "failed_at": if status == "failed" { SERVER_NOW + 10 } else { 0 },
        "cancelled_at": if status == "cancelled" { SERVER_NOW + 100 } else { 0 },
        "fail_reason": null, "cancel_reason": null, "cancel_history": history,
        "card_code": "361", "card_name": "BC카드", "card_number": "4330-12**-****-1234",
        "card_quota": 0, "apply_num": "12345678"
    })
}

fn paid() -> Value {
    card_payment("paid", 10000, 0, json!([]))
}

fn charge<'a>() -> BillingCharge<'a> {
    BillingCharge {
        billing_key: "cust_uid_secret_1",
        customer_key: "ignored",
        order_id: "order-9",
        order_name: "Monthly plan",
        amount: krw(9900),
        idempotency_key: "idem-charge-1",
    }
}

fn charged(status: &str, fail_reason: Option<&str>) -> Value {
    let mut payment = card_payment(status, 9900, 0, json!([]));
    payment["merchant_uid"] = json!("order-9");
    payment["customer_uid"] = json!("cust_uid_secret_1");
    payment["fail_reason"] = json!(fail_reason);
    payment
}

fn cancel<'a>(amount: Option<i64>) -> CancelPayment<'a> {
    CancelPayment {
        uid: "imp_1",
        amount: amount.map(krw),
        reason: "customer asked",
        refund_account: None,
        idempotency_key: None,
        balance: None,
    }
}

#[tokio::test]
async fn lookups_send_the_token_and_map_the_payment() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(paid()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/find/order-1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(paid()))
        .expect(1)
        .mount(&server)
        .await;
    let imp = gateway(&server);

    let payment = imp.lookup_payment("imp_1").await.unwrap();
    assert_eq!(payment.vendor, VendorCode::Iamport);
    assert_eq!(payment.uid, "imp_1");
    assert_eq!(payment.order_id, "order-1");
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(
        imp.lookup_payment_by_order("order-1").await.unwrap().uid,
        "imp_1"
    );
}

#[tokio::test]
async fn the_token_is_fetched_once_for_several_calls() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(paid()))
        .expect(4)
        .mount(&server)
        .await;
    let imp = gateway(&server);
    for _ in 0..4 {
        imp.lookup_payment("imp_1").await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_callers_share_one_token_refresh() {
    let server = MockServer::start().await;
    // A slow getToken: every caller arrives while the first refresh is in flight.
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(token_answer("tok_1", 1800).set_delay(Duration::from_millis(300)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(paid()))
        .expect(8)
        .mount(&server)
        .await;
    let imp = Arc::new(gateway(&server));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let imp = Arc::clone(&imp);
            tokio::spawn(async move { imp.lookup_payment("imp_1").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn the_token_is_refreshed_60_seconds_before_it_expires() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(token_answer("tok_1", 1800))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(token_answer("tok_2", 1800))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(paid()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_2"))
        .respond_with(ok(paid()))
        .expect(1)
        .mount(&server)
        .await;
    // The local clock is years away from the server's: only the server's lifetime counts.
    let clock = Arc::new(FixedClock::new("2031-01-01T00:00:00Z".parse().unwrap()));
    let imp = gateway(&server).with_clock(clock.clone());

    imp.lookup_payment("imp_1").await.unwrap();
    clock.advance(chrono::Duration::seconds(1800 - 60 - 1));
    imp.lookup_payment("imp_1").await.unwrap(); // still tok_1
    clock.advance(chrono::Duration::seconds(1));
    imp.lookup_payment("imp_1").await.unwrap(); // within the last minute: tok_2
}

#[tokio::test]
async fn a_token_shorter_than_the_margin_is_not_reused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(token_answer("tok_short", 30))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_short"))
        .respond_with(ok(paid()))
        .expect(2)
        .mount(&server)
        .await;
    let clock = Arc::new(FixedClock::new("2026-11-21T00:00:00Z".parse().unwrap()));
    let imp = gateway(&server).with_clock(clock);
    imp.lookup_payment("imp_1").await.unwrap();
    imp.lookup_payment("imp_1").await.unwrap();
}

#[tokio::test]
async fn a_401_on_a_cached_token_refreshes_it_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(token_answer("tok_1", 1800))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(token_answer("tok_2", 1800))
        .with_priority(2)
        .mount(&server)
        .await;
    // tok_1 works once, then the PG revokes it.
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(paid()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(failure(401, -1, "Unauthorized"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_2"))
        .respond_with(ok(paid()))
        .mount(&server)
        .await;
    let imp = gateway(&server);

    imp.lookup_payment("imp_1").await.unwrap();
    imp.lookup_payment("imp_1").await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let seen: Vec<(String, String)> = requests
        .iter()
        .map(|r| {
            let auth = r
                .headers
                .get("Authorization")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.url.path().to_owned(), auth.unwrap_or_default())
        })
        .collect();
    let expected = [
        ("/users/getToken", ""),
        ("/payments/imp_1", "tok_1"),
        ("/payments/imp_1", "tok_1"),
        ("/users/getToken", ""),
        ("/payments/imp_1", "tok_2"),
    ];
    assert_eq!(
        seen,
        expected.map(|(p, a)| (p.to_owned(), a.to_owned())).to_vec()
    );
}

#[tokio::test]
async fn a_401_on_a_fresh_token_is_unauthorized_without_a_loop() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .respond_with(failure(401, -1, "Unauthorized"))
        .expect(1)
        .mount(&server)
        .await;
    let error = gateway(&server).lookup_payment("imp_1").await.unwrap_err();
    assert!(matches!(error, GatewayError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn a_refused_key_pair_is_unauthorized_and_never_echoed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(failure(
            401,
            -1,
            "imp_key, imp_secret 파라메터가 누락되었거나 올바르지 않습니다.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let imp = gateway(&server);
    let error = imp.lookup_payment("imp_1").await.unwrap_err();
    assert!(matches!(error, GatewayError::Unauthorized(_)), "{error:?}");
    assert!(!error.to_string().contains(IMP_SECRET));
    let debug = format!("{imp:?}");
    assert!(
        !debug.contains(IMP_SECRET) && !debug.contains(IMP_KEY),
        "{debug}"
    );
}

#[tokio::test]
async fn cancel_looks_up_the_balance_and_sends_it_as_checksum() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    let history = json!([{"pg_id": "pg", "pg_tid": "tid", "amount": 2000,
        "cancelled_at": SERVER_NOW + 50, "reason": "first", "receipt_url": "https://example.invalid/c"}]);
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(card_payment("paid", 10000, 2000, history)))
        .expect(1)
        .mount(&server)
        .await;
    let after = card_payment(
        "paid",
        10000,
        5000,
        json!([
            {"pg_id": "pg", "pg_tid": "tid", "amount": 2000, "cancelled_at": SERVER_NOW + 50,
             "reason": "first", "receipt_url": "https://example.invalid/c"},
            {"pg_id": "pg", "pg_tid": "tid", "amount": 3000, "cancelled_at": SERVER_NOW + 60,
             "reason": "customer asked", "receipt_url": "https://example.invalid/c"}
        ]),
    );
    Mock::given(method("POST"))
        .and(path("/payments/cancel"))
        .and(header("Authorization", "tok_1"))
        .and(header("Idempotency-Key", "idem-cancel-1"))
        .and(body_json(json!({
            "imp_uid": "imp_1", "merchant_uid": "order-1", "amount": 3000,
            "reason": "customer asked", "checksum": 8000
        })))
        .respond_with(ok(after))
        .expect(1)
        .mount(&server)
        .await;

    let mut request = cancel(Some(3000));
    request.idempotency_key = Some("idem-cancel-1");
    let payment = gateway(&server).cancel_payment(request).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::PartiallyCancelled);
    assert_eq!(payment.cancelled_amount, krw(5000));
    assert_eq!(payment.cancels.len(), 2);
}

#[tokio::test]
async fn a_full_cancel_with_a_refund_account_sends_the_refund_fields() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    let mut vbank = paid();
    vbank["pay_method"] = json!("vbank");
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .respond_with(ok(vbank.clone()))
        .mount(&server)
        .await;
    let mut after = vbank;
    after["status"] = json!("cancelled");
    after["cancel_amount"] = json!(10000);
    after["cancelled_at"] = json!(SERVER_NOW + 100);
    Mock::given(method("POST"))
        .and(path("/payments/cancel"))
        .and(body_json(json!({
            "imp_uid": "imp_1", "merchant_uid": "order-1", "reason": "customer asked",
            "checksum": 10000, "refund_holder": "홍길동", "refund_bank": "88",
            "refund_account": "110123456789", "refund_tel": "01012345678"
        })))
        .respond_with(ok(after))
        .expect(1)
        .mount(&server)
        .await;

    let account = RefundAccount {
        bank: "88".into(),
        account: Secret::from("110123456789"),
        holder: "홍길동".into(),
        mobile: Some("01012345678".into()),
    };
    let mut request = cancel(None);
    request.refund_account = Some(&account);
    let payment = gateway(&server).cancel_payment(request).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Cancelled);
    let requests = server.received_requests().await.unwrap();
    let cancel_request = requests
        .iter()
        .find(|r| r.url.path() == "/payments/cancel")
        .unwrap();
    assert!(cancel_request.headers.get("Idempotency-Key").is_none());
}

#[tokio::test]
async fn cancel_refusals_are_rejected_and_unknown_payments_not_found() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .respond_with(ok(paid()))
        .mount(&server)
        .await;
    // The real API refuses an over-cancel with HTTP 200 and code -1.
    Mock::given(method("POST"))
        .and(path("/payments/cancel"))
        .respond_with(failure(
            200,
            -1,
            "취소 요청금액(20000원)이 취소 가능 잔액(10000원)보다 큽니다.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_missing"))
        .respond_with(failure(404, -1, "존재하지 않는 결제정보입니다."))
        .mount(&server)
        .await;
    let imp = gateway(&server);

    match imp.cancel_payment(cancel(Some(20000))).await {
        Err(GatewayError::Rejected {
            status,
            code,
            message,
        }) => {
            assert_eq!((status, code.as_str()), (200, "-1"));
            assert!(message.contains("취소 가능 잔액"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let mut missing = cancel(None);
    missing.uid = "imp_missing";
    assert!(matches!(
        imp.cancel_payment(missing).await,
        Err(GatewayError::NotFound(_))
    ));
    // The lookup failed, so no cancel was sent for it.
    let cancels = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/payments/cancel")
        .count();
    assert_eq!(cancels, 1);
}

#[tokio::test]
async fn not_found_comes_from_404_or_the_not_found_message() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/find/order-x"))
        .respond_with(failure(200, -1, "존재하지 않는 결제정보입니다."))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/subscribe/customers/cust_gone"))
        .respond_with(failure(
            404,
            1,
            "요청하신 customer_uid(cust_gone)로 등록된 정보를 찾을 수 없습니다.",
        ))
        .mount(&server)
        .await;
    let imp = gateway(&server);
    assert!(matches!(
        imp.lookup_payment_by_order("order-x").await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        imp.lookup_billing_key("cust_gone", "").await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn confirm_looks_the_payment_up_and_checks_order_and_amount() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(paid()))
        .expect(3)
        .mount(&server)
        .await;
    let imp = gateway(&server);

    let payment = imp
        .confirm_payment("imp_1", "order-1", krw(10000))
        .await
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert!(matches!(
        imp.confirm_payment("imp_1", "order-1", krw(100)).await,
        Err(GatewayError::Rejected { ref code, .. }) if code == "AMOUNT_MISMATCH"
    ));
    assert!(matches!(
        imp.confirm_payment("imp_1", "order-2", krw(10000)).await,
        Err(GatewayError::Rejected { ref code, .. }) if code == "ORDER_MISMATCH"
    ));
    // Only GETs: PortOne has no confirmation call.
    assert!(
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .all(|r| r.method.as_str() != "POST" || r.url.path() == "/users/getToken")
    );
}

#[tokio::test]
async fn billing_lookup_reads_the_customer() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/subscribe/customers/cust_uid_secret_1"))
        .and(header("Authorization", "tok_1"))
        .respond_with(ok(json!({
            "pg_provider": "nice", "pg_id": "pg", "card_name": "BC카드", "card_code": "361",
            "card_number": "4330-12**-****-1234", "card_type": "credit", "customer_name": null,
            "customer_tel": null, "customer_email": null, "customer_addr": null,
            "customer_postcode": null, "inserted": SERVER_NOW, "updated": SERVER_NOW,
            "customer_uid": "cust_uid_secret_1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let key = gateway(&server)
        .lookup_billing_key("cust_uid_secret_1", "ignored")
        .await
        .unwrap();
    assert_eq!(key.vendor, VendorCode::Iamport);
    assert_eq!(key.uid, "cust_uid_secret_1");
    assert_eq!(key.customer_key, None);
    assert_eq!(key.card_number.as_deref(), Some("4330-12**-****-1234"));
}

#[tokio::test]
async fn charge_posts_again_with_the_idempotency_key() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("POST"))
        .and(path("/subscribe/payments/again"))
        .and(header("Authorization", "tok_1"))
        .and(header("Idempotency-Key", "idem-charge-1"))
        .and(body_json(json!({
            "customer_uid": "cust_uid_secret_1", "merchant_uid": "order-9", "amount": 9900,
            "name": "Monthly plan", "currency": "KRW"
        })))
        .respond_with(ok(charged("paid", None)))
        .expect(1)
        .mount(&server)
        .await;
    let payment = gateway(&server).charge_billing_key(charge()).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(payment.order_id, "order-9");
    assert_eq!(payment.amount, krw(9900));
}

#[tokio::test]
async fn a_failed_charge_is_declined_with_its_reason() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("POST"))
        .and(path("/subscribe/payments/again"))
        .respond_with(ok(charged("failed", Some("[8326] 한도초과"))))
        .mount(&server)
        .await;
    assert_eq!(
        gateway(&server)
            .charge_billing_key(charge())
            .await
            .unwrap_err(),
        GatewayError::Declined {
            code: "failed".into(),
            message: "[8326] 한도초과".into()
        }
    );
}

#[tokio::test]
async fn a_non_zero_code_on_again_is_declined_but_a_used_order_is_rejected() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("POST"))
        .and(path("/subscribe/payments/again"))
        .and(body_json(json!({
            "customer_uid": "cust_uid_secret_1", "merchant_uid": "order-9", "amount": 9900,
            "name": "Monthly plan", "currency": "KRW"
        })))
        .respond_with(failure(
            200,
            1,
            "카드사 요청에 실패하였습니다. (F113) 거래정지카드",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/subscribe/payments/again"))
        .and(body_json(json!({
            "customer_uid": "cust_uid_secret_1", "merchant_uid": "order-10", "amount": 9900,
            "name": "Monthly plan", "currency": "KRW"
        })))
        .respond_with(failure(200, -1, "이미 결제가 진행된 merchant_uid입니다."))
        .mount(&server)
        .await;
    let imp = gateway(&server);

    assert_eq!(
        imp.charge_billing_key(charge()).await.unwrap_err(),
        GatewayError::Declined {
            code: "1".into(),
            message: "카드사 요청에 실패하였습니다. (F113) 거래정지카드".into()
        }
    );
    let mut again = charge();
    again.order_id = "order-10";
    assert!(matches!(
        imp.charge_billing_key(again).await,
        Err(GatewayError::Rejected { status: 200, ref code, .. }) if code == "-1"
    ));
}

#[tokio::test]
async fn a_5xx_is_unavailable_on_reads_and_outcome_unknown_on_writes() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .respond_with(ok(paid()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path_regex("^/(payments|subscribe)/"))
        .respond_with(failure(500, -1, "Internal Server Error"))
        .with_priority(2)
        .mount(&server)
        .await;
    let imp = gateway(&server);

    // The lookup before the cancel succeeds; the cancel itself meets the 500.
    assert!(matches!(
        imp.cancel_payment(cancel(Some(1000))).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
    assert!(matches!(
        imp.lookup_payment("imp_1").await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        imp.lookup_billing_key("cust_1", "").await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        imp.charge_billing_key(charge()).await,
        Err(GatewayError::OutcomeUnknown(_))
    ));
    // A confirmation is a lookup at PortOne: nothing can have happened.
    assert!(matches!(
        imp.confirm_payment("imp_1", "order-1", krw(10000)).await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_timeout_is_outcome_unknown_on_a_charge_and_unavailable_on_a_lookup() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(wiremock::matchers::path_regex("^/(payments|subscribe)/"))
        .respond_with(ok(charged("paid", None)).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let imp = gateway_with(&server.uri(), Duration::from_millis(150));

    match imp.charge_billing_key(charge()).await {
        Err(GatewayError::OutcomeUnknown(message)) => {
            assert!(message.contains("timed out"), "{message}");
            assert!(
                !message.contains("tok_1") && !message.contains("cust_uid_secret_1"),
                "{message}"
            );
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(matches!(
        imp.lookup_payment("imp_1").await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let imp = gateway_with(&uri, Duration::from_secs(2));
    assert!(matches!(
        imp.charge_billing_key(charge()).await,
        Err(GatewayError::Unavailable(_))
    ));
    assert!(matches!(
        imp.lookup_payment("imp_1").await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn unreadable_answers_are_malformed() {
    let server = MockServer::start().await;
    mount_token(&server, "tok_1", 1).await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_garbage"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_null"))
        .respond_with(ok(Value::Null))
        .mount(&server)
        .await;
    let mut wrong = paid();
    wrong["status"] = json!("refunded");
    Mock::given(method("GET"))
        .and(path("/payments/imp_wrong"))
        .respond_with(ok(wrong))
        .mount(&server)
        .await;
    let imp = gateway(&server);
    assert!(matches!(
        imp.lookup_payment("imp_garbage").await,
        Err(GatewayError::Malformed(_))
    ));
    assert!(matches!(
        imp.lookup_payment("imp_null").await,
        Err(GatewayError::Malformed(_))
    ));
    match imp.lookup_payment("imp_wrong").await {
        Err(GatewayError::Malformed(message)) => assert!(message.contains("status"), "{message}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_token_answer_is_malformed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/getToken"))
        .respond_with(ok(json!({ "access_token": "tok_1", "now": "soon" })))
        .mount(&server)
        .await;
    assert!(matches!(
        gateway(&server).lookup_payment("imp_1").await,
        Err(GatewayError::Malformed(_))
    ));
}

/// Against the `fake-iamport` crate: a card payment made over HTTP, then looked up,
/// "confirmed" and partly cancelled through the adapter.
#[tokio::test]
async fn against_fake_iamport_a_card_payment_is_looked_up_and_partly_cancelled() {
    let fake = fake_iamport::FakeIamport::start().await;
    let paid: Value = reqwest::Client::new()
        .post(format!("{}/subscribe/payments/onetime", fake.uri()))
        .header("Authorization", fake.access_token())
        .json(&json!({
            "card_number": "4330-1234-1234-1234", "expiry": "2030-12", "birth": "900101",
            "merchant_uid": "order-fake-1", "amount": 10000, "name": "Coffee"
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["code"], 0, "{paid}");
    let imp_uid = paid["response"]["imp_uid"].as_str().unwrap();
    let (key, secret) = fake.credentials();
    let imp = IamportGateway::new(
        &fake.uri(),
        key,
        Secret::new(secret),
        client(Duration::from_secs(5)),
    );

    let payment = imp.lookup_payment(imp_uid).await.unwrap();
    assert_eq!(
        (payment.status, payment.amount),
        (PaymentStatus::Paid, krw(10000))
    );
    assert_eq!(
        imp.lookup_payment_by_order("order-fake-1")
            .await
            .unwrap()
            .uid,
        imp_uid
    );
    assert_eq!(
        imp.confirm_payment(imp_uid, "order-fake-1", krw(10000))
            .await
            .unwrap()
            .uid,
        imp_uid
    );

    let after = imp
        .cancel_payment(CancelPayment {
            uid: imp_uid,
            amount: Some(krw(3000)),
            reason: "one item returned",
            refund_account: None,
            idempotency_key: Some("idem-fake-cancel-1"),
            balance: None,
        })
        .await
        .unwrap();
    assert_eq!(after.status, PaymentStatus::PartiallyCancelled);
    assert_eq!(after.balance(), krw(7000));
    assert_eq!(after.cancels[0].reason, "one item returned");
    assert_eq!(fake.payment(imp_uid).unwrap()["cancel_amount"], 3000);
    // More than the balance is the PG's refusal (HTTP 200, code -1).
    let over = imp
        .cancel_payment(CancelPayment {
            uid: imp_uid,
            amount: Some(krw(8000)),
            ..cancel(None)
        })
        .await;
    assert!(
        matches!(over, Err(GatewayError::Rejected { .. })),
        "{over:?}"
    );
    assert!(matches!(
        imp.lookup_payment("imp_unknown").await,
        Err(GatewayError::NotFound(_))
    ));
}

/// Against the `fake-iamport` crate: a card saved over HTTP, then read and charged
/// (`again`) through the adapter; a refused card is declined and a reused order refused.
#[tokio::test]
async fn against_fake_iamport_a_saved_card_is_read_and_charged() {
    let fake = fake_iamport::FakeIamport::start().await;
    let saved: Value = reqwest::Client::new()
        .post(format!("{}/subscribe/customers/cust_fake_1", fake.uri()))
        .header("Authorization", fake.access_token())
        .json(&json!({ "card_number": "4330-1234-9999-0000", "expiry": "2030-12", "birth": "900101" }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["code"], 0, "{saved}");
    let (key, secret) = fake.credentials();
    let imp = IamportGateway::new(
        &fake.uri(),
        key,
        Secret::new(secret),
        client(Duration::from_secs(5)),
    );

    assert_eq!(
        imp.lookup_billing_key("cust_fake_1", "").await.unwrap().uid,
        "cust_fake_1"
    );
    let order = BillingCharge {
        billing_key: "cust_fake_1",
        order_id: "order-fake-bill-1",
        ..charge()
    };
    let payment = imp.charge_billing_key(order.clone()).await.unwrap();
    assert_eq!(
        (payment.status, payment.amount),
        (PaymentStatus::Paid, krw(9900))
    );
    // The same order again (a new idempotency key, so no replay): refused, not charged.
    let again = imp
        .charge_billing_key(BillingCharge {
            idempotency_key: "idem-other",
            ..order
        })
        .await;
    assert!(
        matches!(again, Err(GatewayError::Rejected { .. })),
        "{again:?}"
    );

    fake.decline_card("4330-1234-9999-0000", "[8326] 한도초과");
    let declined = imp
        .charge_billing_key(BillingCharge {
            billing_key: "cust_fake_1",
            order_id: "order-fake-bill-2",
            idempotency_key: "idem-fake-2",
            ..charge()
        })
        .await;
    assert!(
        matches!(declined, Err(GatewayError::Declined { ref message, .. }) if message.contains("한도초과")),
        "{declined:?}"
    );
}

/// Collects what the adapter logs, to check what reaches a log line.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

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
    mount_token(&server, "tok_secret_1", 1).await;
    Mock::given(method("POST"))
        .and(path("/subscribe/payments/again"))
        .respond_with(ok(charged("paid", None)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/imp_1"))
        .respond_with(ok(paid()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/payments/cancel"))
        .respond_with(failure(200, -1, "환불계좌 정보가 올바르지 않습니다."))
        .mount(&server)
        .await;
    let imp = gateway(&server);
    imp.charge_billing_key(charge()).await.unwrap();
    let account = RefundAccount {
        bank: "88".into(),
        account: Secret::from("110123456789"),
        holder: "홍길동".into(),
        mobile: None,
    };
    let mut request = cancel(None);
    request.refund_account = Some(&account);
    let error = imp.cancel_payment(request).await.unwrap_err();
    assert!(!error.to_string().contains("110123456789"));

    let text = logs.text();
    assert!(
        text.contains("method=POST") && text.contains("method=GET"),
        "{text}"
    );
    assert!(
        text.contains("/subscribe/payments/again") && text.contains("/users/getToken"),
        "{text}"
    );
    assert!(text.contains("status=200"), "{text}");
    assert!(text.contains("elapsed_ms="), "{text}");
    for secret in [
        IMP_KEY,
        IMP_SECRET,
        "tok_secret_1",
        "cust_uid_secret_1",
        "110123456789",
    ] {
        assert!(!text.contains(secret), "{secret} reached the logs: {text}");
    }
}

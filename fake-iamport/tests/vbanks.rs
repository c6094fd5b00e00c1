//! Virtual accounts: issue, edit, deposit (library and HTTP), webhooks, cancel with and
//! without refund account, partial/over/full, withdrawal.

mod common;

use std::time::Duration;

use common::Api;
use fake_iamport::{FakeIamport, WebhookOutcome};
use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

fn refund() -> serde_json::Value {
    json!({"refund_holder": "홍길동", "refund_bank": "088", "refund_account": "110-123-456789"})
}

#[tokio::test]
async fn issue_deposit_webhook_and_cancel_with_refund_account() {
    let hooks = receiver().await;
    let api = Api::with(
        FakeIamport::builder()
            .now(common::at(common::T0))
            .freeze_clock(true)
            .webhook_url(format!("{}/hook", hooks.uri())),
    )
    .await;
    let v = api.vbank("vb-1", 30_000).await;
    let v = v.ok().clone();
    assert_eq!(v["status"], json!("ready"));
    assert_eq!(v["pay_method"], json!("vbank"));
    assert_eq!(v["vbank_name"], json!("KB국민은행"));
    assert_eq!(v["vbank_date"], json!(common::T0 + 86_400));
    assert_eq!(v["vbank_issued_at"], json!(common::T0));
    assert_eq!(v["paid_at"], json!(0));
    let imp_uid = v["imp_uid"].as_str().expect("id").to_owned();

    // Ready → webhook "ready".
    let log = api
        .fake
        .wait_for_webhooks(1, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[0].json()["status"], "ready");
    assert_eq!(log[0].outcome, WebhookOutcome::Delivered { status: 200 });

    // A ready account is not cancellable through payments/cancel.
    api.cancel(json!({"imp_uid": imp_uid})).await.fails(200);

    api.fake.advance(Duration::from_secs(600));
    let paid = api.fake.deposit(&imp_uid).await.expect("deposit");
    assert_eq!(paid["status"], json!("paid"));
    assert_eq!(paid["paid_at"], json!(common::T0 + 600));
    let log = api
        .fake
        .wait_for_webhooks(2, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[1].json()["status"], "paid");
    assert_eq!(log[1].json()["imp_uid"], imp_uid);
    assert_eq!(log[1].json()["merchant_uid"], "vb-1");
    assert_eq!(log[1].content_type, "application/json");
    let sent: serde_json::Value = serde_json::from_str(&log[1].body).expect("json body");
    assert_eq!(
        sent,
        json!({"imp_uid": imp_uid, "merchant_uid": "vb-1", "status": "paid"})
    );
    let received = hooks.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 2);

    // Deposited: a refund account is required.
    let msg = api
        .cancel(json!({"imp_uid": imp_uid, "amount": 1000}))
        .await
        .fails(200);
    assert!(msg.contains("refund_account"), "{msg}");
    let mut partial = refund();
    partial["imp_uid"] = json!(imp_uid);
    partial["amount"] = json!(10_000);
    let p = api.cancel(partial.clone()).await;
    assert_eq!(p.ok()["status"], json!("paid"));
    assert_eq!(p.ok()["cancel_amount"], json!(10_000));
    partial["amount"] = json!(20_001);
    api.cancel(partial.clone()).await.fails(200);
    partial["refund_bank"] = json!("999");
    partial["amount"] = json!(1);
    let msg = api.cancel(partial.clone()).await.fails(400);
    assert!(msg.contains("refund_bank"), "{msg}");
    let mut full = refund();
    full["imp_uid"] = json!(imp_uid);
    let f = api.cancel(full).await;
    assert_eq!(f.ok()["status"], json!("cancelled"));
    let log = api
        .fake
        .wait_for_webhooks(3, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[2].json()["status"], "cancelled");
}

#[tokio::test]
async fn deposit_over_http_and_edit_and_withdraw() {
    let api = Api::start().await;
    let v = api.vbank("vb-2", 5000).await;
    let imp_uid = v.ok()["imp_uid"].as_str().expect("id").to_owned();

    let edited = api
        .call(
            Method::PUT,
            "/vbanks",
            Some(json!({"imp_uid": imp_uid, "amount": 6000, "vbank_due": common::T0 + 7200})),
        )
        .await;
    assert_eq!(edited.ok()["amount"], json!(6000));
    assert_eq!(edited.ok()["vbank_date"], json!(common::T0 + 7200));
    api.call(
        Method::PUT,
        "/vbanks",
        Some(json!({"imp_uid": imp_uid, "vbank_due": common::T0 - 1})),
    )
    .await
    .fails(400);

    let dep = api
        .call(Method::PUT, &format!("/internal/deposit/{imp_uid}"), None)
        .await;
    assert_eq!(dep.ok()["status"], json!("paid"));
    // Paid accounts can be neither edited, withdrawn nor deposited again.
    api.call(
        Method::PUT,
        "/vbanks",
        Some(json!({"imp_uid": imp_uid, "amount": 1})),
    )
    .await
    .fails(200);
    api.call(Method::DELETE, &format!("/vbanks/{imp_uid}"), None)
        .await
        .fails(200);
    assert!(api.fake.deposit(&imp_uid).await.is_err());

    let w = api.vbank("vb-3", 5000).await;
    let w_uid = w.ok()["imp_uid"].as_str().expect("id").to_owned();
    let gone = api
        .call(Method::DELETE, &format!("/vbanks/{w_uid}"), None)
        .await;
    assert_eq!(gone.ok()["status"], json!("cancelled"));
    assert_eq!(gone.ok()["cancelled_at"], json!(common::T0));
    api.call(Method::DELETE, "/vbanks/imp_000000000000", None)
        .await
        .fails(404);
    match api.fake.deposit("imp_000000000000").await {
        Err(fake_iamport::FakeError::Refused { status, .. }) => assert_eq!(status, 404),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn vbank_checks_and_late_deposit() {
    let api = Api::start().await;
    let base = json!({"merchant_uid": "vb-x", "amount": 1000, "vbank_code": "004",
                      "vbank_due": common::T0 + 60, "vbank_holder": "h"});
    for (field, value) in [
        ("vbank_code", json!("000")),
        ("vbank_due", json!(common::T0)),
        ("amount", json!(0)),
        ("vbank_holder", json!(null)),
    ] {
        let mut b = base.clone();
        b[field] = value;
        let msg = api.post("/vbanks", b).await.fails(400);
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let v = api.post("/vbanks", base.clone()).await;
    let imp_uid = v.ok()["imp_uid"].as_str().expect("id").to_owned();
    // The same merchant_uid cannot be issued twice.
    api.post("/vbanks", base).await.fails(200);
    api.fake.advance(Duration::from_secs(61));
    match api.fake.deposit(&imp_uid).await {
        Err(fake_iamport::FakeError::Refused {
            status, message, ..
        }) => {
            assert_eq!(status, 200);
            assert!(message.contains("입금기한"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn notice_url_overrides_and_form_encoding() {
    let hooks = receiver().await;
    let api = Api::with(FakeIamport::builder().webhook_form_encoded(true)).await;
    let v = api
        .post(
            "/vbanks",
            json!({"merchant_uid": "vb-n", "amount": 1000, "vbank_code": "088",
                   "vbank_due": api.fake.now().timestamp() + 600, "vbank_holder": "h",
                   "notice_url": format!("{}/hook", hooks.uri())}),
        )
        .await;
    let imp_uid = v.ok()["imp_uid"].as_str().expect("id").to_owned();
    let log = api
        .fake
        .wait_for_webhooks(1, Duration::from_secs(5), |_| true)
        .await;
    assert_eq!(log[0].content_type, "application/x-www-form-urlencoded");
    assert_eq!(
        log[0].body,
        format!("imp_uid={imp_uid}&merchant_uid=vb-n&status=ready")
    );
    let got = hooks.received_requests().await.expect("recorded");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/x-www-form-urlencoded"[..])
    );
}

#[tokio::test]
async fn banks_by_name_answer_with_the_standard_code_and_name() {
    let api = Api::start().await;
    let due = api.fake.now().timestamp() + 86_400;
    for (given, code, name) in [
        ("SHINHAN", "088", "신한은행"),
        ("kookmin", "004", "KB국민은행"),
        ("국민은행", "004", "KB국민은행"),
        ("081", "081", "하나은행"),
    ] {
        let a = api
            .post(
                "/vbanks",
                json!({"merchant_uid": format!("bank-{code}-{given}"), "amount": 1000,
                       "vbank_code": given, "vbank_due": due, "vbank_holder": "h"}),
            )
            .await;
        let p = a.ok();
        assert_eq!(
            (p["vbank_code"].as_str(), p["vbank_name"].as_str()),
            (Some(code), Some(name)),
            "{given}"
        );
    }
    let msg = api
        .post(
            "/vbanks",
            json!({"merchant_uid": "bank-bad", "amount": 1000, "vbank_code": "ABCDEFGH",
                   "vbank_due": due, "vbank_holder": "h"}),
        )
        .await
        .fails(400);
    assert!(msg.contains("vbank_code"), "{msg}");
}

#[tokio::test]
async fn the_customer_helpers_pay_issue_and_deposit_without_json() {
    let fake = FakeIamport::start().await;
    let paid = fake.pay_by_card("m-help-1", 1_000).unwrap();
    assert_eq!(paid["status"], "paid");
    let again = fake.pay_by_card("m-help-1", 1_000).unwrap_err();
    assert_eq!(again.status(), Some(200), "a business refusal: {again}");
    let vbank = fake.issue_virtual_account("m-help-2", 2_000).unwrap();
    assert_eq!(vbank["status"], "ready");
    let imp_uid = vbank["imp_uid"].as_str().unwrap();
    assert_eq!(fake.deposit(imp_uid).await.unwrap()["status"], "paid");
    assert_eq!(fake.payment(imp_uid).unwrap()["status"], "paid");
}

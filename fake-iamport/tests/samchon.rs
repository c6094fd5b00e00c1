//! `compat(Compat::Samchon)`: each difference from the real API that samchon's fake has
//! (the README's table), checked in both modes.

use std::time::Duration;

use fake_iamport::{Compat, FakeIamport};
use serde_json::{Value, json};

async fn both() -> [FakeIamport; 2] {
    [
        FakeIamport::start().await,
        FakeIamport::builder().compat(Compat::Samchon).start().await,
    ]
}

/// `METHOD path` with a token, without the spec check the other tests make (samchon's
/// answers are meant to differ from it).
async fn call(fake: &FakeIamport, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", fake.uri()),
        )
        .header("Authorization", fake.access_token());
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn refusals_answer_422_instead_of_200_with_code_minus_1() {
    let [real, samchon] = both().await;
    for (fake, status) in [(&real, 200), (&samchon, 422)] {
        let paid = fake.pay_by_card("m-s-1", 1_000).unwrap();
        let (s, b) = call(
            fake,
            "POST",
            "/payments/cancel",
            Some(json!({"imp_uid": paid["imp_uid"], "amount": 5_000})),
        )
        .await;
        assert_eq!((s, b["code"].as_i64()), (status, Some(-1)), "{b}");
    }
}

#[tokio::test]
async fn a_partial_cancel_marks_the_payment_cancelled_and_sends_a_webhook() {
    let [real, samchon] = both().await;
    for (fake, status, hooks) in [(&real, "paid", 1), (&samchon, "cancelled", 2)] {
        let paid = fake.pay_by_card("m-s-2", 1_000).unwrap();
        let (s, b) = call(
            fake,
            "POST",
            "/payments/cancel",
            Some(json!({"imp_uid": paid["imp_uid"], "amount": 400})),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["response"]["status"], status);
        assert_eq!(b["response"]["cancel_amount"], 400);
        assert_eq!(b["response"]["cancelled_at"] != 0, status == "cancelled");
        let log = fake
            .wait_for_webhooks(hooks, Duration::from_secs(2), |_| true)
            .await;
        assert_eq!(log.len(), hooks, "{log:#?}");
    }
}

#[tokio::test]
async fn virtual_accounts_take_fractional_due_times_and_any_bank_code() {
    let [real, samchon] = both().await;
    let due = samchon.now().timestamp() as f64 + 86_400.5;
    for (fake, status) in [(&real, 400), (&samchon, 200)] {
        for (m, code, due) in [
            ("m-s-3", json!("004"), json!(due)),
            ("m-s-4", json!("ABCDEFGH"), json!(due.trunc())),
        ] {
            let (s, b) = call(
                fake,
                "POST",
                "/vbanks",
                Some(
                    json!({"merchant_uid": m, "amount": 1_000, "vbank_code": code,
                            "vbank_due": due, "vbank_holder": "h"}),
                ),
            )
            .await;
            assert_eq!(s, status, "{m}: {b}");
        }
    }
}

#[tokio::test]
async fn cash_receipts_take_masked_identifiers_and_card_payments() {
    let [real, samchon] = both().await;
    for (fake, status) in [(&real, [400, 200]), (&samchon, [200, 200])] {
        let vbank = fake.issue_virtual_account("m-s-5", 1_000).unwrap();
        let uid = vbank["imp_uid"].as_str().unwrap().to_owned();
        fake.deposit(&uid).await.unwrap();
        let (s, b) = call(
            fake,
            "POST",
            &format!("/receipts/{uid}"),
            Some(json!({"identifier": "8803111******", "identifier_type": "person"})),
        )
        .await;
        assert_eq!(s, status[0], "{b}");
        let card = fake.pay_by_card("m-s-6", 1_000).unwrap();
        let (s, b) = call(
            fake,
            "POST",
            &format!("/receipts/{}", card["imp_uid"].as_str().unwrap()),
            Some(json!({"identifier": "01012345678"})),
        )
        .await;
        let code = b["code"].as_i64();
        if fake.config().compat_mode() == Compat::Samchon {
            assert_eq!((s, code), (200, Some(0)), "{b}");
        } else {
            assert_eq!((s, code), (status[1], Some(-1)), "{b}");
        }
    }
}

#[tokio::test]
async fn the_otp_is_readable_over_http_and_as_otp_in_samchon_mode() {
    let [real, samchon] = both().await;
    for fake in [&real, &samchon] {
        let (s, b) = call(
            fake,
            "POST",
            "/certifications/otp/request",
            Some(
                json!({"name": "홍길동", "phone": "01012345678", "birth": "19900101",
                        "gender_digit": "1", "carrier": "SKT"}),
            ),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let uid = b["response"]["imp_uid"].as_str().unwrap().to_owned();
        let otp = fake.otp(&uid).unwrap();
        let (s, o) = call(
            fake,
            "GET",
            &format!("/internal/certifications/{uid}/otp"),
            None,
        )
        .await;
        assert_eq!(
            (s, o["response"]["otp"].as_str()),
            (200, Some(otp.as_str()))
        );
        let (_, c) = call(fake, "GET", &format!("/certifications/{uid}"), None).await;
        let samchon_mode = fake.config().compat_mode() == Compat::Samchon;
        assert_eq!(
            c["response"]["__otp"].as_str() == Some(otp.as_str()),
            samchon_mode,
            "{c}"
        );
    }
}

//! Bad input never crashes the server or yields a 5xx: every endpoint answers a clear
//! envelope error for hostile bodies.

mod common;

use common::Api;
use reqwest::Method;
use serde_json::{Value, json};

fn hostile_bodies() -> Vec<Value> {
    vec![
        json!({}),
        json!([1, 2, 3]),
        json!("string"),
        json!(42),
        json!({"amount": 1e300, "merchant_uid": "x", "name": "n", "card_number": "4111-1111-1111-1111",
               "expiry": "2030-12", "birth": "900101"}),
        json!({"amount": -1, "merchant_uid": {"nested": true}}),
        json!({"amount": "NaN", "imp_uid": ["a"], "otp": 123456}),
        json!({"card_number": "٤١١١-١١١١-١١١١-١١١١", "expiry": "２０３０-１２", "birth": "9001０1"}),
        json!({"vbank_due": 1e20, "vbank_code": "004", "merchant_uid": "m", "amount": 1, "vbank_holder": "h"}),
        json!({"identifier": "0".repeat(10_000), "birth": "99999999", "phone": "0".repeat(50)}),
        json!({"imp_key": null, "imp_secret": true}),
    ]
}

#[tokio::test]
async fn hostile_bodies_get_client_errors_never_5xx() {
    let api = Api::start().await;
    let routes: &[(Method, &str)] = &[
        (Method::POST, "/users/getToken"),
        (Method::POST, "/subscribe/payments/onetime"),
        (Method::POST, "/subscribe/payments/again"),
        (Method::POST, "/subscribe/customers/c%2F1"),
        (Method::POST, "/payments/cancel"),
        (Method::POST, "/vbanks"),
        (Method::PUT, "/vbanks"),
        (Method::POST, "/receipts/imp_000000000000"),
        (Method::POST, "/certifications/otp/request"),
        (Method::POST, "/certifications/otp/confirm/imp_000000000000"),
    ];
    for (method, path) in routes {
        for body in hostile_bodies() {
            let a = api.call(method.clone(), path, Some(body.clone())).await;
            assert!(
                a.status.is_success() || a.status.is_client_error(),
                "{method} {path} {body}: {} {}",
                a.status,
                a.body
            );
        }
    }
    // Raw garbage, wrong content types and odd paths.
    for raw in [&b"\xff\xfe\x00"[..], b"a=1&&=&%zz", b"{\"a\":", b"   "] {
        for ctype in [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
        ] {
            let r = api
                .http
                .post(format!("{}/payments/cancel", api.fake.uri()))
                .header("Authorization", &api.token)
                .header("Content-Type", ctype)
                .body(raw.to_vec())
                .send()
                .await
                .expect("sent");
            let status = r.status();
            let body: Value = r.json().await.expect("envelope");
            assert!(
                status.is_client_error() || status.is_success(),
                "{status} {body}"
            );
            assert_ne!(body["code"], json!(0));
        }
    }
    for path in [
        "/payments/%",
        "/payments/%ff%fe",
        "/payments/find/%00",
        "//payments//x",
    ] {
        let a = api.call(Method::GET, path, None).await;
        assert!(a.status.is_client_error(), "{path}: {}", a.status);
    }
    // Still serving.
    api.onetime("after-garbage", 1000, common::GOOD_CARD)
        .await
        .ok();
}

#[tokio::test]
async fn oversized_body_is_413() {
    let api = Api::start().await;
    let r = api
        .http
        .post(format!("{}/payments/cancel", api.fake.uri()))
        .header("Authorization", &api.token)
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 413);
}

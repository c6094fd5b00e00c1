//! What the SDK adds to a call: `histories().at` (seal the request, send, check and open
//! the sealed answer, decode) against the same call made by hand with plain JSON over
//! `reqwest`, both against a local wiremock server answering a canned body. The
//! difference is the SDK's own cost per call (envelopes, headers, retry bookkeeping).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use payments_client::{Connection, PaymentsClient};
use payments_core::clock::FixedClock;
use payments_core::envelope::{
    Binding, CompatKey, Envelope, SEALED_V2_CONTENT_TYPE, SealedV2Key, TIMESTAMP_HEADER,
};
use payments_core::records::{Password, PaymentHistory};
use serde_json::json;
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "3f1c2a9e-0000-4000-8000-000000000001";

fn history() -> serde_json::Value {
    json!({
        "id": ID, "vendor_code": "iamport",
        "vendor": {"code": "iamport", "store_id": "imp12345678", "uid": "imp_1234567890"},
        "source": {"schema": "shop", "table": "orders", "id": "order-0001"},
        "data": {"imp_uid": "imp_1234567890", "merchant_uid": "order-0001", "amount": 12000, "status": "paid",
                 "pay_method": "card", "card_name": "국민카드", "buyer_name": "홍길동", "receipt_url": "https://example.invalid/r/1"},
        "currency": "KRW", "price": 12000, "refund": null,
        "webhook_url": "https://shop.example/hooks/payments",
        "created_at": "2026-11-21T03:04:05.678Z", "paid_at": "2026-11-21T03:04:00.000Z",
        "cancelled_at": null, "cancels": []
    })
}

fn calls(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let now = chrono::Utc::now();
    let now_ms = now.timestamp_millis();
    let sealed = SealedV2Key::derive("bench secret");
    let compat = CompatKey::new("payments-compat-key-32-bytes-abc", "iv-0123456789abc").unwrap();
    let body = serde_json::to_vec(&history()).unwrap();
    let at_path = format!("/payments/histories/{ID}");

    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        let sealed_body = sealed.seal(
            &body,
            &Binding {
                method: "PATCH",
                path: &format!("/v2{at_path}"),
                timestamp_ms: now_ms,
                idempotency_key: None,
            },
        );
        Mock::given(method("PATCH"))
            .and(path(format!("/v2{at_path}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(sealed_body, SEALED_V2_CONTENT_TYPE)
                    .insert_header(TIMESTAMP_HEADER, now_ms.to_string().as_str()),
            )
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("/compat{at_path}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(compat.encrypt(&body), "text/plain"),
            )
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("/plain{at_path}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json"))
            .mount(&server)
            .await;
        server
    });

    let clock = Arc::new(FixedClock::new(now));
    let sdk_v2 = PaymentsClient::new(
        Connection::new(format!("{}/v2", server.uri()))
            .envelope(Envelope::SealedV2(sealed.clone()))
            .clock(clock.clone()),
    )
    .unwrap();
    let sdk_compat = PaymentsClient::new(
        Connection::new(format!("{}/compat", server.uri()))
            .envelope(Envelope::Compat(compat.clone()))
            .clock(clock),
    )
    .unwrap();
    let raw = reqwest::Client::new();
    let raw_url = format!("{}/plain{at_path}", server.uri());
    let id = ID.parse().unwrap();
    let password = Password {
        password: "pw-1234".into(),
    };

    let mut group = c.benchmark_group("histories.at round trip");
    group.bench_function("sdk sealed-v2", |b| {
        b.iter(|| {
            runtime
                .block_on(sdk_v2.histories().at(id, &password))
                .unwrap()
        })
    });
    group.bench_function("sdk compat", |b| {
        b.iter(|| {
            runtime
                .block_on(sdk_compat.histories().at(id, &password))
                .unwrap()
        })
    });
    group.bench_function("reqwest plain JSON", |b| {
        b.iter(|| {
            runtime
                .block_on(async {
                    raw.patch(&raw_url)
                        .json(&password)
                        .send()
                        .await?
                        .json::<PaymentHistory>()
                        .await
                })
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);

//! fake-toss against wiremock in the same run (the harness's `vs_wiremock`): start →
//! first request against a fresh `MockServer::builder().start()`, and
//! `GET /v1/payments/{paymentKey}` of a key-in card payment against a wiremock mock
//! answering the same JSON.
//!
//! Run: `cargo bench -p fake-toss --bench vs_wiremock`.
#![allow(missing_docs)]

use fake_harness::test_support::vs_wiremock::{self, Lookup, Subject};
use fake_toss::FakeToss;
use serde_json::{Value, json};

/// The fake, local to the bench so the harness's trait can be implemented for it.
struct Toss(FakeToss);

impl Subject for Toss {
    const NAME: &'static str = "fake-toss";

    fn start() -> Self {
        Toss(FakeToss::builder().start_blocking())
    }

    fn uri(&self) -> String {
        self.0.uri()
    }

    async fn prepare_lookup(&self, client: &reqwest::Client) -> Lookup {
        let authorization = self.0.authorization();
        let payment: Value = client
            .post(format!("{}/v1/payments/key-in", self.0.uri()))
            .header("authorization", &authorization)
            .json(&json!({
                "method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "39",
                "cardExpirationMonth": "12", "amount": 15000, "orderId": "bench-order-1",
                "orderName": "bench",
            }))
            .send()
            .await
            .expect("key-in")
            .json()
            .await
            .expect("payment");
        let key = payment["paymentKey"].as_str().expect("paymentKey");
        Lookup {
            path: format!("/v1/payments/{key}"),
            authorization,
        }
    }
}

fn main() {
    vs_wiremock::main::<Toss>();
}

//! fake-portone against wiremock in the same run (the harness's `vs_wiremock`): start →
//! first request against a fresh `MockServer::builder().start()`, and
//! `GET /payments/{paymentId}` of a paid card payment against a wiremock mock answering
//! the same JSON.
//!
//! Run: `cargo bench -p fake-portone --bench vs_wiremock`.
#![allow(missing_docs)]

use fake_harness::test_support::vs_wiremock::{self, Lookup, Subject};
use fake_portone::FakePortOne;
use serde_json::json;

/// The fake, local to the bench so the harness's trait can be implemented for it.
struct PortOne(FakePortOne);

impl Subject for PortOne {
    const NAME: &'static str = "fake-portone";

    fn start() -> Self {
        PortOne(FakePortOne::builder().start_blocking())
    }

    fn uri(&self) -> String {
        self.0.uri()
    }

    async fn prepare_lookup(&self, client: &reqwest::Client) -> Lookup {
        let authorization = self.0.authorization();
        let r = client
            .post(format!("{}/payments/bench-1/instant", self.0.uri()))
            .header("authorization", &authorization)
            .json(&json!({
                "method": {"card": {"credential": {"number": "4330123412341234", "expiryYear": "39", "expiryMonth": "12"}}},
                "orderName": "bench", "amount": {"total": 15_000}, "currency": "KRW",
            }))
            .send()
            .await
            .expect("instant");
        assert_eq!(r.status(), 200);
        Lookup {
            path: "/payments/bench-1".into(),
            authorization,
        }
    }
}

fn main() {
    vs_wiremock::main::<PortOne>();
}

//! fake-iamport against wiremock in the same run (the harness's `vs_wiremock`): start →
//! first request against a fresh `MockServer::builder().start()`, and
//! `GET /payments/{imp_uid}` of a card payment against a wiremock mock answering the
//! same JSON.
//!
//! Run: `cargo bench -p fake-iamport --bench vs_wiremock`.
#![allow(missing_docs)]

use fake_harness::test_support::vs_wiremock::{self, Lookup, Subject};
use fake_iamport::FakeIamport;
use serde_json::{Value, json};

/// The fake, local to the bench so the harness's trait can be implemented for it.
struct Iamport(FakeIamport);

impl Subject for Iamport {
    const NAME: &'static str = "fake-iamport";

    fn start() -> Self {
        Iamport(FakeIamport::builder().start_blocking())
    }

    fn uri(&self) -> String {
        self.0.uri()
    }

    async fn prepare_lookup(&self, client: &reqwest::Client) -> Lookup {
        let token = self.0.access_token();
        let answer: Value = client
            .post(format!("{}/subscribe/payments/onetime", self.0.uri()))
            .header("authorization", &token)
            .json(&json!({
                "card_number": "4330-1234-1234-1234", "expiry": "2039-12", "birth": "900101",
                "pwd_2digit": "12", "name": "bench", "merchant_uid": "bench-1", "amount": 15000,
            }))
            .send()
            .await
            .expect("onetime")
            .json()
            .await
            .expect("payment");
        let imp_uid = answer["response"]["imp_uid"]
            .as_str()
            .unwrap_or_else(|| panic!("no payment: {answer}"));
        Lookup {
            path: format!("/payments/{imp_uid}"),
            authorization: token,
        }
    }
}

fn main() {
    vs_wiremock::main::<Iamport>();
}

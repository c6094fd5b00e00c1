use crate::common::*;
use payments::core::records::charges::CertificationVerify;
use payments::core::records::{Vendor, VendorCode};
use serde_json::json;

impl TestApp {
    /// A PortOne certification, OTP requested and confirmed as the person would.
    pub async fn certify(&self, name: &str, birth: &str, phone: &str) -> String {
        let created = self
            .iamport_request(
                reqwest::Method::POST,
                "/certifications/otp/request",
                Some(json!({
                    "name": name, "phone": phone, "birth": birth,
                    "gender_digit": "1", "carrier": "SKT", "is_mvno": false
                })),
            )
            .await;
        let imp_uid = created["imp_uid"].as_str().unwrap().to_owned();
        let otp = self.iamport.otp(&imp_uid).unwrap();
        self.iamport_request(
            reqwest::Method::POST,
            &format!("/certifications/otp/confirm/{imp_uid}"),
            Some(json!({"otp": otp})),
        )
        .await;
        imp_uid
    }

    fn verify_input(&self, imp_uid: &str) -> CertificationVerify {
        CertificationVerify {
            vendor: Vendor {
                code: VendorCode::Iamport,
                store_id: STORE.into(),
                uid: imp_uid.into(),
            },
        }
    }
}

#[tokio::test]
async fn a_certified_person_is_verified_without_revealing_their_ci() {
    let app = spawn_app().await;
    let first = app.certify("홍길동", "19900101", "01012345678").await;
    let person = app
        .client
        .certifications()
        .verify(&app.verify_input(&first))
        .await
        .unwrap();
    assert_eq!(person.name, "홍길동");
    assert_eq!(person.birth_date, "1990-01-01");
    assert_eq!(person.phone, "01012345678");
    assert_eq!(person.ci_hash.len(), 64);
    let certification = app
        .iamport_request(
            reqwest::Method::GET,
            &format!("/certifications/{first}"),
            None,
        )
        .await;
    let ci = certification["unique_key"].as_str().unwrap();
    assert!(
        !person.ci_hash.contains(ci),
        "the CI itself never leaves the server"
    );

    // The same person certified again hashes the same; someone else does not.
    let again = app.certify("홍길동", "19900101", "01012345678").await;
    let same = app
        .client
        .certifications()
        .verify(&app.verify_input(&again))
        .await
        .unwrap();
    assert_eq!(same.ci_hash, person.ci_hash);
    let other = app.certify("김철수", "19851231", "01099998888").await;
    let different = app
        .client
        .certifications()
        .verify(&app.verify_input(&other))
        .await
        .unwrap();
    assert_ne!(different.ci_hash, person.ci_hash);
}

#[tokio::test]
async fn unknown_and_unfinished_certifications_are_refused() {
    let app = spawn_app().await;
    let unknown = app
        .client
        .certifications()
        .verify(&app.verify_input("imp_does_not_exist"))
        .await
        .unwrap_err();
    assert_eq!(unknown.status().map(|s| s.as_u16()), Some(404));
    let created = app
        .iamport_request(
            reqwest::Method::POST,
            "/certifications/otp/request",
            Some(json!({"name": "홍길동", "phone": "01012345678", "birth": "19900101", "gender_digit": "1", "carrier": "SKT"})),
        )
        .await;
    let pending = app
        .client
        .certifications()
        .verify(&app.verify_input(created["imp_uid"].as_str().unwrap()))
        .await
        .unwrap_err();
    assert_eq!(pending.code_str(), Some("NOT_CERTIFIED"), "{pending}");
}

#[tokio::test]
async fn a_certification_verifies_a_person_once() {
    let app = spawn_app().await;
    let imp_uid = app.certify("홍길동", "19900101", "01012345678").await;
    let certifications = app.client.certifications();
    certifications
        .verify(&app.verify_input(&imp_uid))
        .await
        .unwrap();
    // Whoever learns the imp_uid (a log, a URL) cannot pass as the person with it.
    let again = certifications
        .verify(&app.verify_input(&imp_uid))
        .await
        .unwrap_err();
    assert_eq!(again.status().map(|s| s.as_u16()), Some(409), "{again}");
    assert_eq!(again.code_str(), Some("CERTIFICATION_USED"), "{again}");
}

#[tokio::test]
async fn an_old_certification_is_refused_and_not_used_up() {
    use payments::core::clock::FixedClock;
    let clock = std::sync::Arc::new(FixedClock::new(chrono::Utc::now()));
    let server_clock = clock.clone();
    let app = spawn_app_configured(Wire::SealedV2, move |builder| {
        builder
            .clock(server_clock)
            .certification_max_age(std::time::Duration::from_secs(60))
    })
    .await;
    let imp_uid = app.certify("홍길동", "19900101", "01012345678").await;
    // Two minutes later on the server's clock (sealed requests stay fresh for 5).
    clock.advance(chrono::Duration::seconds(120));
    let old = app
        .client
        .certifications()
        .verify(&app.verify_input(&imp_uid))
        .await
        .unwrap_err();
    assert_eq!(old.status().map(|s| s.as_u16()), Some(422), "{old}");
    assert_eq!(old.code_str(), Some("CERTIFICATION_EXPIRED"), "{old}");
    // A fresh one passes.
    clock.set(chrono::Utc::now());
    let fresh = app.certify("김철수", "19851231", "01099998888").await;
    app.client
        .certifications()
        .verify(&app.verify_input(&fresh))
        .await
        .unwrap();
}

//! PortOne's own fake-only `/internal/` routes (the harness's knobs are merged beside
//! them), so a suite in another language can do what a Rust test does:
//!
//! | route | body | does |
//! |---|---|---|
//! | `GET /internal/certifications/{imp_uid}/otp` | | `{imp_uid, otp}`: the OTP "sent by SMS" ([`crate::FakeIamport::otp`]) |
//! | `PUT /internal/webhooks/format` | `{form_encoded: bool}` | [`crate::FakeIamport::set_webhook_form_encoded`] |
//! | `POST /internal/cards/declined` | `{card_number, message}` | [`crate::FakeIamport::decline_card`] |
//! | `POST /internal/credentials` | `{imp_key, imp_secret}` | [`crate::FakeIamport::add_credentials`] |
//!
//! Like the harness's, these need no token. `PUT /internal/deposit/{imp_uid}` (in the
//! spec, token required) is served with the API routes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::envelope::{ApiError, Reply};
use crate::shared::Shared;

type S = Extension<Arc<Shared>>;

/// The routes of the module table.
pub(crate) fn routes() -> Router {
    Router::new()
        .route("/internal/certifications/{imp_uid}/otp", get(otp))
        .route("/internal/webhooks/format", put(webhook_format))
        .route("/internal/cards/declined", post(decline_card))
        .route("/internal/credentials", post(add_credentials))
}

fn answer(r: Result<serde_json::Value, ApiError>) -> Response {
    crate::envelope::reply_response(Reply::from(r))
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

async fn otp(Extension(s): S, Path(imp_uid): Path<String>) -> Response {
    let found = s
        .lock_state()
        .certifications
        .get(&imp_uid)
        .map(|c| c.otp.clone());
    answer(match found {
        Some(otp) => Ok(json!({ "imp_uid": imp_uid, "otp": otp })),
        None => Err(ApiError::not_found(format!(
            "존재하지 않는 본인인증 건입니다. (no certification {imp_uid})"
        ))),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Format {
    form_encoded: bool,
}

async fn webhook_format(Extension(s): S, body: Bytes) -> Response {
    answer(parse::<Format>(&body).map(|r| {
        s.lock_state().form_encoded = r.form_encoded;
        json!({ "form_encoded": r.form_encoded })
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decline {
    card_number: String,
    message: String,
}

async fn decline_card(Extension(s): S, body: Bytes) -> Response {
    answer(parse::<Decline>(&body).and_then(|r| {
        let digits = crate::fields::digits(&r.card_number);
        if !(13..=19).contains(&digits.len()) {
            return Err(ApiError::bad_request(format!(
                "card_number: must have 13-19 digits, got {}",
                digits.len()
            )));
        }
        s.lock_state()
            .custom_declines
            .insert(digits, r.message.clone());
        Ok(json!({ "card_number": r.card_number, "message": r.message }))
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    imp_key: String,
    imp_secret: String,
}

async fn add_credentials(Extension(s): S, body: Bytes) -> Response {
    answer(parse::<Credentials>(&body).and_then(|r| {
        if r.imp_key.is_empty() || r.imp_secret.is_empty() {
            return Err(ApiError::bad_request(
                "imp_key, imp_secret: must not be empty",
            ));
        }
        s.lock_state()
            .credentials
            .push((r.imp_key.clone(), r.imp_secret));
        Ok(json!({ "imp_key": r.imp_key }))
    }))
}

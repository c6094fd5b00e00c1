//! The fake-only `/internal/` routes (the real API never has them): the customer's side
//! (checkout, deposit, identity verification), declined cards, and the harness's knobs
//! (clock, faults, webhook and request logs). They need no `Authorization`: a test plays
//! the customer and the world, not the merchant.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{answer, body, query};
use crate::checkout::Checkout;
use crate::identity::Person;
use crate::requests::StoreQuery;
use crate::server::App;

pub(super) fn routes() -> Router {
    Router::new()
        .route("/internal/payments/{payment_id}/checkout", post(checkout))
        .route("/internal/payments/{payment_id}/deposit", post(deposit))
        .route("/internal/identity-verifications/{id}/otp", get(otp))
        .route("/internal/identity-verifications/{id}/verify", post(verify))
        .route("/internal/cards/declined", post(decline_card))
        .merge(fake_harness::internal_routes())
}

async fn checkout(
    Extension(app): Extension<App>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    answer(body::<Checkout>(&bytes).and_then(|c| {
        let store = c.store_id.clone();
        app.internal(store.as_deref(), |w, s, now| w.checkout(s, &id, c, now))
    }))
}

async fn deposit(Extension(app): Extension<App>, Path(id): Path<String>, bytes: Bytes) -> Response {
    answer(
        body::<StoreQuery>(&bytes)
            .and_then(|b| app.internal(b.store_id.as_deref(), |w, s, now| w.deposit(s, &id, now))),
    )
}

async fn otp(
    Extension(app): Extension<App>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(query::<StoreQuery>(q.as_deref()).and_then(|q| {
        app.internal(q.store_id.as_deref(), |w, s, _| {
            Ok(json!({ "otp": w.otp(s, &id)? }))
        })
    }))
}

/// `POST /internal/identity-verifications/{id}/verify`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyBody {
    store_id: Option<String>,
    customer: Person,
}

async fn verify(Extension(app): Extension<App>, Path(id): Path<String>, bytes: Bytes) -> Response {
    answer(body::<VerifyBody>(&bytes).and_then(|b| {
        app.internal(b.store_id.as_deref(), |w, s, now| {
            w.verify_identity(s, &id, b.customer, now)
        })
    }))
}

/// `POST /internal/cards/declined`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeclineBody {
    card_number: String,
    pg_code: String,
    pg_message: String,
}

async fn decline_card(Extension(app): Extension<App>, bytes: Bytes) -> Response {
    answer(body::<DeclineBody>(&bytes).and_then(|b| {
        app.internal(None, |w, _, _| {
            w.decline_card(&b.card_number, &b.pg_code, &b.pg_message);
            Ok(Value::Null)
        })
        .map(|_| json!({ "cardNumber": b.card_number }))
    }))
}

//! `POST /payments/certifications`: verify a person with a PG certification.

use super::ApiError;
use super::envelope::Sealed;
use crate::app::App;
use crate::certifications;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use payments_core::records::charges::CertificationVerify;
use std::sync::Arc;

/// The certification route, merged into [`super::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/payments/certifications", post(verify))
}

async fn verify(
    State(app): State<Arc<App>>,
    sealed: Sealed<CertificationVerify>,
) -> Result<Response, ApiError> {
    let identity = certifications::verify(app, sealed.value).await?;
    Ok(sealed.context.reply(StatusCode::OK, &identity))
}

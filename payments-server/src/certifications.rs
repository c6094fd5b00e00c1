//! Identity verification: a PG certification (PortOne V1 `certifications/{imp_uid}`,
//! PortOne V2 `identity-verifications/{id}`) is fetched from the PG and answered as a
//! verified name, birth date and phone with a keyed hash of the person's CI — never the
//! CI itself — so a shop can refuse a second account for the same person without
//! storing who they are. Only a completed certification counts (V1 `certified: true`,
//! V2 `status: "VERIFIED"`; V2 `READY` and `FAILED` are [`CertificationError::NotCertified`]).

use crate::app::App;
use crate::errors::{FieldError, UnknownStore};
use crate::validate;
use chrono::TimeZone;
use hmac::{Hmac, Mac};
use payments_core::records::VendorCode;
use payments_core::records::charges::{CertificationVerify, VerifiedIdentity};
use payments_core::vendor::portone::{IdentityView, identity_view};
use payments_core::vendor::{GatewayError, MappingError};
use sha2::Sha256;
use std::sync::Arc;

/// The HMAC key of CI hashes: the configured one, or one derived from the sealed-v2
/// secret.
fn ci_key(app: &App) -> Vec<u8> {
    let configured = app.config.identity.ci_hash_key.expose();
    if !configured.is_empty() {
        return configured.as_bytes().to_vec();
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app.config.envelopes.sealed_v2_secret.expose().as_bytes())
            .expect("HMAC takes keys of any length");
    mac.update(b"payments/ci-hash");
    mac.finalize().into_bytes().to_vec()
}

/// The keyed hash of a CI, hex.
pub fn ci_hash(app: &App, ci: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&ci_key(app)).expect("HMAC takes keys of any length");
    mac.update(ci.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a person was not verified.
#[derive(Debug, thiserror::Error)]
pub enum CertificationError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The vendor's store is not configured.
    #[error(transparent)]
    UnknownStore(#[from] UnknownStore),
    /// The person did not complete the certification.
    #[error("the person has not completed this certification")]
    NotCertified,
    /// The PG's certification lacks a field every certification has.
    #[error("the PG's certification has no {0}")]
    Incomplete(&'static str),
    /// The PG failed or refused (an unknown certification is [`GatewayError::NotFound`]).
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

fn text<'a>(
    object: &'a serde_json::Value,
    field: &'static str,
) -> Result<&'a str, CertificationError> {
    object
        .get(field)
        .and_then(|v| v.as_str())
        .ok_or(CertificationError::Incomplete(field))
}

/// Verifies a person with a PG certification.
///
/// # Errors
/// [`CertificationError`]: bad input, an unknown store, an unknown certification
/// ([`GatewayError::NotFound`]), one the person did not complete.
pub async fn verify(
    app: Arc<App>,
    input: CertificationVerify,
) -> Result<VerifiedIdentity, CertificationError> {
    validate::text("vendor.uid", &input.vendor.uid)?;
    let gateway = app.gateway(input.vendor.code, &input.vendor.store_id)?;
    let certification = gateway.lookup_certification(&input.vendor.uid).await?;
    if input.vendor.code == VendorCode::PortOne {
        let view = identity_view(&certification)
            .map_err(|e: MappingError| CertificationError::Incomplete(e.field))?;
        return match view {
            IdentityView::Verified(person) => Ok(VerifiedIdentity {
                name: person.name,
                birth_date: person.birth_date,
                phone: person.phone,
                ci_hash: ci_hash(&app, &person.ci),
                certified_at: person.verified_at,
            }),
            IdentityView::NotVerified(status) => {
                tracing::info!(%status, "identity verification not completed");
                Err(CertificationError::NotCertified)
            }
        };
    }
    if certification.get("certified").and_then(|v| v.as_bool()) != Some(true) {
        return Err(CertificationError::NotCertified);
    }
    let birthday = text(&certification, "birthday")?;
    let digits: String = birthday.chars().filter(|c| c.is_ascii_digit()).collect();
    let birth_date = if digits.len() == 8 {
        format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..])
    } else {
        birthday.to_owned()
    };
    let certified_at = certification
        .get("certified_at")
        .and_then(|v| v.as_i64())
        .and_then(|s| chrono::Utc.timestamp_opt(s, 0).single())
        .unwrap_or_else(|| app.clock.now());
    Ok(VerifiedIdentity {
        name: text(&certification, "name")?.to_owned(),
        birth_date,
        phone: text(&certification, "phone")?.to_owned(),
        ci_hash: ci_hash(&app, text(&certification, "unique_key")?),
        certified_at,
    })
}

//! Identity verification: a PG certification (PortOne V1 `certifications/{imp_uid}`,
//! PortOne V2 `identity-verifications/{id}`) is fetched from the PG and answered as a
//! verified name, birth date and phone with a keyed hash of the person's CI — never the
//! CI itself — so a shop can refuse a second account for the same person without
//! storing who they are. Only a completed certification counts (V1 `certified: true`,
//! V2 `status: "VERIFIED"`; V2 `READY` and `FAILED` are [`CertificationError::NotCertified`]).
//!
//! A certification is bound to the request that presents it: it is accepted **once**
//! (a second presentation is [`CertificationError::AlreadyUsed`], recorded in the store
//! so every instance agrees) and only within `[identity] max_age_ms` of the person
//! completing it ([`CertificationError::Expired`]), so a certification id seen once —
//! in a log, a URL, another shop's page — cannot verify someone later.

use crate::app::App;
use crate::errors::{FieldError, UnknownStore};
use crate::store::StoreError;
use crate::validate;
use chrono::TimeZone;
use hmac::{Hmac, Mac};
use payments_core::records::VendorCode;
use payments_core::records::charges::{CertificationVerify, VerifiedIdentity};
use payments_core::vendor::portone::{IdentityView, identity_view};
use payments_core::vendor::{GatewayError, MappingError};
use sha2::Sha256;
use std::sync::Arc;

/// The `[identity] ci_hash_key` that selects the key earlier versions derived from the
/// sealed-v2 secret when no key was configured, so a deployment that ran without one
/// keeps its CI hashes (and shops their duplicate checks). New deployments configure a
/// random key instead.
pub const DERIVED_CI_HASH_KEY: &str = "derive-from-sealed-v2-secret";

/// How far in the future (the PG's clock ahead of ours) a certification's time may be.
const CLOCK_SKEW_MS: i64 = 60_000;

/// The HMAC key of CI hashes: the configured one (start-up refuses none), or, for
/// [`DERIVED_CI_HASH_KEY`], the one derived from the sealed-v2 secret as before.
fn ci_key(app: &App) -> Vec<u8> {
    let configured = app.config.identity.ci_hash_key.expose();
    if configured != DERIVED_CI_HASH_KEY {
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
    /// The certification was accepted before: each one verifies a person once.
    #[error("vendor.uid: this certification was used before; have the person certify again")]
    AlreadyUsed,
    /// The person completed the certification longer ago than `[identity] max_age_ms`.
    #[error(
        "vendor.uid: this certification is too old (more than {0} s); have the person certify again"
    )]
    Expired(u64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Verifies a person with a PG certification, once, while it is fresh.
///
/// # Errors
/// [`CertificationError`]: bad input, an unknown store, an unknown certification
/// ([`GatewayError::NotFound`]), one the person did not complete, one older than
/// `[identity] max_age_ms`, one accepted before.
pub async fn verify(
    app: Arc<App>,
    input: CertificationVerify,
) -> Result<VerifiedIdentity, CertificationError> {
    validate::text("vendor.uid", &input.vendor.uid)?;
    let gateway = app.gateway(input.vendor.code, &input.vendor.store_id)?;
    let certification = gateway.lookup_certification(&input.vendor.uid).await?;
    let identity = identity_of(&app, input.vendor.code, &certification)?;
    check_age(&app, identity.certified_at)?;
    // Last: a certification refused above (unfinished, say) is not used up.
    let claimed = app
        .store
        .claim_certification(
            input.vendor.code,
            &input.vendor.store_id,
            &input.vendor.uid,
            app.now_ms(),
        )
        .await?;
    if !claimed {
        return Err(CertificationError::AlreadyUsed);
    }
    Ok(identity)
}

/// Accepted certifications used before this may be forgotten: one completed within the
/// skew allowance ahead of its use is too old to pass [`check_age`] by then.
pub fn forget_before(app: &App) -> i64 {
    let max_age_ms = i64::try_from(app.config.identity.max_age_ms).unwrap_or(i64::MAX / 4);
    app.now_ms()
        .saturating_sub(max_age_ms.saturating_mul(2))
        .saturating_sub(CLOCK_SKEW_MS)
}

/// Refuses a certification completed more than `[identity] max_age_ms` ago (or
/// implausibly far in the future).
fn check_age(
    app: &App,
    certified_at: payments_core::timestamp::Timestamp,
) -> Result<(), CertificationError> {
    let max_age_ms = i64::try_from(app.config.identity.max_age_ms).unwrap_or(i64::MAX);
    let age_ms = app.now_ms().saturating_sub(certified_at.timestamp_millis());
    if age_ms > max_age_ms || age_ms < -CLOCK_SKEW_MS {
        return Err(CertificationError::Expired(
            app.config.identity.max_age_ms.div_ceil(1_000),
        ));
    }
    Ok(())
}

/// The verified person of a completed certification.
fn identity_of(
    app: &App,
    code: VendorCode,
    certification: &serde_json::Value,
) -> Result<VerifiedIdentity, CertificationError> {
    if code == VendorCode::PortOne {
        let view = identity_view(certification)
            .map_err(|e: MappingError| CertificationError::Incomplete(e.field))?;
        return match view {
            IdentityView::Verified(person) => Ok(VerifiedIdentity {
                name: person.name,
                birth_date: person.birth_date,
                phone: person.phone,
                ci_hash: ci_hash(app, &person.ci),
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
    let birthday = text(certification, "birthday")?;
    let digits: String = birthday.chars().filter(|c| c.is_ascii_digit()).collect();
    let birth_date = if digits.len() == 8 {
        format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..])
    } else {
        birthday.to_owned()
    };
    // Its time is what the age is judged by: a certification without one is not taken.
    let certified_at = certification
        .get("certified_at")
        .and_then(|v| v.as_i64())
        .filter(|s| *s > 0)
        .and_then(|s| chrono::Utc.timestamp_opt(s, 0).single())
        .ok_or(CertificationError::Incomplete("certified_at"))?;
    Ok(VerifiedIdentity {
        name: text(certification, "name")?.to_owned(),
        birth_date,
        phone: text(certification, "phone")?.to_owned(),
        ci_hash: ci_hash(app, text(certification, "unique_key")?),
        certified_at,
    })
}

//! Identity verifications (본인인증): `READY` (an OTP was sent) → `VERIFIED` | `FAILED`,
//! and the person behind a verification, whose `ci` is the same at every service.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Sha384, Sha512};

use crate::error::PortOneError;
use crate::ids::ts;

/// How long a sent OTP stays valid (fake clock).
pub(crate) const OTP_TTL: chrono::Duration = chrono::Duration::minutes(3);

/// The key of every fake's CI: the same person gets the same `ci` from every instance,
/// store and verification, as the real CI is the same at every service.
const CI_KEY: &[u8] = b"fake-portone connecting information";

/// A person who verifies their identity: what the verification window (or the mobile
/// operator) learns about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// Full name, e.g. `홍길동`.
    pub name: String,
    /// Mobile number, digits only, e.g. `01012345678`.
    pub phone_number: String,
    /// Birth date, `yyyy-MM-dd`.
    pub birth_date: String,
    /// `MALE`, `FEMALE` or `OTHER`, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
}

impl Person {
    /// A person with no gender given.
    pub fn new(
        name: impl Into<String>,
        phone_number: impl Into<String>,
        birth_date: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            phone_number: phone_number.into(),
            birth_date: birth_date.into(),
            gender: None,
        }
    }

    /// Checks the fields (`field` prefixes the names in errors).
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for an empty name, a phone number that is not 10–11 digits, a
    /// birth date that is not `yyyy-MM-dd`, or an unknown gender.
    pub(crate) fn check(&self, field: &str) -> Result<(), PortOneError> {
        if self.name.trim().is_empty() {
            return Err(PortOneError::invalid(format!(
                "{field}.name must not be empty"
            )));
        }
        check_phone(&format!("{field}.phoneNumber"), &self.phone_number)?;
        if chrono::NaiveDate::parse_from_str(&self.birth_date, "%Y-%m-%d").is_err() {
            return Err(PortOneError::invalid(format!(
                "{field}.birthDate must be yyyy-MM-dd, got {:?}",
                self.birth_date
            )));
        }
        if let Some(g) = &self.gender
            && !matches!(g.as_str(), "MALE" | "FEMALE" | "OTHER")
        {
            return Err(PortOneError::invalid(format!(
                "{field}.gender must be MALE, FEMALE or OTHER, got {g:?}"
            )));
        }
        Ok(())
    }

    /// The connecting information: 88 base64 characters, a function of the person only.
    pub fn ci(&self) -> String {
        let mut mac = Hmac::<Sha512>::new_from_slice(CI_KEY).expect("HMAC takes any key length");
        mac.update(self.identity().as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// The duplication information: 64 base64 characters, per person and store.
    pub fn di(&self, store_id: &str) -> String {
        let mut mac =
            Hmac::<Sha384>::new_from_slice(store_id.as_bytes()).expect("HMAC takes any key length");
        mac.update(self.identity().as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// What identifies the person: name and birth date (a phone number can change hands);
    /// name and phone number when the birth date is unknown (a server-side verification
    /// sent without `identityNumber`).
    fn identity(&self) -> String {
        if self.birth_date.is_empty() {
            format!("{}|{}", self.name.trim(), self.phone_number)
        } else {
            format!("{}|{}", self.name.trim(), self.birth_date)
        }
    }
}

/// Checks a mobile number: 10 or 11 digits (dashes allowed).
pub(crate) fn check_phone(field: &str, phone: &str) -> Result<(), PortOneError> {
    let digits: String = phone.chars().filter(|c| *c != '-').collect();
    if (10..=11).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PortOneError::invalid(format!(
            "{field} must be 10 or 11 digits, got {phone:?}"
        )))
    }
}

/// Reads `identityNumber` (birth date `YYMMDD` and the gender digit) into
/// `(yyyy-MM-dd, gender)`.
///
/// # Errors
/// `400 INVALID_REQUEST` naming `customer.identityNumber` when it is not 7 digits forming a date.
pub(crate) fn parse_identity_number(n: &str) -> Result<(String, String), PortOneError> {
    let bad = || {
        PortOneError::invalid(format!(
            "customer.identityNumber must be YYMMDD and the gender digit (7 digits), got {n:?}"
        ))
    };
    if n.len() != 7 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let digit = n.as_bytes()[6] - b'0';
    let century = match digit {
        1 | 2 | 5 | 6 => "19",
        3 | 4 | 7 | 8 => "20",
        _ => "18",
    };
    let date = format!("{century}{}-{}-{}", &n[0..2], &n[2..4], &n[4..6]);
    chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| bad())?;
    let gender = if digit % 2 == 1 { "MALE" } else { "FEMALE" };
    Ok((date, gender.to_owned()))
}

/// An identity verification's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityStatus {
    Ready,
    Verified,
    Failed,
}

/// An OTP the fake "sent" by SMS or the operator's app.
#[derive(Debug, Clone)]
pub(crate) struct Otp {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

impl Otp {
    /// A fresh 6-digit code valid for [`OTP_TTL`] from `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            code: format!("{:06}", rand::random::<u32>() % 1_000_000),
            expires_at: now + OTP_TTL,
        }
    }
}

/// One identity verification.
#[derive(Debug, Clone)]
pub(crate) struct Verification {
    pub id: String,
    pub store_id: String,
    pub channel: Option<Value>,
    /// `IdentityVerificationRequestedCustomer`.
    pub requested: Value,
    /// The person as far as the send request told (a birth date only with `identityNumber`).
    pub person: Option<Person>,
    pub operator: Option<String>,
    pub custom_data: Option<String>,
    pub status: IdentityStatus,
    pub otp: Option<Otp>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub pg_tx_id: String,
    pub failure: Option<Value>,
}

impl Verification {
    pub fn set_status(&mut self, status: IdentityStatus, now: DateTime<Utc>) {
        self.status = status;
        self.status_changed_at = now;
        self.updated_at = now;
    }

    /// The `IdentityVerification` JSON (tagged by `status`).
    pub fn render(&self) -> Value {
        let status = match self.status {
            IdentityStatus::Ready => "READY",
            IdentityStatus::Verified => "VERIFIED",
            IdentityStatus::Failed => "FAILED",
        };
        let mut v = json!({
            "status": status,
            "id": self.id,
            "requestedAt": ts(self.requested_at),
            "updatedAt": ts(self.updated_at),
            "statusChangedAt": ts(self.status_changed_at),
            "version": "V2",
            "pgTxId": self.pg_tx_id,
        });
        if let Some(c) = &self.channel {
            v["channel"] = c.clone();
        }
        if let Some(d) = &self.custom_data {
            v["customData"] = json!(d);
        }
        match self.status {
            IdentityStatus::Ready => v["requestedCustomer"] = self.requested.clone(),
            IdentityStatus::Failed => {
                v["requestedCustomer"] = self.requested.clone();
                v["failure"] = self.failure.clone().unwrap_or_else(|| json!({}));
            }
            IdentityStatus::Verified => {
                v["verifiedCustomer"] = self.verified_customer();
                v["verifiedAt"] = json!(ts(self.verified_at.unwrap_or(self.status_changed_at)));
                v["pgRawResponse"] = json!("{}");
            }
        }
        v
    }

    /// `IdentityVerificationVerifiedCustomer`, from the person who verified.
    fn verified_customer(&self) -> Value {
        let Some(p) = &self.person else {
            return json!({ "name": "" });
        };
        let mut v = json!({
            "name": p.name,
            "phoneNumber": p.phone_number,
            "isForeigner": false,
            "ci": p.ci(),
            "di": p.di(&self.store_id),
        });
        if let Some(id) = self.requested.get("id") {
            v["id"] = id.clone();
        }
        if let Some(op) = &self.operator {
            v["operator"] = json!(op);
        }
        if let Some(g) = &p.gender {
            v["gender"] = json!(g);
        }
        if !p.birth_date.is_empty() {
            v["birthDate"] = json!(p.birth_date);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_per_person_and_di_per_store() {
        let a = Person::new("홍길동", "01012345678", "1990-01-01");
        let same = Person::new("홍길동", "01099998888", "1990-01-01");
        let other = Person::new("홍길동", "01012345678", "1990-01-02");
        assert_eq!(a.ci(), same.ci());
        assert_ne!(a.ci(), other.ci());
        assert_eq!(a.ci().len(), 88);
        assert_eq!(a.di("s").len(), 64);
        assert_ne!(a.di("s"), a.di("t"));
    }

    #[test]
    fn identity_numbers_give_birth_date_and_gender() {
        assert_eq!(
            parse_identity_number("9001011").unwrap(),
            ("1990-01-01".to_owned(), "MALE".to_owned())
        );
        assert_eq!(
            parse_identity_number("0503044").unwrap(),
            ("2005-03-04".to_owned(), "FEMALE".to_owned())
        );
        assert!(parse_identity_number("0502304").is_err(), "no 30 February");
        assert!(parse_identity_number("9013011").is_err());
    }
}

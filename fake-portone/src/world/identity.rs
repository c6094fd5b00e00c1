//! Identity verifications: server-driven (send an OTP, confirm it, resend it) and the
//! verification window a test plays through `/internal/`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::World;
use crate::error::{ErrorKind, PortOneError};
use crate::identity::{
    IdentityStatus, Otp, Person, Verification, check_phone, parse_identity_number,
};
use crate::ids::new_id;
use crate::requests::SendIdentityBody;

const OPERATORS: [&str; 6] = ["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"];

fn not_found(id: &str) -> PortOneError {
    PortOneError::new(
        ErrorKind::IdentityVerificationNotFound,
        format!("no identity verification {id:?} in this store"),
    )
}

fn not_sent(id: &str) -> PortOneError {
    PortOneError::new(
        ErrorKind::IdentityVerificationNotSent,
        format!("identity verification {id:?} has no OTP pending: send it first"),
    )
}

fn already_verified(id: &str) -> PortOneError {
    PortOneError::new(
        ErrorKind::IdentityVerificationAlreadyVerified,
        format!("identity verification {id:?} is already verified"),
    )
}

type Key = (String, String);

impl World {
    /// An identity verification of `store_id`.
    ///
    /// # Errors
    /// `404 IDENTITY_VERIFICATION_NOT_FOUND`.
    pub fn verification(&self, store_id: &str, id: &str) -> Result<&Verification, PortOneError> {
        self.verifications
            .get(&(store_id.to_owned(), id.to_owned()))
            .ok_or_else(|| not_found(id))
    }

    fn verification_mut(&mut self, key: &Key) -> Result<&mut Verification, PortOneError> {
        self.verifications
            .get_mut(key)
            .ok_or_else(|| not_found(&key.1))
    }

    /// `POST /identity-verifications/{id}/send`: "sends" an OTP to the customer's phone
    /// (read it with [`World::otp`]); the verification is `READY`. A `FAILED` one may be
    /// sent again.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for a bad field, `404 CHANNEL_NOT_FOUND`, `409
    /// IDENTITY_VERIFICATION_ALREADY_VERIFIED`, `409 IDENTITY_VERIFICATION_ALREADY_SENT`
    /// while an OTP is pending (use resend).
    pub fn send_identity(
        &mut self,
        store_id: &str,
        id: &str,
        body: SendIdentityBody,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let channel = self.channel(Some(&body.channel_key))?;
        let c = &body.customer;
        if c.name.trim().is_empty() {
            return Err(PortOneError::invalid("customer.name must not be empty"));
        }
        check_phone("customer.phoneNumber", &c.phone_number)?;
        if c.ip_address.trim().is_empty() {
            return Err(PortOneError::invalid(
                "customer.ipAddress must not be empty",
            ));
        }
        if !OPERATORS.contains(&body.operator.as_str()) {
            return Err(PortOneError::invalid(format!(
                "operator must be one of {OPERATORS:?}, got {:?}",
                body.operator
            )));
        }
        if !matches!(body.method.as_str(), "SMS" | "APP") {
            return Err(PortOneError::invalid(format!(
                "method must be SMS or APP, got {:?}",
                body.method
            )));
        }
        let (birth_date, gender) = match &c.identity_number {
            Some(n) => {
                let (d, g) = parse_identity_number(n)?;
                (d, Some(g))
            }
            None => (String::new(), None),
        };
        let key = (store_id.to_owned(), id.to_owned());
        if let Some(v) = self.verifications.get(&key) {
            match v.status {
                IdentityStatus::Verified => return Err(already_verified(id)),
                IdentityStatus::Ready if v.otp.is_some() => {
                    return Err(PortOneError::new(
                        ErrorKind::IdentityVerificationAlreadySent,
                        format!("identity verification {id:?} was already sent; resend it"),
                    ));
                }
                _ => {}
            }
        }
        let mut requested = json!({ "name": c.name, "phoneNumber": c.phone_number });
        if let Some(cid) = &c.id {
            requested["id"] = json!(cid);
        }
        if !birth_date.is_empty() {
            requested["birthYear"] = json!(&birth_date[0..4]);
            requested["birthMonth"] = json!(&birth_date[5..7]);
            requested["birthDay"] = json!(&birth_date[8..10]);
        }
        let person = Person {
            name: c.name.clone(),
            phone_number: c.phone_number.clone(),
            birth_date,
            gender,
        };
        let v = Verification {
            id: id.to_owned(),
            store_id: store_id.to_owned(),
            channel: Some(channel),
            requested,
            person: Some(person),
            operator: Some(body.operator),
            custom_data: body.custom_data,
            status: IdentityStatus::Ready,
            otp: Some(Otp::new(now)),
            requested_at: now,
            updated_at: now,
            status_changed_at: now,
            verified_at: None,
            pg_tx_id: new_id("pg-iv-"),
            failure: None,
        };
        self.verifications.insert(key, v);
        Ok(json!({}))
    }

    /// `POST /identity-verifications/{id}/confirm`: checks the OTP. Right: `VERIFIED`;
    /// wrong or expired: `FAILED` (send again to retry).
    ///
    /// # Errors
    /// `404 IDENTITY_VERIFICATION_NOT_FOUND` / `NOT_SENT`, `409 ..._ALREADY_VERIFIED`,
    /// `400 INVALID_REQUEST` without `otp`, `502 PG_PROVIDER` for a wrong or expired OTP.
    pub fn confirm_identity(
        &mut self,
        store_id: &str,
        id: &str,
        otp: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        let v = self.verification_mut(&key)?;
        if v.status == IdentityStatus::Verified {
            return Err(already_verified(id));
        }
        let Some(pending) = v.otp.clone().filter(|_| v.status == IdentityStatus::Ready) else {
            return Err(not_sent(id));
        };
        let Some(otp) = otp else {
            return Err(PortOneError::invalid("otp is required"));
        };
        let refusal = if now > pending.expires_at {
            Some(("OTP_EXPIRED", "인증번호 입력 시간이 초과되었습니다."))
        } else if otp != pending.code {
            Some(("OTP_MISMATCH", "인증번호가 일치하지 않습니다."))
        } else {
            None
        };
        v.otp = None;
        if let Some((code, message)) = refusal {
            v.failure = Some(json!({ "reason": message, "pgCode": code, "pgMessage": message }));
            v.set_status(IdentityStatus::Failed, now);
            return Err(PortOneError::pg(code, message));
        }
        v.verified_at = Some(now);
        v.set_status(IdentityStatus::Verified, now);
        Ok(json!({ "identityVerification": v.render() }))
    }

    /// `POST /identity-verifications/{id}/resend`: a new OTP replaces the pending one.
    ///
    /// # Errors
    /// `404 IDENTITY_VERIFICATION_NOT_FOUND` / `NOT_SENT`, `409 ..._ALREADY_VERIFIED`.
    pub fn resend_identity(
        &mut self,
        store_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let key = (store_id.to_owned(), id.to_owned());
        let v = self.verification_mut(&key)?;
        match v.status {
            IdentityStatus::Verified => Err(already_verified(id)),
            IdentityStatus::Ready if v.otp.is_some() => {
                v.otp = Some(Otp::new(now));
                v.updated_at = now;
                Ok(json!({}))
            }
            _ => Err(not_sent(id)),
        }
    }

    /// The OTP the fake "sent" for a verification (`GET /internal/identity-verifications/{id}/otp`).
    ///
    /// # Errors
    /// `404 IDENTITY_VERIFICATION_NOT_FOUND` / `NOT_SENT`.
    pub fn otp(&self, store_id: &str, id: &str) -> Result<String, PortOneError> {
        let v = self.verification(store_id, id)?;
        match (&v.otp, v.status) {
            (Some(o), IdentityStatus::Ready) => Ok(o.code.clone()),
            _ => Err(not_sent(id)),
        }
    }

    /// The customer completes the verification window as `person`
    /// (`POST /internal/identity-verifications/{id}/verify`): `VERIFIED`.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for a bad person, `409 IDENTITY_VERIFICATION_ALREADY_VERIFIED`.
    pub fn verify_identity(
        &mut self,
        store_id: &str,
        id: &str,
        person: Person,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        person.check("customer")?;
        let key = (store_id.to_owned(), id.to_owned());
        if self
            .verifications
            .get(&key)
            .is_some_and(|v| v.status == IdentityStatus::Verified)
        {
            return Err(already_verified(id));
        }
        let channel = self.channel(None)?;
        let v = self
            .verifications
            .entry(key)
            .or_insert_with(|| Verification {
                id: id.to_owned(),
                store_id: store_id.to_owned(),
                channel: Some(channel),
                requested: json!({}),
                person: None,
                operator: None,
                custom_data: None,
                status: IdentityStatus::Ready,
                otp: None,
                requested_at: now,
                updated_at: now,
                status_changed_at: now,
                verified_at: None,
                pg_tx_id: new_id("pg-iv-"),
                failure: None,
            });
        v.person = Some(person);
        v.otp = None;
        v.failure = None;
        v.verified_at = Some(now);
        v.set_status(IdentityStatus::Verified, now);
        Ok(v.render())
    }
}

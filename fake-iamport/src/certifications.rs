//! SMS identity certification: `POST /certifications/otp/request`, `POST
//! /certifications/otp/confirm/{imp_uid}`, `GET/DELETE /certifications/{imp_uid}`.
//! The OTP a real user would receive by SMS is readable through `FakeIamport::otp`.

use chrono::NaiveDate;
use rand::Rng;
use serde_json::{Value, json};

use crate::envelope::ApiError;
use crate::fields::{Body, digits};
use crate::model::Certification;
use crate::state::{State, random_digits};

/// How long an OTP stays valid, in seconds.
pub(crate) const OTP_TTL: i64 = 180;
/// Wrong OTPs allowed before the request is locked.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// `POST /certifications/otp/request`: returns `{imp_uid}`; the OTP is "sent by SMS".
pub(crate) fn request(st: &mut State, body: &Body, now: i64) -> Result<Value, ApiError> {
    let name = body.str_req("name")?;
    let phone_raw = body.str_req("phone")?;
    let phone = digits(&phone_raw);
    if !phone.starts_with("01") || !(10..=11).contains(&phone.len()) {
        return Err(ApiError::bad_request(format!(
            "`phone` must be a mobile number like 01012345678; got {phone_raw:?}"
        )));
    }
    let birthday = body.str_req("birth")?;
    let date = (birthday.len() == 8)
        .then(|| NaiveDate::parse_from_str(&birthday, "%Y%m%d").ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "`birth` must be a date as YYYYMMDD; got {birthday:?}"
            ))
        })?;
    let gender = body.str_req("gender_digit")?;
    let gender_digit = match gender.as_bytes() {
        [d @ b'1'..=b'8'] => d - b'0',
        _ => {
            return Err(ApiError::bad_request(format!(
                "`gender_digit` must be the 7th digit of the resident number (1-8); got {gender:?}"
            )));
        }
    };
    let carrier = body.str_req("carrier")?;
    if !["SKT", "KT", "LGT"].contains(&carrier.as_str()) {
        return Err(ApiError::bad_request(format!(
            "`carrier` must be SKT, KT or LGT; got {carrier:?}"
        )));
    }
    let is_mvno = body.bool_opt("is_mvno")?.unwrap_or(false);
    let company = body.str_any(&["company", "commpany"])?;
    if is_mvno && company.is_none() {
        return Err(ApiError::bad_request(
            "`company` (the MVNO's name) is required when `is_mvno` is true",
        ));
    }
    let birth = date
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp() - 9 * 3600)
        .unwrap_or(0);
    let imp_uid = st.new_imp_uid();
    let mut rng = rand::thread_rng();
    // A CI identifies the person, not the certification: the same person certified
    // twice gets the same `unique_key`, as with the real identity providers.
    let person = format!("{name}\u{0}{birthday}\u{0}{gender_digit}\u{0}{phone}");
    let cert = Certification {
        imp_uid: imp_uid.clone(),
        merchant_uid: body.str_opt("merchant_uid")?,
        name,
        phone,
        birthday,
        birth,
        gender_digit,
        carrier,
        pg: body.str_opt("pg")?.unwrap_or_else(|| "danal".into()),
        otp: format!("{:06}", rng.gen_range(0..1_000_000)),
        otp_expires_at: now + OTP_TTL,
        failed_attempts: 0,
        certified_at: 0,
        unique_key: person_hex(&person, "ci", 64),
        unique_in_site: person_hex(&person, "di", 32),
        pg_tid: random_digits(&mut rng, 20),
    };
    st.certifications.insert(imp_uid.clone(), cert);
    Ok(json!({ "imp_uid": imp_uid }))
}

/// A stable pseudo-random hex string for a person (deterministic within a build of the
/// fake, which is all a fake's CI needs).
fn person_hex(person: &str, salt: &str, len: usize) -> String {
    use std::hash::{Hash, Hasher};
    let mut out = String::with_capacity(len);
    let mut round = 0u64;
    while out.len() < len {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (salt, person, round).hash(&mut hasher);
        out.push_str(&format!("{:016x}", hasher.finish()));
        round += 1;
    }
    out.truncate(len);
    out
}

fn unknown(imp_uid: &str) -> ApiError {
    ApiError::not_found(format!(
        "인증결과가 존재하지 않습니다. (no certification with imp_uid {imp_uid:?})"
    ))
}

/// `POST /certifications/otp/confirm/{imp_uid}`.
pub(crate) fn confirm(
    st: &mut State,
    imp_uid: &str,
    body: &Body,
    now: i64,
) -> Result<Value, ApiError> {
    let otp = body.str_req("otp")?;
    let c = st
        .certifications
        .get_mut(imp_uid)
        .ok_or_else(|| unknown(imp_uid))?;
    if c.certified_at != 0 {
        return Err(ApiError::business(
            "이미 인증이 완료된 요청입니다. (already certified)",
        ));
    }
    if c.failed_attempts >= MAX_ATTEMPTS {
        return Err(ApiError::business(
            "인증번호 입력 가능 횟수를 초과했습니다. 다시 요청하세요. (too many wrong OTPs: request a new one)",
        ));
    }
    if now > c.otp_expires_at {
        return Err(ApiError::business(
            "인증번호 입력시간이 초과되었습니다. 다시 요청하세요. (OTP expired: request a new one)",
        ));
    }
    if otp != c.otp {
        c.failed_attempts += 1;
        return Err(ApiError::business(format!(
            "인증번호가 일치하지 않습니다. (wrong OTP, {} of {MAX_ATTEMPTS} attempts used)",
            c.failed_attempts
        )));
    }
    c.certified_at = now;
    Ok(c.to_json())
}

/// `GET /certifications/{imp_uid}`.
pub(crate) fn get(st: &State, imp_uid: &str) -> Result<Value, ApiError> {
    let c = st
        .certifications
        .get(imp_uid)
        .ok_or_else(|| unknown(imp_uid))?;
    let mut v = c.to_json();
    // samchon's fake hands the OTP to the test in a fake-only field.
    if st.samchon() {
        v["__otp"] = Value::String(c.otp.clone());
    }
    Ok(v)
}

/// `DELETE /certifications/{imp_uid}`: forget the personal data; returns it one last time.
pub(crate) fn delete(st: &mut State, imp_uid: &str) -> Result<Value, ApiError> {
    st.certifications
        .remove(imp_uid)
        .map(|c| c.to_json())
        .ok_or_else(|| unknown(imp_uid))
}

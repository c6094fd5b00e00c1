//! Virtual accounts: issue (`POST /vbanks`), edit (`PUT /vbanks`), withdraw
//! (`DELETE /vbanks/{imp_uid}`) and the fake-only deposit that makes them `paid`.

use rand::Rng;
use serde_json::Value;

use crate::envelope::ApiError;
use crate::fields::Body;
use crate::model::{Buyer, Method, Payment, Status};
use crate::state::{State, random_digits, random_hex};

/// Bank codes the fake issues accounts for (the real API's standard codes).
pub const BANKS: &[(&str, &str)] = &[
    ("002", "KDB산업은행"),
    ("003", "IBK기업은행"),
    ("004", "KB국민은행"),
    ("007", "수협은행"),
    ("011", "NH농협은행"),
    ("020", "우리은행"),
    ("023", "SC제일은행"),
    ("027", "한국씨티은행"),
    ("031", "대구은행"),
    ("032", "부산은행"),
    ("034", "광주은행"),
    ("035", "제주은행"),
    ("037", "전북은행"),
    ("039", "경남은행"),
    ("045", "새마을금고"),
    ("048", "신협"),
    ("071", "우체국"),
    ("081", "하나은행"),
    ("088", "신한은행"),
    ("089", "케이뱅크"),
    ("090", "카카오뱅크"),
    ("092", "토스뱅크"),
];

/// Other spellings accepted for each bank code: the upper-case English names samchon's
/// fake and its documentation use (`"SHINHAN"`), and Korean names without the brand
/// prefix (`"국민은행"`). Answers always carry the standard code and name.
const BANK_ALIASES: &[(&str, &[&str])] = &[
    ("002", &["KDB", "KDBBANK", "산업은행"]),
    ("003", &["IBK", "기업은행"]),
    ("004", &["KOOKMIN", "KB", "KBSTAR", "국민은행"]),
    ("007", &["SUHYUP", "수협"]),
    ("011", &["NONGHYUP", "NH", "NHBANK", "농협", "농협은행"]),
    ("020", &["WOORI", "우리"]),
    ("023", &["SC", "SCFIRST", "SC은행", "제일은행"]),
    ("027", &["CITI", "CITIBANK", "씨티은행"]),
    ("031", &["DAEGU", "DGB", "IMBANK", "iM뱅크"]),
    ("032", &["BUSAN", "BNK", "부산"]),
    ("034", &["GWANGJU", "KWANGJU", "광주"]),
    ("035", &["JEJU", "제주"]),
    ("037", &["JEONBUK", "JB", "전북"]),
    ("039", &["KYONGNAM", "GYEONGNAM", "경남"]),
    ("045", &["SAEMAUL", "KFCC", "MG", "새마을"]),
    ("048", &["SHINHYUP", "CU", "신협은행"]),
    ("071", &["POST", "EPOST", "우체국은행"]),
    ("081", &["HANA", "KEBHANA", "하나"]),
    ("088", &["SHINHAN", "신한"]),
    ("089", &["KBANK", "K", "K뱅크"]),
    ("090", &["KAKAO", "KAKAOBANK", "카카오"]),
    ("092", &["TOSS", "TOSSBANK", "토스"]),
];

/// The standard `(code, name)` of a bank given by its three-digit code, its standard
/// name, or one of [`BANK_ALIASES`] (case-insensitive for the English ones).
pub(crate) fn bank(input: &str) -> Option<(&'static str, &'static str)> {
    let input = input.trim();
    let code = BANKS
        .iter()
        .find(|(c, n)| *c == input || *n == input)
        .map(|(c, _)| *c)
        .or_else(|| {
            BANK_ALIASES
                .iter()
                .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(input)))
                .map(|(c, _)| *c)
        })?;
    BANKS.iter().find(|(c, _)| *c == code).copied()
}

/// `POST /vbanks`.
pub(crate) fn issue(st: &mut State, body: &Body, now: i64) -> Result<Value, ApiError> {
    let merchant_uid = body.str_req("merchant_uid")?;
    let amount = body.positive_amount("amount")?;
    let vbank_code = body.str_req("vbank_code")?;
    // samchon's fake takes a fractional due time (JavaScript's `Date.now() / 1000`).
    let vbank_due = if st.samchon() {
        body.f64_opt("vbank_due")?.map(|f| f.trunc() as i64)
    } else {
        body.i64_opt("vbank_due")?
    }
    .ok_or_else(|| ApiError::bad_request("`vbank_due` is required (Unix seconds)"))?;
    let vbank_holder = body.str_req("vbank_holder")?;
    let name = body.str_opt("name")?;
    let buyer = Buyer::from_body(body)?;
    let notice_url = body.url_opt("notice_url")?;
    let custom_data = body.str_opt("custom_data")?;
    let (vbank_code, vbank_name) = match bank(&vbank_code) {
        Some((code, name)) => (code.to_owned(), name.to_owned()),
        // samchon's fake takes any code and names the bank after it.
        None if st.samchon() => (vbank_code.clone(), vbank_code),
        None => {
            return Err(ApiError::bad_request(format!(
                "`vbank_code` {vbank_code:?} is not a supported bank (a code such as 004 or 088, or a name such as KOOKMIN, SHINHAN, 국민은행)"
            )));
        }
    };
    if vbank_due <= now {
        return Err(ApiError::bad_request(format!(
            "`vbank_due` ({vbank_due}) must be in the future (now is {now})"
        )));
    }
    crate::charges::ensure_merchant_uid_free(st, &merchant_uid)?;
    let mut rng = rand::thread_rng();
    let vbank_num = format!(
        "{}{}",
        rng.gen_range(100..1000),
        random_digits(&mut rng, 11)
    );
    let seq = st.next_seq();
    let payment = Payment {
        seq,
        imp_uid: st.new_imp_uid(),
        merchant_uid,
        name,
        amount,
        cancel_amount: 0,
        tax_free: 0,
        currency: "KRW".into(),
        method: Method::VBank {
            vbank_code,
            vbank_name,
            vbank_num,
            vbank_holder,
            vbank_date: vbank_due,
            vbank_issued_at: now,
        },
        status: Status::Ready,
        started_at: now,
        paid_at: 0,
        failed_at: 0,
        cancelled_at: 0,
        fail_reason: None,
        cancel_reason: None,
        cancel_history: Vec::new(),
        buyer,
        customer_uid: None,
        customer_uid_usage: None,
        custom_data,
        notice_url,
        pg_tid: random_hex(20),
        cash_receipt_issue: false,
    };
    let out = payment.to_json();
    st.emit(&payment);
    st.add_payment(payment);
    Ok(out)
}

fn ready_vbank<'a>(st: &'a mut State, imp_uid: &str) -> Result<&'a mut Payment, ApiError> {
    let p = st
        .payments
        .get_mut(imp_uid)
        .ok_or_else(|| ApiError::payment_not_found(imp_uid))?;
    let Method::VBank { .. } = p.method else {
        return Err(ApiError::business(format!(
            "가상계좌 결제건이 아닙니다. ({imp_uid} is not a virtual-account payment)"
        )));
    };
    if p.status != Status::Ready {
        return Err(ApiError::business(format!(
            "입금대기(ready) 상태의 가상계좌가 아닙니다. (virtual account is {}, not ready)",
            p.status.as_str()
        )));
    }
    Ok(p)
}

/// `PUT /vbanks`: change the amount and/or due date of a `ready` account.
pub(crate) fn edit(st: &mut State, body: &Body, now: i64) -> Result<Value, ApiError> {
    let imp_uid = body.str_req("imp_uid")?;
    let amount = body.amount_opt("amount")?;
    let due = body.i64_opt("vbank_due")?;
    if amount == Some(0) {
        return Err(ApiError::bad_request("`amount` must be greater than 0"));
    }
    if let Some(d) = due
        && d <= now
    {
        return Err(ApiError::bad_request(format!(
            "`vbank_due` ({d}) must be in the future (now is {now})"
        )));
    }
    let p = ready_vbank(st, &imp_uid)?;
    if let Some(a) = amount {
        p.amount = a;
    }
    if let (Some(d), Method::VBank { vbank_date, .. }) = (due, &mut p.method) {
        *vbank_date = d;
    }
    Ok(p.to_json())
}

/// `DELETE /vbanks/{imp_uid}`: withdraw a `ready` account (it becomes `cancelled`).
pub(crate) fn withdraw(st: &mut State, imp_uid: &str, now: i64) -> Result<Value, ApiError> {
    let p = ready_vbank(st, imp_uid)?;
    p.status = Status::Cancelled;
    p.cancelled_at = now;
    p.cancel_reason = Some("가상계좌 발급취소".into());
    let snapshot = p.clone();
    st.emit(&snapshot);
    Ok(snapshot.to_json())
}

/// Fake-only deposit (`PUT /internal/deposit/{imp_uid}`): a `ready` account becomes
/// `paid` unless its due date has passed.
pub(crate) fn deposit(st: &mut State, imp_uid: &str, now: i64) -> Result<Value, ApiError> {
    let p = ready_vbank(st, imp_uid)?;
    if let Method::VBank { vbank_date, .. } = p.method
        && vbank_date < now
    {
        return Err(ApiError::business(format!(
            "입금기한({vbank_date})이 지난 가상계좌입니다. (deposit after the due date)"
        )));
    }
    p.status = Status::Paid;
    p.paid_at = now;
    let snapshot = p.clone();
    st.emit(&snapshot);
    Ok(snapshot.to_json())
}

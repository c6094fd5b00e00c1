//! Cash receipts for non-card payments: `GET/POST/DELETE /receipts/{imp_uid}`.

use rand::Rng;
use serde_json::Value;

use crate::envelope::ApiError;
use crate::fields::{Body, digits};
use crate::model::{Method, Receipt, Status};
use crate::state::{State, random_digits};

/// Checks `identifier` against `identifier_type` (inferred from its length when absent).
fn check_identifier(identifier: &str, kind: Option<&str>) -> Result<(), ApiError> {
    let d = digits(identifier);
    let kind = match kind {
        Some(k) => k,
        None if d.starts_with("01") && (10..=11).contains(&d.len()) => "phone",
        None if d.len() == 10 => "business",
        None if d.len() == 13 => "person",
        None => "taxcard",
    };
    let ok = match kind {
        "phone" => d.starts_with("01") && (10..=11).contains(&d.len()),
        "person" => d.len() == 13,
        "business" => d.len() == 10,
        "taxcard" => (13..=19).contains(&d.len()),
        other => {
            return Err(ApiError::bad_request(format!(
                "`identifier_type` must be phone, person, business or taxcard; got {other:?}"
            )));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "`identifier` is not a valid {kind} number (phone: 010XXXXXXXX, person: 13 digits, business: 10 digits, taxcard: 13-19 digits)"
        )))
    }
}

/// `POST /receipts/{imp_uid}`.
pub(crate) fn issue(
    st: &mut State,
    imp_uid: &str,
    body: &Body,
    now: i64,
) -> Result<Value, ApiError> {
    if let Some(b) = body.str_opt("imp_uid")?
        && b != imp_uid
    {
        return Err(ApiError::bad_request(format!(
            "`imp_uid` in the body ({b:?}) differs from the path ({imp_uid:?})"
        )));
    }
    let identifier = body.str_req("identifier")?;
    let identifier_type = body.str_opt("identifier_type")?;
    // samchon's fake accepts a masked identifier (`8803111******`).
    if !(st.samchon() && identifier.contains('*')) {
        check_identifier(&identifier, identifier_type.as_deref())?;
    }
    let kind = body.str_opt("type")?.unwrap_or_else(|| "person".into());
    if kind != "person" && kind != "company" {
        return Err(ApiError::bad_request(format!(
            "`type` must be person or company; got {kind:?}"
        )));
    }
    body.str_opt("buyer_name")?;
    body.str_opt("buyer_email")?;
    body.str_opt("buyer_tel")?;
    let tax_free = body.amount_opt("tax_free")?.unwrap_or(0);

    let samchon = st.samchon();
    let p = st
        .payments
        .get_mut(imp_uid)
        .ok_or_else(|| ApiError::payment_not_found(imp_uid))?;
    // samchon's fake issues cash receipts for card payments too.
    if matches!(p.method, Method::Card { .. }) && !samchon {
        return Err(ApiError::business(
            "신용카드 결제건은 현금영수증 발행 대상이 아닙니다. (card payments get no cash receipt)",
        ));
    }
    if p.status != Status::Paid {
        return Err(ApiError::business(format!(
            "결제완료(paid) 상태인 결제건만 현금영수증을 발행할 수 있습니다. (payment is {})",
            p.status.as_str()
        )));
    }
    let amount = p.balance();
    if tax_free > amount {
        return Err(ApiError::bad_request(format!(
            "`tax_free` ({tax_free}) cannot exceed the receipt amount ({amount})"
        )));
    }
    if let Some(r) = st.receipts.get(imp_uid)
        && r.cancelled_at == 0
    {
        return Err(ApiError::business(
            "이미 현금영수증이 발행된 결제건입니다. (a cash receipt is already issued)",
        ));
    }
    p.cash_receipt_issue = true;
    let mut rng = rand::thread_rng();
    let taxable = amount - tax_free;
    let receipt = Receipt {
        imp_uid: imp_uid.to_owned(),
        receipt_uid: format!("rcpt_{}", random_digits(&mut rng, 12)),
        apply_num: format!("{}", rng.gen_range(100_000_000..1_000_000_000)),
        kind,
        amount,
        vat: (taxable + 5) / 11,
        applied_at: now,
        cancelled_at: 0,
    };
    let out = receipt.to_json();
    st.receipts.insert(imp_uid.to_owned(), receipt);
    Ok(out)
}

fn unknown(imp_uid: &str) -> ApiError {
    ApiError::not_found(format!(
        "현금영수증 발행내역이 존재하지 않습니다. (no cash receipt for {imp_uid})"
    ))
}

/// `GET /receipts/{imp_uid}`.
pub(crate) fn get<'a>(st: &'a State, imp_uid: &str) -> Result<&'a Receipt, ApiError> {
    st.receipts.get(imp_uid).ok_or_else(|| unknown(imp_uid))
}

/// `DELETE /receipts/{imp_uid}`: withdraw the receipt (kept, with `cancelled_at`).
pub(crate) fn cancel(st: &mut State, imp_uid: &str, now: i64) -> Result<Value, ApiError> {
    let r = st
        .receipts
        .get_mut(imp_uid)
        .ok_or_else(|| unknown(imp_uid))?;
    if r.cancelled_at != 0 {
        return Err(ApiError::business(
            "이미 취소된 현금영수증입니다. (cash receipt already withdrawn)",
        ));
    }
    r.cancelled_at = now;
    let out = r.to_json();
    if let Some(p) = st.payments.get_mut(imp_uid) {
        p.cash_receipt_issue = false;
    }
    Ok(out)
}

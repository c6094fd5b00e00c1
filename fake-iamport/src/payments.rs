//! The payment object (card or virtual account, exactly the spec's
//! `IIamportCardPayment` / `IIamportVBankPayment`), lookups and `POST /payments/cancel`.

use serde_json::Value;

use http::StatusCode;

use crate::envelope::{ApiError, Reply};
use crate::fields::{Body, digits};
use crate::model::{CancelEntry, Method, Payment, Status, receipt_url};
use crate::state::State;

/// `GET /payments/{imp_uid}`.
pub(crate) fn get<'a>(st: &'a State, imp_uid: &str) -> Result<&'a Payment, ApiError> {
    st.payments
        .get(imp_uid)
        .ok_or_else(|| ApiError::payment_not_found(imp_uid))
}

/// `GET /payments/{imp_uid}` as the answer, serialised once per state: a lookup is what
/// test suites and servers polling a payment do most, and serialising the payment was
/// most of its cost. The rendered answer lives until the state may change (every
/// holder of [`crate::shared::Shared::lock_state`] drops them all).
pub(crate) fn get_rendered(st: &mut State, imp_uid: &str) -> Reply {
    if let Some(body) = st.rendered(imp_uid) {
        return Reply {
            status: StatusCode::OK,
            code: 0,
            body: body.to_vec(),
        };
    }
    let reply = Reply::from(get(st, imp_uid));
    if reply.status == StatusCode::OK && reply.code == 0 {
        st.keep_rendered(imp_uid, reply.body.clone());
    }
    reply
}

/// `GET /payments/find/{merchant_uid}[/{payment_status}]`: the latest such payment.
pub(crate) fn find<'a>(
    st: &'a State,
    merchant_uid: &str,
    status: Option<&str>,
) -> Result<&'a Payment, ApiError> {
    if let Some(s) = status
        && !["ready", "paid", "failed", "cancelled"].contains(&s)
    {
        return Err(ApiError::bad_request(format!(
            "payment_status must be one of ready, paid, failed, cancelled; got {s:?}"
        )));
    }
    st.latest_by_merchant_uid(merchant_uid, status)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "존재하지 않는 결제정보입니다. (no payment with merchant_uid {merchant_uid:?})"
            ))
        })
}

/// `POST /payments/cancel`: full or partial, by `imp_uid` or `merchant_uid`.
pub(crate) fn cancel(st: &mut State, body: &Body, now: i64) -> Result<Value, ApiError> {
    let imp_uid = body.str_opt("imp_uid")?;
    let merchant_uid = body.str_opt("merchant_uid")?;
    let amount = body.amount_opt("amount")?;
    let tax_free = body.amount_opt("tax_free")?.unwrap_or(0);
    let checksum = body.amount_opt("checksum")?;
    let reason = body.str_opt("reason")?.unwrap_or_default();
    let refund_holder = body.str_opt("refund_holder")?;
    let refund_bank = body.str_opt("refund_bank")?;
    let refund_account = body.str_opt("refund_account")?;
    let refund_tel = body.str_opt("refund_tel")?;

    let key = match (&imp_uid, &merchant_uid) {
        (Some(i), _) => i.clone(),
        (None, Some(m)) => match st.latest_by_merchant_uid(m, None) {
            Some(p) => p.imp_uid.clone(),
            None => return Err(cancel_not_found()),
        },
        (None, None) => {
            return Err(ApiError::bad_request(
                "imp_uid 또는 merchant_uid 중 하나는 필수입니다. (`imp_uid` or `merchant_uid` is required)",
            ));
        }
    };
    let Some(payment) = st.payments.get(&key) else {
        return Err(cancel_not_found());
    };
    if let (Some(m), Some(_)) = (&merchant_uid, &imp_uid)
        && *m != payment.merchant_uid
    {
        return Err(ApiError::business(format!(
            "imp_uid({key})와 merchant_uid({m})가 같은 결제건이 아닙니다. (imp_uid and merchant_uid name different payments)"
        )));
    }
    match payment.status {
        Status::Paid => {}
        Status::Cancelled => {
            return Err(ApiError::business(
                "이미 전액취소된 주문입니다. (already fully cancelled)",
            ));
        }
        Status::Failed => {
            return Err(ApiError::business(
                "결제실패된 거래는 취소할 수 없습니다. (a failed payment cannot be cancelled)",
            ));
        }
        Status::Ready => {
            return Err(ApiError::business(
                "입금 전인 가상계좌는 취소할 수 없습니다. DELETE /vbanks/{imp_uid} 로 발급을 취소하세요. (virtual account not yet deposited: withdraw it with DELETE /vbanks/{imp_uid})",
            ));
        }
    }
    let balance = payment.balance();
    let requested = match amount {
        None | Some(0) => balance,
        Some(a) => a,
    };
    if requested > balance {
        return Err(ApiError::business(format!(
            "취소 요청금액({requested}원)이 취소 가능 잔액({balance}원)보다 큽니다. (cancel amount exceeds the cancellable balance)"
        )));
    }
    if let Some(c) = checksum
        && c != balance
    {
        return Err(ApiError::business(format!(
            "checksum 값({c})이 취소 가능 잔액({balance}원)과 일치하지 않습니다. (checksum does not match the cancellable balance)"
        )));
    }
    if tax_free > requested || tax_free > payment.tax_free {
        return Err(ApiError::bad_request(format!(
            "`tax_free` ({tax_free}) cannot exceed the cancel amount ({requested}) or the payment's tax-free amount ({})",
            payment.tax_free
        )));
    }
    if matches!(payment.method, Method::VBank { .. }) {
        let (Some(holder), Some(bank), Some(account)) =
            (&refund_holder, &refund_bank, &refund_account)
        else {
            return Err(ApiError::business(
                "가상계좌 환불은 환불계좌 정보(refund_holder, refund_bank, refund_account)가 필요합니다. (refunding a deposited virtual account needs refund_holder, refund_bank and refund_account)",
            ));
        };
        if crate::vbanks::bank(bank).is_none() {
            return Err(ApiError::bad_request(format!(
                "`refund_bank` is not a known bank code or name: {bank:?}"
            )));
        }
        let acc = digits(account);
        if acc.len() < 10 || acc.len() > 16 || holder.trim().is_empty() {
            return Err(ApiError::bad_request(
                "`refund_account` must be 10-16 digits and `refund_holder` non-empty",
            ));
        }
        if let Some(tel) = &refund_tel
            && digits(tel).len() < 9
        {
            return Err(ApiError::bad_request("`refund_tel` is not a phone number"));
        }
    }

    let samchon = st.samchon();
    let Some(payment) = st.payments.get_mut(&key) else {
        return Err(cancel_not_found());
    };
    payment.cancel_amount += requested;
    payment.cancel_reason = Some(reason.clone());
    payment.cancel_history.push(CancelEntry {
        pg_tid: payment.pg_tid.clone(),
        amount: requested,
        cancelled_at: now,
        reason,
        receipt_url: receipt_url(&payment.imp_uid),
    });
    let emptied = payment.balance() == 0;
    if emptied || samchon {
        // samchon's fake marks a partial cancel `cancelled` too (and sends its webhook).
        payment.status = Status::Cancelled;
        payment.cancelled_at = now;
    }
    if emptied {
        payment.cash_receipt_issue = false;
    }
    let out = payment.to_json();
    if emptied || samchon {
        let snapshot = payment.clone();
        // The real API withdraws the cash receipt of a fully cancelled payment.
        if let Some(r) = st.receipts.get_mut(&key)
            && r.cancelled_at == 0
        {
            r.cancelled_at = now;
        }
        st.emit(&snapshot);
    }
    Ok(out)
}

fn cancel_not_found() -> ApiError {
    ApiError::business("취소할 결제건이 존재하지 않습니다. (no payment to cancel)")
}

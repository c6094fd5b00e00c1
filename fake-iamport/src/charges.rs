//! Card charges: `POST /subscribe/payments/onetime` (card number in the request,
//! optionally saved under a `customer_uid`) and `POST /subscribe/payments/again`
//! (a saved card). A decline is `code: 0` with a `failed` payment, as in the real API.

use rand::Rng;
use serde_json::Value;

use crate::cards::{Card, Stage};
use crate::customers::{card_from_body, decline, save};
use crate::envelope::ApiError;
use crate::fields::Body;
use crate::model::{Buyer, Method, Payment, Status};
use crate::state::{State, random_digits, random_hex};

/// Refuses a `merchant_uid` that already names a payment that is not `failed` (the
/// real API's duplicate-order guard, which makes retries at-most-once).
pub(crate) fn ensure_merchant_uid_free(st: &State, merchant_uid: &str) -> Result<(), ApiError> {
    if merchant_uid.len() > 80 {
        return Err(ApiError::bad_request(
            "`merchant_uid` must be at most 80 characters",
        ));
    }
    let taken = st
        .payments
        .values()
        .find(|p| p.merchant_uid == merchant_uid && p.status != Status::Failed);
    match taken {
        Some(p) => Err(ApiError::business(format!(
            "이미 결제가 진행된 merchant_uid입니다. 같은 주문번호로 다시 결제할 수 없습니다. (merchant_uid {merchant_uid:?} already used by {} which is {})",
            p.imp_uid,
            p.status.as_str()
        ))),
        None => Ok(()),
    }
}

/// The order fields common to `onetime` and `again`.
struct Order {
    merchant_uid: String,
    amount: i64,
    tax_free: i64,
    name: Option<String>,
    currency: String,
    card_quota: i64,
    buyer: Buyer,
    custom_data: Option<String>,
    notice_url: Option<String>,
}

fn order_from_body(body: &Body) -> Result<Order, ApiError> {
    let merchant_uid = body.str_req("merchant_uid")?;
    let amount = body.positive_amount("amount")?;
    let tax_free = body.amount_opt("tax_free")?.unwrap_or(0);
    if tax_free > amount {
        return Err(ApiError::bad_request(format!(
            "`tax_free` ({tax_free}) cannot exceed `amount` ({amount})"
        )));
    }
    let name = Some(body.str_req("name")?);
    let currency = body.str_opt("currency")?.unwrap_or_else(|| "KRW".into());
    if !["KRW", "USD", "EUR", "JPY"].contains(&currency.as_str()) {
        return Err(ApiError::bad_request(format!(
            "`currency` must be KRW, USD, EUR or JPY; got {currency:?}"
        )));
    }
    let card_quota = body.i64_opt("card_quota")?.unwrap_or(0);
    if !(0..=36).contains(&card_quota) {
        return Err(ApiError::bad_request("`card_quota` must be 0-36 months"));
    }
    // Only the shape of these is checked; the fake has no points or interest-free plans.
    body.bool_opt("interest_free_by_merchant")?;
    body.bool_opt("use_card_point")?;
    Ok(Order {
        merchant_uid,
        amount,
        tax_free,
        name,
        currency,
        card_quota,
        buyer: Buyer::from_body(body)?,
        custom_data: body.str_opt("custom_data")?,
        notice_url: body.url_opt("notice_url")?,
    })
}

/// Charges `card` for `order`, records the payment (paid or failed) and emits its webhook.
fn charge(
    st: &mut State,
    card: &Card,
    order: Order,
    customer: Option<(String, &str)>,
    now: i64,
) -> Payment {
    let declined = decline(st, card, Stage::Charge, now);
    let (card_code, card_name) = card.company();
    let mut rng = rand::thread_rng();
    let seq = st.next_seq();
    let (customer_uid, usage) = match customer {
        Some((uid, usage)) => (Some(uid), Some(usage.to_owned())),
        None => (None, None),
    };
    let payment = Payment {
        seq,
        imp_uid: st.new_imp_uid(),
        merchant_uid: order.merchant_uid,
        name: order.name,
        amount: order.amount,
        cancel_amount: 0,
        tax_free: order.tax_free,
        currency: order.currency,
        method: Method::Card {
            card_code: card_code.into(),
            card_name: card_name.into(),
            card_number: card.masked(),
            card_quota: order.card_quota,
            apply_num: if declined.is_some() {
                String::new()
            } else {
                format!("{}", rng.gen_range(10_000_000..100_000_000))
            },
        },
        status: if declined.is_some() {
            Status::Failed
        } else {
            Status::Paid
        },
        started_at: now,
        paid_at: if declined.is_some() { 0 } else { now },
        failed_at: if declined.is_some() { now } else { 0 },
        cancelled_at: 0,
        fail_reason: declined,
        cancel_reason: None,
        cancel_history: Vec::new(),
        buyer: order.buyer,
        customer_uid,
        customer_uid_usage: usage,
        custom_data: order.custom_data,
        notice_url: order.notice_url,
        pg_tid: format!("{}{}", random_hex(8), random_digits(&mut rng, 12)),
        cash_receipt_issue: false,
    };
    st.emit(&payment);
    st.add_payment(payment.clone());
    payment
}

/// `POST /subscribe/payments/onetime`.
pub(crate) fn onetime(st: &mut State, body: &Body, now: i64) -> Result<Value, ApiError> {
    let card = card_from_body(body)?;
    let customer_uid = body.str_opt("customer_uid")?;
    body.email_opt("customer_email")?;
    let order = order_from_body(body)?;
    ensure_merchant_uid_free(st, &order.merchant_uid)?;
    let payment = charge(
        st,
        &card,
        order,
        customer_uid.clone().map(|u| (u, "issue")),
        now,
    );
    // The card is kept as a billing key only when the charge went through.
    if let Some(uid) = customer_uid
        && payment.status == Status::Paid
    {
        save(st, &uid, card, body, now)?;
    }
    Ok(payment.to_json())
}

/// `POST /subscribe/payments/again`.
pub(crate) fn again(st: &mut State, body: &Body, now: i64) -> Result<Value, ApiError> {
    let customer_uid = body.str_req("customer_uid")?;
    let order = order_from_body(body)?;
    let Some(customer) = st.customers.get(&customer_uid) else {
        return Err(ApiError::business(format!(
            "등록되지 않은 customer_uid({customer_uid})입니다. 빌링키를 먼저 발급하세요. (no billing key for this customer_uid)"
        )));
    };
    let card = customer.card.clone();
    ensure_merchant_uid_free(st, &order.merchant_uid)?;
    let payment = charge(st, &card, order, Some((customer_uid, "payment")), now);
    Ok(payment.to_json())
}

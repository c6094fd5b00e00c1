//! Saved cards (billing keys): `GET/POST/DELETE /subscribe/customers/{customer_uid}`.

use serde_json::Value;

use crate::cards::{Card, EXPIRED_CARD, Stage, table_decline};
use crate::envelope::ApiError;
use crate::fields::Body;
use crate::model::Customer;
use crate::state::State;

/// Why the card company refuses `card` at `stage`, if it does: a test-set decline,
/// the documented table, or an expiry month already past.
pub(crate) fn decline(st: &State, card: &Card, stage: Stage, now: i64) -> Option<String> {
    if let Some(m) = st.custom_declines.get(&card.number) {
        return Some(m.clone());
    }
    if let Some(m) = table_decline(&card.number, stage) {
        return Some(m.to_owned());
    }
    card.expired_at(now).then(|| EXPIRED_CARD.to_owned())
}

/// Reads the card fields shared by customer registration and `onetime`.
pub(crate) fn card_from_body(body: &Body) -> Result<Card, ApiError> {
    let number = body.str_req("card_number")?;
    let expiry = body.str_req("expiry")?;
    let birth = body.str_req("birth")?;
    let pwd = body.str_opt("pwd_2digit")?;
    if let Some(cvc) = body.str_opt("cvc")?
        && (!(2..=4).contains(&cvc.len()) || !cvc.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ApiError::bad_request("`cvc` must be 2-4 digits"));
    }
    Card::parse(&number, &expiry, &birth, pwd.as_deref())
}

/// Saves (or replaces) the card of `customer_uid`; returns the saved object.
pub(crate) fn save(
    st: &mut State,
    customer_uid: &str,
    card: Card,
    body: &Body,
    now: i64,
) -> Result<Value, ApiError> {
    let inserted = st.customers.get(customer_uid).map_or(now, |c| c.inserted);
    let customer = Customer {
        customer_uid: customer_uid.to_owned(),
        card,
        name: body.str_opt("customer_name")?,
        tel: body.str_opt("customer_tel")?,
        email: body.email_opt("customer_email")?,
        addr: body.str_any(&["customer_addr", "customr_addr"])?,
        postcode: body.str_opt("customer_postcode")?,
        inserted,
        updated: now,
    };
    let out = customer.to_json();
    st.customers.insert(customer_uid.to_owned(), customer);
    Ok(out)
}

fn check_uid(customer_uid: &str) -> Result<(), ApiError> {
    if customer_uid.is_empty() || customer_uid.len() > 80 {
        return Err(ApiError::bad_request(
            "`customer_uid` must be 1-80 characters",
        ));
    }
    Ok(())
}

/// `POST /subscribe/customers/{customer_uid}`: issue a billing key for a card.
pub(crate) fn register(
    st: &mut State,
    customer_uid: &str,
    body: &Body,
    now: i64,
) -> Result<Value, ApiError> {
    check_uid(customer_uid)?;
    if let Some(in_body) = body.str_opt("customer_uid")?
        && in_body != customer_uid
    {
        return Err(ApiError::bad_request(format!(
            "`customer_uid` in the body ({in_body:?}) differs from the path ({customer_uid:?})"
        )));
    }
    let card = card_from_body(body)?;
    // Other fields are checked before the card company is "asked".
    body.email_opt("customer_email")?;
    if let Some(msg) = decline(st, &card, Stage::Register, now) {
        return Err(ApiError::business(msg));
    }
    save(st, customer_uid, card, body, now)
}

fn unknown(customer_uid: &str) -> ApiError {
    ApiError::not_found(format!(
        "요청하신 customer_uid({customer_uid})로 등록된 정보를 찾을 수 없습니다. (no billing key for this customer_uid)"
    ))
}

/// `GET /subscribe/customers/{customer_uid}`.
pub(crate) fn get<'a>(st: &'a State, customer_uid: &str) -> Result<&'a Customer, ApiError> {
    st.customers
        .get(customer_uid)
        .ok_or_else(|| unknown(customer_uid))
}

/// `DELETE /subscribe/customers/{customer_uid}`: returns the deleted object.
pub(crate) fn delete(st: &mut State, customer_uid: &str) -> Result<Value, ApiError> {
    st.customers
        .remove(customer_uid)
        .map(|c| c.to_json())
        .ok_or_else(|| unknown(customer_uid))
}

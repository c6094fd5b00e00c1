//! Payment reservations (billing keys): recorded only after the PG confirms the key,
//! read back with their password.

use crate::app::App;
use crate::error::ApiError;
use crate::store::StoredReservation;
use crate::validate;
use axum::http::StatusCode;
use payments_core::records::{Accessor, PaymentReservation, ReservationCreate};
use std::sync::Arc;
use uuid::Uuid;

fn data_context(id: Uuid) -> String {
    format!("reservation:{id}:data")
}

/// Opens a stored reservation into its wire record.
///
/// # Errors
/// `500` when the sealed PG object does not open.
pub fn to_record(app: &App, stored: &StoredReservation) -> Result<PaymentReservation, ApiError> {
    Ok(PaymentReservation {
        id: stored.id,
        vendor_code: stored.vendor.code,
        vendor: stored.vendor.clone(),
        source: stored.source.clone(),
        title: stored.title.clone(),
        data: app
            .data_keys
            .open_json(&data_context(stored.id), &stored.data_sealed)
            .map_err(ApiError::internal)?,
        created_at: stored.created_at,
    })
}

/// Records a billing key after the PG confirms it. For Toss, `source.id` is the
/// `customerKey` the billing key must be bound to.
///
/// # Errors
/// `400` for bad input or an unknown store, `409 DUPLICATE`, `404 VENDOR_NOT_FOUND` when
/// the PG does not know the key (or it belongs to another customer).
pub async fn create(
    app: Arc<App>,
    input: ReservationCreate,
) -> Result<PaymentReservation, ApiError> {
    validate::source("source", &input.source)?;
    validate::text("vendor.uid", &input.vendor.uid)?;
    validate::text("title", &input.title)?;
    validate::password("password", input.password.expose())?;
    let gateway = app.gateway(input.vendor.code, &input.vendor.store_id)?;
    if app
        .store
        .reservation_by_source(&input.source)
        .await?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "DUPLICATE",
            "source: this source already has a reservation",
        ));
    }
    let key = gateway
        .lookup_billing_key(&input.vendor.uid, &input.source.id)
        .await?;
    if let Some(customer_key) = &key.customer_key
        && customer_key != &input.source.id
    {
        return Err(ApiError::unprocessable(
            "CUSTOMER_MISMATCH",
            "source.id: the billing key belongs to another customer",
        ));
    }
    let id = app.ids.uuid();
    let stored = StoredReservation {
        id,
        vendor: input.vendor.clone(),
        source: input.source.clone(),
        title: input.title.clone(),
        password_hash: app.hash_password(input.password.expose()).await?,
        data_sealed: app.data_keys.seal_json(&data_context(id), &key.raw),
        created_at: app.clock.now(),
    };
    app.store.insert_reservation(&stored).await?;
    to_record(&app, &stored)
}

/// Reads a reservation by its source, with its password.
///
/// # Errors
/// `404` for an unknown source, `403` for a wrong password.
pub async fn get_by_source(
    app: Arc<App>,
    accessor: Accessor,
) -> Result<PaymentReservation, ApiError> {
    let stored = app
        .store
        .reservation_by_source(&accessor.source())
        .await?
        .ok_or_else(|| ApiError::not_found("no reservation for this source"))?;
    app.check_password(&stored.password_hash, accessor.password.expose())
        .await?;
    to_record(&app, &stored)
}

/// Reads a reservation by id, with its password.
///
/// # Errors
/// `404` for an unknown id, `403` for a wrong password.
pub async fn get_by_id(
    app: Arc<App>,
    id: Uuid,
    password: &str,
) -> Result<PaymentReservation, ApiError> {
    let stored = app
        .store
        .reservation_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no reservation {id}")))?;
    app.check_password(&stored.password_hash, password).await?;
    to_record(&app, &stored)
}

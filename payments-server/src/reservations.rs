//! Payment reservations (billing keys): recorded only after the PG confirms the key,
//! read back with their password. A billing key charges the card it stands for, so it is
//! stored sealed with the data keys, beside a keyed hash for finding it
//! ([`BILLING_KEY_LABEL`]); rows from before are sealed at start
//! ([`seal_stored_billing_keys`]).

use crate::app::App;
use crate::at_rest::BILLING_KEY_LABEL;
use crate::errors::{AccessError, FieldError, Internal, UnknownStore};
use crate::store::{PasswordRecord, RecordKind, StoreConflict, StoreError, StoredReservation};
use crate::{passwords, validate};
use payments_core::records::{Accessor, PaymentReservation, ReservationCreate, Vendor, VendorCode};
use payments_core::vendor::GatewayError;
use std::sync::Arc;
use uuid::Uuid;

fn data_context(id: Uuid) -> String {
    format!("reservation:{id}:data")
}

fn uid_context(id: Uuid) -> String {
    format!("reservation:{id}:vendor_uid")
}

/// The keyed hash a billing key is stored and found under (active data key).
fn uid_hash(app: &App, code: VendorCode, billing_key: &str) -> String {
    app.data_keys
        .lookup_hash(BILLING_KEY_LABEL, &uid_hash_input(code, billing_key))
}

/// What is hashed: the PG and the key, so one key string at two PGs hashes apart.
fn uid_hash_input(code: VendorCode, billing_key: &str) -> Vec<u8> {
    format!("{}\0{billing_key}", code.as_str()).into_bytes()
}

/// The stored reservation of a billing key, whichever data key its hash was made under.
async fn by_billing_key(
    app: &App,
    code: VendorCode,
    billing_key: &str,
) -> Result<Option<StoredReservation>, StoreError> {
    let input = uid_hash_input(code, billing_key);
    for hash in app.data_keys.lookup_hashes(BILLING_KEY_LABEL, &input) {
        if let Some(found) = app.store.reservation_by_vendor_uid(code, &hash).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The reservation's billing key, opened.
///
/// # Errors
/// [`Internal`] when the sealed billing key does not open.
pub fn billing_key(app: &App, stored: &StoredReservation) -> Result<String, Internal> {
    let bytes = app
        .data_keys
        .open(&uid_context(stored.id), &stored.vendor_uid_sealed)
        .map_err(Internal::new)?;
    String::from_utf8(bytes).map_err(Internal::new)
}

/// The reservation's PG, store and billing key.
///
/// # Errors
/// As [`billing_key`].
pub fn vendor(app: &App, stored: &StoredReservation) -> Result<Vendor, Internal> {
    Ok(Vendor {
        code: stored.vendor_code,
        store_id: stored.store_id.clone(),
        uid: billing_key(app, stored)?,
    })
}

/// Reservations sealed per batch by [`seal_stored_billing_keys`].
const SEAL_BATCH: u32 = 500;

/// Seals the billing keys of reservations stored before they were sealed (migration
/// 0009 kept them in the clear in `vendor_uid_hash`): each one's clear key is replaced by
/// its keyed hash and sealed form. Runs at start, before the server serves; returns how
/// many it sealed. Several instances starting at once each seal what is left.
///
/// # Errors
/// Storage failures (the server does not start: it would not find those reservations).
pub async fn seal_stored_billing_keys(app: &App) -> Result<u64, StoreError> {
    let mut sealed = 0;
    loop {
        let batch = app.store.unsealed_reservations(SEAL_BATCH).await?;
        // Each row of the batch is sealed (here or by another instance), so the next
        // batch holds only rows not seen yet.
        for (id, code, uid) in &batch {
            let hash = uid_hash(app, *code, uid);
            let sealed_uid = app.data_keys.seal(&uid_context(*id), uid.as_bytes());
            if app
                .store
                .seal_reservation_uid(*id, &hash, &sealed_uid)
                .await?
            {
                sealed += 1;
            }
        }
        if batch.len() < SEAL_BATCH as usize {
            break;
        }
    }
    if sealed > 0 {
        tracing::info!(sealed, "billing keys of earlier reservations sealed");
    }
    Ok(sealed)
}

/// Why a reservation was not recorded or read.
#[derive(Debug, thiserror::Error)]
pub enum ReservationError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The vendor's store is not configured.
    #[error(transparent)]
    UnknownStore(#[from] UnknownStore),
    /// No such reservation, or the wrong password.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The source already holds a reservation.
    #[error("source: this source already has a reservation")]
    SourceTaken,
    /// The billing key is recorded under another source.
    #[error("vendor.uid: this billing key is already recorded")]
    KeyTaken,
    /// The Toss billing key is bound to another `customerKey` than the source id.
    #[error("source.id: the billing key belongs to another customer")]
    CustomerMismatch,
    /// The PG says the billing key was deleted.
    #[error("vendor.uid: the billing key was deleted at the PG")]
    Deleted,
    /// The PG failed or refused (an unknown key is [`GatewayError::NotFound`]).
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A sealed value did not open, or hashing failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<StoreError> for ReservationError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(StoreConflict::Source) => Self::SourceTaken,
            StoreError::Conflict(StoreConflict::VendorUid) => Self::KeyTaken,
            other => Self::Store(other),
        }
    }
}

/// Opens a stored reservation into its wire record.
///
/// # Errors
/// [`Internal`] when the sealed PG object or billing key does not open.
pub fn to_record(app: &App, stored: &StoredReservation) -> Result<PaymentReservation, Internal> {
    Ok(PaymentReservation {
        id: stored.id,
        vendor_code: stored.vendor_code,
        vendor: vendor(app, stored)?,
        source: stored.source.clone(),
        title: stored.title.clone(),
        data: app
            .data_keys
            .open_json(&data_context(stored.id), &stored.data_sealed)
            .map_err(Internal::new)?,
        created_at: stored.created_at,
    })
}

/// Records a billing key after the PG confirms it. For Toss, `source.id` is the
/// `customerKey` the billing key must be bound to.
///
/// # Errors
/// [`ReservationError`]: bad input, an unknown store, a taken source or key, a key the
/// PG does not know ([`GatewayError::NotFound`]) or that belongs to another customer.
pub async fn create(
    app: Arc<App>,
    input: ReservationCreate,
) -> Result<PaymentReservation, ReservationError> {
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
        return Err(ReservationError::SourceTaken);
    }
    let key = gateway
        .lookup_billing_key(&input.vendor.uid, &input.source.id)
        .await?;
    if let Some(customer_key) = &key.customer_key
        && customer_key != &input.source.id
    {
        return Err(ReservationError::CustomerMismatch);
    }
    if key.deleted {
        return Err(ReservationError::Deleted);
    }
    // The unique rule sees hashes under the active key only: one made under a retired
    // data key is found here.
    if by_billing_key(&app, input.vendor.code, &input.vendor.uid)
        .await?
        .is_some()
    {
        return Err(ReservationError::KeyTaken);
    }
    let id = app.ids.uuid();
    let stored = StoredReservation {
        id,
        vendor_code: input.vendor.code,
        store_id: input.vendor.store_id.clone(),
        vendor_uid_hash: uid_hash(&app, input.vendor.code, &input.vendor.uid),
        vendor_uid_sealed: app
            .data_keys
            .seal(&uid_context(id), input.vendor.uid.as_bytes()),
        source: input.source.clone(),
        title: input.title.clone(),
        password_hash: app.hash_password(input.password.expose()),
        data_sealed: app.data_keys.seal_json(&data_context(id), &key.raw),
        created_at: app.clock.now(),
    };
    app.store.insert_reservation(&stored).await?;
    Ok(to_record(&app, &stored)?)
}

/// Reads a reservation by its source, with its password.
///
/// # Errors
/// [`AccessError::NotFound`] for an unknown source, [`AccessError::WrongPassword`].
pub async fn get_by_source(
    app: Arc<App>,
    accessor: Accessor,
) -> Result<PaymentReservation, AccessError> {
    let stored = app
        .store
        .reservation_by_source(&accessor.source())
        .await?
        .ok_or_else(|| AccessError::NotFound("no reservation for this source".into()))?;
    check_password(&app, &stored, accessor.password.expose()).await?;
    Ok(to_record(&app, &stored)?)
}

/// Reads a reservation by id, with its password.
///
/// # Errors
/// [`AccessError::NotFound`] for an unknown id, [`AccessError::WrongPassword`].
pub async fn get_by_id(
    app: Arc<App>,
    id: Uuid,
    password: &str,
) -> Result<PaymentReservation, AccessError> {
    let stored = app
        .store
        .reservation_by_id(id)
        .await?
        .ok_or_else(|| AccessError::NotFound(format!("no reservation {id}")))?;
    check_password(&app, &stored, password).await?;
    Ok(to_record(&app, &stored)?)
}

/// The password check of a reservation, behind its guess limiter (reads and charges).
///
/// # Errors
/// As [`passwords::check`].
pub async fn check_password(
    app: &App,
    stored: &StoredReservation,
    password: &str,
) -> Result<(), AccessError> {
    let record = PasswordRecord {
        kind: RecordKind::Reservation,
        id: stored.id,
    };
    passwords::check(app, record, record, &stored.password_hash, password).await
}

/// Follows a PG's word that a billing key was deleted (PortOne V2's `BillingKey.Deleted`):
/// asks the PG, and when it confirms, records the deletion so that charges on the
/// reservation are refused. Returns `None` when no reservation holds the key, otherwise
/// whether this call recorded the deletion (`false`: the PG says the key is live, or it
/// was recorded before).
///
/// # Errors
/// The reservation's store is not configured; PG and storage failures.
pub async fn follow_deletion(
    app: &App,
    code: VendorCode,
    billing_key: &str,
) -> Result<Option<bool>, ReservationError> {
    let Some(stored) = by_billing_key(app, code, billing_key).await? else {
        tracing::warn!(vendor = %code, "billing-key webhook for an unknown reservation");
        return Ok(None);
    };
    let gateway = app.gateway(stored.vendor_code, &stored.store_id)?;
    let deleted = match gateway
        .lookup_billing_key(billing_key, &stored.source.id)
        .await
    {
        Ok(key) => key.deleted,
        Err(GatewayError::NotFound(_)) => true,
        Err(other) => return Err(other.into()),
    };
    if !deleted {
        tracing::warn!(reservation = %stored.id, "a billing-key deletion the PG does not confirm");
        return Ok(Some(false));
    }
    let recorded = app
        .store
        .mark_reservation_deleted(stored.id, app.clock.now())
        .await?;
    if recorded {
        tracing::info!(reservation = %stored.id, "billing key deleted at the PG");
    }
    Ok(Some(recorded))
}

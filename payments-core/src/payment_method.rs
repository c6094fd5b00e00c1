//! [`PaymentMethod`]: what pays for an order.
//!
//! - a **saved card**: a billing key the server holds as a reservation, named by the
//!   reservation's id or by the caller's source, unlocked by the reservation's password;
//! - a one-off **PG payment** the customer made at a PG (card, virtual account or bank
//!   transfer), named by the PG ([`Vendor`]: vendor code, store and the PG's uid);
//! - a **coupon**, by code.
//!
//! Serde is a tagged enum: `{"type": "saved_card", "reservation": {"id": "…"},
//! "password": "…"}`, `{"type": "card", "vendor": {"code": "iamport", "store_id": "…",
//! "uid": "imp_…"}}`, `{"type": "virtual_account", …}`, `{"type": "transfer", …}`,
//! `{"type": "coupon", "code": "XXXXX-XXXXX-XXXXX-XXXXX"}`. Deserializing runs
//! [`PaymentMethod::validate`], so a method read from a request never has an empty id
//! or password.

use crate::coupon::CouponCode;
use crate::records::{Source, Vendor};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which saved card: the server's reservation id, or the caller's source it was saved
/// under. Serde: `{"id": "<uuid>"}` or `{"source": {"schema", "table", "id"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationRef {
    /// By the reservation's id (the wire's `PATCH /payments/reservations/{id}`).
    Id(Uuid),
    /// By the caller's source (the wire's `PATCH /payments/reservations/get`).
    Source(Source),
}

/// A method field that must not be empty was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentMethodError {
    /// The field (a dotted path such as `vendor.uid` or `reservation.source.table`) is
    /// empty.
    #[error("{field} must not be empty")]
    EmptyField {
        /// The dotted path of the empty field.
        field: &'static str,
    },
}

/// What pays for an order. See the module docs for the serde shape.
///
/// `Debug` never prints the saved card's password (it is a [`Secret`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "MethodRepr")]
pub enum PaymentMethod {
    /// A saved card (billing key) held by the server as a reservation.
    SavedCard {
        /// Which reservation.
        reservation: ReservationRef,
        /// The reservation's own password.
        password: Secret<String>,
    },
    /// A card payment made at a PG.
    Card {
        /// The payment at the PG.
        vendor: Vendor,
    },
    /// A virtual-account (deposit) payment made at a PG.
    VirtualAccount {
        /// The payment at the PG.
        vendor: Vendor,
    },
    /// A bank transfer made at a PG.
    Transfer {
        /// The payment at the PG.
        vendor: Vendor,
    },
    /// A coupon.
    Coupon {
        /// The coupon's code.
        code: CouponCode,
    },
}

/// The unchecked serde shape of [`PaymentMethod`].
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum MethodRepr {
    SavedCard {
        reservation: ReservationRef,
        password: Secret<String>,
    },
    Card {
        vendor: Vendor,
    },
    VirtualAccount {
        vendor: Vendor,
    },
    Transfer {
        vendor: Vendor,
    },
    Coupon {
        code: CouponCode,
    },
}

impl TryFrom<MethodRepr> for PaymentMethod {
    type Error = PaymentMethodError;

    fn try_from(repr: MethodRepr) -> Result<Self, Self::Error> {
        let method = match repr {
            MethodRepr::SavedCard {
                reservation,
                password,
            } => PaymentMethod::SavedCard {
                reservation,
                password,
            },
            MethodRepr::Card { vendor } => PaymentMethod::Card { vendor },
            MethodRepr::VirtualAccount { vendor } => PaymentMethod::VirtualAccount { vendor },
            MethodRepr::Transfer { vendor } => PaymentMethod::Transfer { vendor },
            MethodRepr::Coupon { code } => PaymentMethod::Coupon { code },
        };
        method.validate()?;
        Ok(method)
    }
}

fn require(value: &str, field: &'static str) -> Result<(), PaymentMethodError> {
    if value.trim().is_empty() {
        Err(PaymentMethodError::EmptyField { field })
    } else {
        Ok(())
    }
}

impl PaymentMethod {
    /// A saved card named by its reservation id.
    ///
    /// # Errors
    /// [`PaymentMethodError::EmptyField`] (`password`) for an empty password.
    pub fn saved_card_by_id(
        id: Uuid,
        password: Secret<String>,
    ) -> Result<PaymentMethod, PaymentMethodError> {
        Self::checked(PaymentMethod::SavedCard {
            reservation: ReservationRef::Id(id),
            password,
        })
    }

    /// A saved card named by the caller's source.
    ///
    /// # Errors
    /// [`PaymentMethodError::EmptyField`] for an empty source field or password.
    pub fn saved_card_by_source(
        source: Source,
        password: Secret<String>,
    ) -> Result<PaymentMethod, PaymentMethodError> {
        Self::checked(PaymentMethod::SavedCard {
            reservation: ReservationRef::Source(source),
            password,
        })
    }

    /// A card payment made at a PG.
    ///
    /// # Errors
    /// [`PaymentMethodError::EmptyField`] for an empty `vendor.store_id` or `vendor.uid`.
    pub fn card(vendor: Vendor) -> Result<PaymentMethod, PaymentMethodError> {
        Self::checked(PaymentMethod::Card { vendor })
    }

    /// A virtual-account payment made at a PG.
    ///
    /// # Errors
    /// [`PaymentMethodError::EmptyField`] for an empty `vendor.store_id` or `vendor.uid`.
    pub fn virtual_account(vendor: Vendor) -> Result<PaymentMethod, PaymentMethodError> {
        Self::checked(PaymentMethod::VirtualAccount { vendor })
    }

    /// A bank transfer made at a PG.
    ///
    /// # Errors
    /// [`PaymentMethodError::EmptyField`] for an empty `vendor.store_id` or `vendor.uid`.
    pub fn transfer(vendor: Vendor) -> Result<PaymentMethod, PaymentMethodError> {
        Self::checked(PaymentMethod::Transfer { vendor })
    }

    /// A coupon (a [`CouponCode`] is well-formed by construction, so this cannot fail).
    pub fn coupon(code: CouponCode) -> PaymentMethod {
        PaymentMethod::Coupon { code }
    }

    fn checked(method: PaymentMethod) -> Result<PaymentMethod, PaymentMethodError> {
        method.validate()?;
        Ok(method)
    }

    /// Checks that no id or password is empty (or only whitespace). The constructors and
    /// deserialization call it; call it yourself after building a variant directly.
    ///
    /// # Errors
    /// [`PaymentMethodError::EmptyField`] naming the first empty field.
    pub fn validate(&self) -> Result<(), PaymentMethodError> {
        match self {
            PaymentMethod::SavedCard {
                reservation,
                password,
            } => {
                if let ReservationRef::Source(source) = reservation {
                    require(&source.schema, "reservation.source.schema")?;
                    require(&source.table, "reservation.source.table")?;
                    require(&source.id, "reservation.source.id")?;
                }
                require(password.expose(), "password")
            }
            PaymentMethod::Card { vendor }
            | PaymentMethod::VirtualAccount { vendor }
            | PaymentMethod::Transfer { vendor } => {
                require(&vendor.store_id, "vendor.store_id")?;
                require(&vendor.uid, "vendor.uid")
            }
            PaymentMethod::Coupon { .. } => Ok(()),
        }
    }

    /// The serde tag: `saved_card`, `card`, `virtual_account`, `transfer` or `coupon`.
    pub fn type_name(&self) -> &'static str {
        match self {
            PaymentMethod::SavedCard { .. } => "saved_card",
            PaymentMethod::Card { .. } => "card",
            PaymentMethod::VirtualAccount { .. } => "virtual_account",
            PaymentMethod::Transfer { .. } => "transfer",
            PaymentMethod::Coupon { .. } => "coupon",
        }
    }

    /// The PG payment, for the card, virtual-account and transfer methods.
    pub fn vendor(&self) -> Option<&Vendor> {
        match self {
            PaymentMethod::Card { vendor }
            | PaymentMethod::VirtualAccount { vendor }
            | PaymentMethod::Transfer { vendor } => Some(vendor),
            PaymentMethod::SavedCard { .. } | PaymentMethod::Coupon { .. } => None,
        }
    }
}

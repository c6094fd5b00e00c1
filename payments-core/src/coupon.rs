//! Coupons: issued → registered to an owner → redeemed once for an order.
//!
//! - A coupon is worth a fixed amount ([`CouponValue::Amount`]) or one unit of a product
//!   ([`CouponValue::Product`]) and expires at a fixed time: it is usable while
//!   `now < expires_at`.
//! - [`Coupon::register`] binds an issued coupon to its owner; only that owner can
//!   [`Coupon::redeem`] it, once, for an order it applies to (a product coupon needs the
//!   product in the order; an amount coupon needs the order's currency). Every refusal is
//!   a distinct [`CouponError`].
//! - [`Coupon::gift`] issues a coupon straight to a recipient (already registered to
//!   them), with the giver and a message.
//! - Codes ([`CouponCode`]) are 20 symbols of Crockford base32 (100 bits) drawn from the
//!   injected [`IdGen`], shown in groups of five: `7K3QM-2XH9P-...`.
//!
//! Time is always an argument: nothing here reads a clock.

use crate::clock::IdGen;
use crate::money::{Currency, Money};
use crate::order::{Order, OrderId, ProductId};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The code alphabet: Crockford base32 (digits and upper-case letters without I, L, O and
/// U, so a code read aloud or off a receipt is unambiguous). 32 symbols = 5 bits each.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols in a code: 20 × 5 bits = 100 bits of entropy, well above the 80 an online
/// guesser would need to be kept out.
pub const CODE_LEN: usize = 20;

// Each symbol carries 5 bits; keep at least 80 bits if CODE_LEN is ever changed.
const _: () = assert!(CODE_LEN * 5 >= 80 && ALPHABET.len() == 32);

/// Symbols per group in a code's display form (`XXXXX-XXXXX-XXXXX-XXXXX`).
pub const GROUP_LEN: usize = 5;

/// Why a text is not a coupon code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponCodeError {
    /// A character outside the alphabet (after case folding and the Crockford aliases).
    #[error("invalid character {ch:?} at position {position} of the coupon code")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its 0-based character index in the input.
        position: usize,
    },
    /// Not [`CODE_LEN`] symbols once separators are removed.
    #[error("a coupon code has {expected} symbols, got {found}")]
    WrongLength {
        /// [`CODE_LEN`].
        expected: usize,
        /// How many symbols the input had.
        found: usize,
    },
}

/// A well-formed coupon code: [`CODE_LEN`] symbols of [`ALPHABET`].
///
/// `Display` and serde use the grouped form (`7K3QM-2XH9P-0ABCD-EFGH1`); parsing accepts
/// any case, `-` and spaces anywhere, and the Crockford aliases `O`→`0`, `I`/`L`→`1`.
/// `Debug` shows only the first group, so a code that is still unregistered (and so
/// claimable by whoever reads it) does not end up whole in logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CouponCode(String);

impl CouponCode {
    /// Draws a fresh code from `ids` (`ids.code(ALPHABET, CODE_LEN)`).
    ///
    /// # Errors
    /// A [`CouponCodeError`] when the generator returns something that is not a code (a
    /// broken `IdGen`); the real generators never do.
    pub fn generate(ids: &dyn IdGen) -> Result<CouponCode, CouponCodeError> {
        Self::parse(&ids.code(ALPHABET, CODE_LEN))
    }

    /// Parses a code typed or scanned by a person (see the type's docs for what is
    /// accepted).
    ///
    /// # Errors
    /// [`CouponCodeError::InvalidChar`] for a character outside the alphabet,
    /// [`CouponCodeError::WrongLength`] when there are not [`CODE_LEN`] symbols.
    pub fn parse(text: &str) -> Result<CouponCode, CouponCodeError> {
        let mut symbols = String::with_capacity(CODE_LEN);
        for (position, ch) in text.chars().enumerate() {
            let folded = match ch.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            if !folded.is_ascii() || !ALPHABET.contains(&(folded as u8)) {
                return Err(CouponCodeError::InvalidChar { ch, position });
            }
            symbols.push(folded);
        }
        // Every pushed symbol is one ASCII byte, so len() counts symbols.
        if symbols.len() != CODE_LEN {
            return Err(CouponCodeError::WrongLength {
                expected: CODE_LEN,
                found: symbols.len(),
            });
        }
        Ok(CouponCode(symbols))
    }

    /// The canonical form: [`CODE_LEN`] symbols, no separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The code is ASCII, so byte chunks are symbol groups.
        for (i, group) in self.0.as_bytes().chunks(GROUP_LEN).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.0.get(..GROUP_LEN).unwrap_or("");
        write!(f, "CouponCode({head}-…)")
    }
}

impl FromStr for CouponCode {
    type Err = CouponCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CouponCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CouponCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Who holds a coupon (the caller's customer or member id). Serialized as a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OwnerId(String);

impl OwnerId {
    /// Wraps an identifier; operations refuse an empty one.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for OwnerId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// What a coupon is worth. Serde: `{"kind": "amount", "amount": {...}}` or
/// `{"kind": "product", "product_id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CouponValue {
    /// A fixed discount, capped at the order's total, in the order's currency.
    Amount {
        /// The discount; positive.
        amount: Money,
    },
    /// One unit of a product, at the order's snapshot price; the order must contain it.
    Product {
        /// The product.
        product_id: ProductId,
    },
}

/// A gift's sender and note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gift {
    /// Who gave it.
    pub giver: OwnerId,
    /// The giver's message to the recipient.
    pub message: String,
}

/// Where a coupon is in its life. Serde: tagged by `"status"` (`{"status": "issued"}`,
/// `{"status": "registered", "owner", "registered_at"}`, `{"status": "redeemed", …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CouponState {
    /// Issued, not yet anyone's.
    Issued,
    /// Registered to an owner, not yet used.
    Registered {
        /// The owner.
        owner: OwnerId,
        /// When it was registered.
        #[serde(with = "crate::timestamp")]
        registered_at: Timestamp,
    },
    /// Used, once, for an order. Final.
    Redeemed {
        /// The owner who used it.
        owner: OwnerId,
        /// The order it was used for.
        order_id: OrderId,
        /// The discount it gave.
        discount: Money,
        /// When.
        #[serde(with = "crate::timestamp")]
        redeemed_at: Timestamp,
    },
}

/// Why a coupon operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponError {
    /// The code generator produced something that is not a code.
    #[error("coupon code: {0}")]
    Code(#[from] CouponCodeError),
    /// An amount coupon worth zero.
    #[error("a coupon's amount must be positive")]
    ZeroAmount,
    /// `expires_at` is not after `issued_at`.
    #[error("a coupon must expire after it is issued")]
    InvalidExpiry {
        /// When it would be issued.
        issued_at: Timestamp,
        /// When it would expire.
        expires_at: Timestamp,
    },
    /// An empty owner (or giver, or recipient) id.
    #[error("{field} must not be empty")]
    EmptyOwner {
        /// `owner`, `giver` or `recipient`.
        field: &'static str,
    },
    /// A gift whose giver is its recipient.
    #[error("a gift's recipient must not be its giver")]
    GiftToSelf,
    /// Used or registered at or after its expiry.
    #[error("the coupon expired at {}", crate::timestamp::format(.expires_at))]
    Expired {
        /// The code.
        code: CouponCode,
        /// When it expired.
        expires_at: Timestamp,
    },
    /// Registering a coupon that already has an owner.
    #[error("the coupon is already registered")]
    AlreadyRegistered {
        /// The code.
        code: CouponCode,
    },
    /// Redeeming a coupon nobody registered.
    #[error("the coupon is not registered to anyone")]
    NotRegistered {
        /// The code.
        code: CouponCode,
    },
    /// Redeeming someone else's coupon.
    #[error("the coupon belongs to another owner")]
    ForeignOwner {
        /// The code.
        code: CouponCode,
    },
    /// Registering or redeeming a coupon that was already used.
    #[error("the coupon was already used for order {order_id}")]
    AlreadyRedeemed {
        /// The code.
        code: CouponCode,
        /// The order it was used for.
        order_id: OrderId,
    },
    /// A product coupon for an order without the product.
    #[error("order {order_id} does not contain product {product_id}")]
    ProductNotInOrder {
        /// The code.
        code: CouponCode,
        /// The coupon's product.
        product_id: ProductId,
        /// The order.
        order_id: OrderId,
    },
    /// An amount coupon for an order in another currency.
    #[error("the coupon is in {coupon}, the order in {order}")]
    CurrencyMismatch {
        /// The code.
        code: CouponCode,
        /// The coupon's currency.
        coupon: Currency,
        /// The order's currency.
        order: Currency,
    },
}

/// What happened to a coupon, for whoever reacts (notifications, accounting). Serde:
/// tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponEvent {
    /// An issued coupon was registered to an owner.
    Registered {
        /// The code.
        code: CouponCode,
        /// The new owner.
        owner: OwnerId,
        /// When.
        #[serde(with = "crate::timestamp")]
        at: Timestamp,
    },
    /// A coupon was given: issued straight to its recipient.
    Gifted {
        /// The code.
        code: CouponCode,
        /// Who gave it.
        giver: OwnerId,
        /// Who owns it now.
        recipient: OwnerId,
        /// The giver's message.
        message: String,
        /// When.
        #[serde(with = "crate::timestamp")]
        at: Timestamp,
    },
    /// A coupon was used for an order.
    Redeemed {
        /// The code.
        code: CouponCode,
        /// The owner who used it.
        owner: OwnerId,
        /// The order.
        order_id: OrderId,
        /// The discount it gave.
        discount: Money,
        /// When.
        #[serde(with = "crate::timestamp")]
        at: Timestamp,
    },
}

/// The result of [`Coupon::redeem`]: the discount to take off the order and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    /// What the coupon takes off the order's total (never more than the total).
    pub discount: Money,
    /// The [`CouponEvent::Redeemed`] event.
    pub event: CouponEvent,
}

/// A coupon: its code, value, validity window, state and, for gifts, the giver.
///
/// Serde for storage: `{"code", "value", "issued_at", "expires_at", "state", "gift"}`;
/// deserializing re-checks the code, a positive amount and the expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CouponRepr")]
pub struct Coupon {
    code: CouponCode,
    value: CouponValue,
    #[serde(with = "crate::timestamp")]
    issued_at: Timestamp,
    #[serde(with = "crate::timestamp")]
    expires_at: Timestamp,
    state: CouponState,
    gift: Option<Gift>,
}

#[derive(Deserialize)]
struct CouponRepr {
    code: CouponCode,
    value: CouponValue,
    #[serde(with = "crate::timestamp")]
    issued_at: Timestamp,
    #[serde(with = "crate::timestamp")]
    expires_at: Timestamp,
    state: CouponState,
    #[serde(default)]
    gift: Option<Gift>,
}

impl TryFrom<CouponRepr> for Coupon {
    type Error = CouponError;

    fn try_from(repr: CouponRepr) -> Result<Self, Self::Error> {
        check_terms(&repr.value, repr.issued_at, repr.expires_at)?;
        Ok(Coupon {
            code: repr.code,
            value: repr.value,
            issued_at: repr.issued_at,
            expires_at: repr.expires_at,
            state: repr.state,
            gift: repr.gift,
        })
    }
}

fn check_terms(
    value: &CouponValue,
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> Result<(), CouponError> {
    if let CouponValue::Amount { amount } = value
        && amount.is_zero()
    {
        return Err(CouponError::ZeroAmount);
    }
    if expires_at <= issued_at {
        return Err(CouponError::InvalidExpiry {
            issued_at,
            expires_at,
        });
    }
    Ok(())
}

fn non_empty(owner: &OwnerId, field: &'static str) -> Result<(), CouponError> {
    if owner.as_str().is_empty() {
        Err(CouponError::EmptyOwner { field })
    } else {
        Ok(())
    }
}

impl Coupon {
    /// Issues an unregistered coupon with a fresh code from `ids`.
    ///
    /// # Errors
    /// [`CouponError::ZeroAmount`] for an amount coupon worth zero;
    /// [`CouponError::InvalidExpiry`] when `expires_at <= issued_at`;
    /// [`CouponError::Code`] when `ids` returns a malformed code.
    pub fn issue(
        ids: &dyn IdGen,
        value: CouponValue,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Coupon, CouponError> {
        check_terms(&value, issued_at, expires_at)?;
        Ok(Coupon {
            code: CouponCode::generate(ids)?,
            value,
            issued_at,
            expires_at,
            state: CouponState::Issued,
            gift: None,
        })
    }

    /// Issues a coupon straight to `recipient` (registered to them at `at`) as a gift from
    /// `giver` with `message`.
    ///
    /// # Errors
    /// [`CouponError::EmptyOwner`] for an empty giver or recipient;
    /// [`CouponError::GiftToSelf`] when they are the same; otherwise as [`Coupon::issue`].
    pub fn gift(
        ids: &dyn IdGen,
        value: CouponValue,
        giver: OwnerId,
        recipient: OwnerId,
        message: impl Into<String>,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(Coupon, CouponEvent), CouponError> {
        non_empty(&giver, "giver")?;
        non_empty(&recipient, "recipient")?;
        if giver == recipient {
            return Err(CouponError::GiftToSelf);
        }
        let mut coupon = Coupon::issue(ids, value, at, expires_at)?;
        let message = message.into();
        coupon.state = CouponState::Registered {
            owner: recipient.clone(),
            registered_at: at,
        };
        coupon.gift = Some(Gift {
            giver: giver.clone(),
            message: message.clone(),
        });
        let event = CouponEvent::Gifted {
            code: coupon.code.clone(),
            giver,
            recipient,
            message,
            at,
        };
        Ok((coupon, event))
    }

    fn check_not_expired(&self, at: Timestamp) -> Result<(), CouponError> {
        if at >= self.expires_at {
            Err(CouponError::Expired {
                code: self.code.clone(),
                expires_at: self.expires_at,
            })
        } else {
            Ok(())
        }
    }

    /// Registers an issued coupon to `owner` at `at`.
    ///
    /// # Errors
    /// [`CouponError::EmptyOwner`]; [`CouponError::AlreadyRedeemed`] for a used coupon;
    /// [`CouponError::AlreadyRegistered`] when it has an owner (even `owner` itself: a
    /// registration happens once); [`CouponError::Expired`] when `at >= expires_at`.
    /// The coupon is unchanged on error.
    pub fn register(&mut self, owner: OwnerId, at: Timestamp) -> Result<CouponEvent, CouponError> {
        non_empty(&owner, "owner")?;
        match &self.state {
            CouponState::Redeemed { order_id, .. } => {
                return Err(CouponError::AlreadyRedeemed {
                    code: self.code.clone(),
                    order_id: order_id.clone(),
                });
            }
            CouponState::Registered { .. } => {
                return Err(CouponError::AlreadyRegistered {
                    code: self.code.clone(),
                });
            }
            CouponState::Issued => {}
        }
        self.check_not_expired(at)?;
        self.state = CouponState::Registered {
            owner: owner.clone(),
            registered_at: at,
        };
        Ok(CouponEvent::Registered {
            code: self.code.clone(),
            owner,
            at,
        })
    }

    /// Uses the coupon, once, for `order` on behalf of `owner` at `at`, and returns the
    /// discount: an amount coupon gives its amount capped at the order's total; a product
    /// coupon gives one unit of the product at the order's snapshot unit price.
    ///
    /// # Errors
    /// In this order: [`CouponError::AlreadyRedeemed`], [`CouponError::NotRegistered`],
    /// [`CouponError::ForeignOwner`] (registered to someone other than `owner`),
    /// [`CouponError::Expired`] (`at >= expires_at`), then
    /// [`CouponError::CurrencyMismatch`] or [`CouponError::ProductNotInOrder`].
    /// The coupon is unchanged on error.
    pub fn redeem(
        &mut self,
        owner: &OwnerId,
        order: &Order,
        at: Timestamp,
    ) -> Result<Redemption, CouponError> {
        match &self.state {
            CouponState::Redeemed { order_id, .. } => {
                return Err(CouponError::AlreadyRedeemed {
                    code: self.code.clone(),
                    order_id: order_id.clone(),
                });
            }
            CouponState::Issued => {
                return Err(CouponError::NotRegistered {
                    code: self.code.clone(),
                });
            }
            CouponState::Registered { owner: holder, .. } if holder != owner => {
                return Err(CouponError::ForeignOwner {
                    code: self.code.clone(),
                });
            }
            CouponState::Registered { .. } => {}
        }
        self.check_not_expired(at)?;
        let discount = self.discount_for(order)?;
        self.state = CouponState::Redeemed {
            owner: owner.clone(),
            order_id: order.id().clone(),
            discount,
            redeemed_at: at,
        };
        Ok(Redemption {
            discount,
            event: CouponEvent::Redeemed {
                code: self.code.clone(),
                owner: owner.clone(),
                order_id: order.id().clone(),
                discount,
                at,
            },
        })
    }

    /// The discount this coupon would give `order`, ignoring state and expiry.
    fn discount_for(&self, order: &Order) -> Result<Money, CouponError> {
        match &self.value {
            CouponValue::Amount { amount } => {
                amount
                    .checked_min(order.total())
                    .map_err(|_| CouponError::CurrencyMismatch {
                        code: self.code.clone(),
                        coupon: amount.currency(),
                        order: order.currency(),
                    })
            }
            CouponValue::Product { product_id } => order
                .line_for(product_id)
                .map(|line| line.unit_price())
                .ok_or_else(|| CouponError::ProductNotInOrder {
                    code: self.code.clone(),
                    product_id: product_id.clone(),
                    order_id: order.id().clone(),
                }),
        }
    }

    /// The code.
    pub fn code(&self) -> &CouponCode {
        &self.code
    }

    /// What it is worth.
    pub fn value(&self) -> &CouponValue {
        &self.value
    }

    /// When it was issued.
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }

    /// When it stops being usable (it is usable strictly before this instant).
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// Where it is in its life.
    pub fn state(&self) -> &CouponState {
        &self.state
    }

    /// Its owner, once registered (or redeemed).
    pub fn owner(&self) -> Option<&OwnerId> {
        match &self.state {
            CouponState::Issued => None,
            CouponState::Registered { owner, .. } | CouponState::Redeemed { owner, .. } => {
                Some(owner)
            }
        }
    }

    /// Whether it was used.
    pub fn is_redeemed(&self) -> bool {
        matches!(self.state, CouponState::Redeemed { .. })
    }

    /// The giver and message when it was issued as a gift.
    pub fn gift_info(&self) -> Option<&Gift> {
        self.gift.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_crockford_without_ambiguous_letters() {
        assert_eq!(ALPHABET.len(), 32);
        for banned in [b'I', b'L', b'O', b'U'] {
            assert!(!ALPHABET.contains(&banned));
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 32, "no duplicate symbols");
    }

    #[test]
    fn debug_shows_only_the_first_group() {
        let code = CouponCode::parse("ABCDE-FGHJK-MNPQR-STVWX").unwrap();
        assert_eq!(format!("{code:?}"), "CouponCode(ABCDE-…)");
        assert_eq!(code.to_string(), "ABCDE-FGHJK-MNPQR-STVWX");
    }
}

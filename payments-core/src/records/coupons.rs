//! Coupon and gift records of the wire protocol (`docs/coupons.md`), shared by the server
//! and the SDK. Field names are snake_case; timestamps are the wire's RFC 3339 with
//! milliseconds.
//!
//! The domain rules live in [`crate::coupon`]; these records are what crosses the wire:
//! the requests (`CouponIssue`, `GiftCreate`, `CouponRegister`, `CouponAccess`,
//! `CouponRedeem`) and the answers (`CouponRecord`, `CouponsIssued`, `CouponRedemption`).

use crate::coupon::{Coupon, CouponCode, CouponState, CouponValue, Gift, OwnerId};
use crate::money::Money;
use crate::order::{OrderId, ProductId};
use crate::records::charges::{OrderInput, TransactionRecord};
use crate::secret::Secret;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// The most coupons one issue request makes.
pub const MAX_ISSUE_COUNT: u32 = 1_000;

/// What a coupon is worth, as the wire writes it: tagged by `"type"`
/// (`{"type": "amount", "amount": {"amount": 1000, "currency": "KRW"}}` or
/// `{"type": "product", "product_id": "p1"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponValueRecord {
    /// A fixed discount, capped at the order's total; the order must be in its currency.
    Amount {
        /// The discount; must be above zero.
        amount: Money,
    },
    /// One unit of a product at the order's price; the order must contain the product.
    Product {
        /// The product.
        product_id: ProductId,
    },
}

impl From<CouponValueRecord> for CouponValue {
    fn from(value: CouponValueRecord) -> Self {
        match value {
            CouponValueRecord::Amount { amount } => CouponValue::Amount { amount },
            CouponValueRecord::Product { product_id } => CouponValue::Product { product_id },
        }
    }
}

impl From<&CouponValue> for CouponValueRecord {
    fn from(value: &CouponValue) -> Self {
        match value {
            CouponValue::Amount { amount } => CouponValueRecord::Amount { amount: *amount },
            CouponValue::Product { product_id } => CouponValueRecord::Product {
                product_id: product_id.clone(),
            },
        }
    }
}

/// Where a coupon is in its life, as a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponStatus {
    /// Issued, nobody's yet: whoever registers the code owns it.
    Issued,
    /// Registered to an owner (a gift is registered to its recipient at once).
    Registered,
    /// Used for an order. Final.
    Redeemed,
}

impl CouponStatus {
    /// The wire word: `issued`, `registered` or `redeemed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Registered => "registered",
            Self::Redeemed => "redeemed",
        }
    }
}

impl From<&CouponState> for CouponStatus {
    fn from(state: &CouponState) -> Self {
        match state {
            CouponState::Issued => Self::Issued,
            CouponState::Registered { .. } => Self::Registered,
            CouponState::Redeemed { .. } => Self::Redeemed,
        }
    }
}

/// A coupon as the server answers with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponRecord {
    /// The code, grouped (`7K3QM-2XH9P-0ABCD-EFGH1`). A bearer secret while unregistered.
    pub code: CouponCode,
    /// What it is worth.
    pub value: CouponValueRecord,
    /// Where it is in its life.
    pub status: CouponStatus,
    /// Who owns it, `null` while unregistered.
    pub owner: Option<OwnerId>,
    /// When it was issued.
    #[serde(with = "crate::timestamp")]
    pub issued_at: Timestamp,
    /// When it stops being usable: it is usable strictly before this instant.
    #[serde(with = "crate::timestamp")]
    pub expires_at: Timestamp,
    /// When it was registered to its owner, `null` while unregistered.
    #[serde(with = "crate::timestamp::option")]
    pub registered_at: Option<Timestamp>,
    /// The order it was used for, `null` until redeemed.
    pub order_id: Option<OrderId>,
    /// The discount it gave, `null` until redeemed.
    pub discount: Option<Money>,
    /// When it was used, `null` until redeemed.
    #[serde(with = "crate::timestamp::option")]
    pub redeemed_at: Option<Timestamp>,
    /// The giver and message, for a coupon issued as a gift; `null` otherwise.
    pub gift: Option<Gift>,
}

impl CouponRecord {
    /// The record of `coupon`. `registered_at` is when it was registered, which the
    /// domain forgets once the coupon is redeemed; `None` takes it from the state (known
    /// only while registered).
    pub fn new(coupon: &Coupon, registered_at: Option<Timestamp>) -> Self {
        let (order_id, discount, redeemed_at, state_registered) = match coupon.state() {
            CouponState::Issued => (None, None, None, None),
            CouponState::Registered { registered_at, .. } => {
                (None, None, None, Some(*registered_at))
            }
            CouponState::Redeemed {
                order_id,
                discount,
                redeemed_at,
                ..
            } => (
                Some(order_id.clone()),
                Some(*discount),
                Some(*redeemed_at),
                None,
            ),
        };
        Self {
            code: coupon.code().clone(),
            value: coupon.value().into(),
            status: coupon.state().into(),
            owner: coupon.owner().cloned(),
            issued_at: coupon.issued_at(),
            expires_at: coupon.expires_at(),
            registered_at: registered_at.or(state_registered),
            order_id,
            discount,
            redeemed_at,
            gift: coupon.gift_info().cloned(),
        }
    }
}

impl From<&Coupon> for CouponRecord {
    fn from(coupon: &Coupon) -> Self {
        Self::new(coupon, None)
    }
}

/// `Coupon.Issue`: issue `count` unregistered coupons of one value and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponIssue {
    /// What each coupon is worth.
    pub value: CouponValueRecord,
    /// When they stop being usable; must be in the future.
    #[serde(with = "crate::timestamp")]
    pub expires_at: Timestamp,
    /// How many, `1..=1000`; absent means one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// The answer to [`CouponIssue`]: the new coupons, codes included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponsIssued {
    /// The coupons, in issue order.
    pub coupons: Vec<CouponRecord>,
}

/// `Gift.Create`: issue a coupon straight to `recipient`, from `giver`, with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiftCreate {
    /// What the gift is worth.
    pub value: CouponValueRecord,
    /// When it stops being usable; must be in the future.
    #[serde(with = "crate::timestamp")]
    pub expires_at: Timestamp,
    /// Who gives it.
    pub giver: OwnerId,
    /// Who receives (and owns) it; not the giver.
    pub recipient: OwnerId,
    /// The giver's note to the recipient (at most 1000 characters; may be empty).
    pub message: String,
}

/// `Coupon.Register`: bind an issued coupon to `owner`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponRegister {
    /// The code as the person typed it (any case, `-` and spaces allowed).
    pub code: CouponCode,
    /// Who registers it.
    pub owner: OwnerId,
}

/// `Coupon.Read`: read a coupon as its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponAccess {
    /// The code.
    pub code: CouponCode,
    /// Who asks; only the coupon's owner may read it.
    pub owner: OwnerId,
}

/// `Coupon.Redeem`: use a registered coupon, once, for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponRedeem {
    /// The code.
    pub code: CouponCode,
    /// Who uses it: must be its owner.
    pub owner: OwnerId,
    /// The order it discounts (snapshotted as a charge's order is).
    pub order: OrderInput,
    /// The password that reads the redemption's transaction later
    /// (`PATCH /payments/transactions/{id}`).
    pub password: Secret<String>,
}

/// The answer to [`CouponRedeem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouponRedemption {
    /// The coupon, now redeemed.
    pub coupon: CouponRecord,
    /// What it takes off the order.
    pub discount: Money,
    /// The approval: a transaction of kind `coupon` whose total is the discount,
    /// approved at once.
    pub transaction: TransactionRecord,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SequentialIdGen;
    use crate::money::Currency;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        crate::timestamp::parse(text).unwrap()
    }

    #[test]
    fn values_read_the_wire_shapes() {
        let amount: CouponValueRecord = serde_json::from_value(
            json!({"type": "amount", "amount": {"amount": 1000, "currency": "KRW"}}),
        )
        .unwrap();
        assert_eq!(
            CouponValue::from(amount.clone()),
            CouponValue::Amount {
                amount: Money::new(1000, Currency::Krw).unwrap()
            }
        );
        let product: CouponValueRecord =
            serde_json::from_value(json!({"type": "product", "product_id": "p1"})).unwrap();
        assert_eq!(
            serde_json::to_value(&product).unwrap(),
            json!({"type": "product", "product_id": "p1"})
        );
        assert!(serde_json::from_value::<CouponValueRecord>(json!({"type": "percent"})).is_err());
    }

    #[test]
    fn issue_count_is_optional() {
        let issue: CouponIssue = serde_json::from_value(json!({
            "value": {"type": "product", "product_id": "p1"},
            "expires_at": "2030-01-01T00:00:00.000Z"
        }))
        .unwrap();
        assert_eq!(issue.count, None);
        assert!(serde_json::to_value(&issue).unwrap().get("count").is_none());
    }

    #[test]
    fn records_follow_the_coupon_through_its_life() {
        let ids = SequentialIdGen::default();
        let value = CouponValue::Amount {
            amount: Money::new(500, Currency::Krw).unwrap(),
        };
        let issued = at("2026-01-01T00:00:00.000Z");
        let mut coupon =
            Coupon::issue(&ids, value, issued, at("2027-01-01T00:00:00.000Z")).unwrap();
        let record = CouponRecord::from(&coupon);
        assert_eq!(record.status, CouponStatus::Issued);
        assert_eq!(record.owner, None);
        let wire = serde_json::to_value(&record).unwrap();
        assert_eq!(wire["status"], "issued");
        assert_eq!(wire["value"]["type"], "amount");
        assert_eq!(wire["registered_at"], serde_json::Value::Null);

        let registered = at("2026-02-01T00:00:00.000Z");
        coupon.register(OwnerId::new("u1"), registered).unwrap();
        let record = CouponRecord::from(&coupon);
        assert_eq!(record.status, CouponStatus::Registered);
        assert_eq!(record.owner, Some(OwnerId::new("u1")));
        assert_eq!(record.registered_at, Some(registered));
        let back: CouponRecord =
            serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
        assert_eq!(back, record);
    }
}

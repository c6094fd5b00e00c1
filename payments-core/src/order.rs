//! [`Order`]: what a customer buys, as lines that **snapshot** each product's id, name and
//! unit price at order time, so a later price change or rename does not alter a placed
//! order.
//!
//! The kiosk rules are checked once, at construction, and reported as [`OrderError`]s that
//! name the line (0-based index) and product at fault: an order has at least one line,
//! every quantity is at least 1, no product is disabled, every line is in the same
//! currency, and neither a line's subtotal nor the order's total overflows. The total is
//! computed then and stored; an `Order` is immutable afterwards.

use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The caller's identifier of an order (for Toss, the PG's `orderId`). Serialized as a
/// plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(String);

impl OrderId {
    /// Wraps an identifier. [`Order::new`] refuses an empty one.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for OrderId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// The caller's identifier of a product. Serialized as a plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductId(String);

impl ProductId {
    /// Wraps an identifier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ProductId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// A product as the caller loads it from its catalogue at order time. The order copies
/// what it needs; the `Product` itself is not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The product's id.
    pub id: ProductId,
    /// The name shown on the receipt.
    pub name: String,
    /// The current unit price.
    pub price: Money,
    /// Whether the product can be ordered now (a disabled product is refused).
    pub enabled: bool,
}

/// Why an order was refused. Line indices are 0-based, in the order the lines were given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The order id is empty.
    #[error("order id must not be empty")]
    EmptyId,
    /// The order has no lines.
    #[error("order {order_id} has no lines")]
    NoLines {
        /// The order.
        order_id: OrderId,
    },
    /// A line's quantity is 0 or negative.
    #[error("line {line} ({product_id}): quantity must be at least 1, got {quantity}")]
    QuantityBelowOne {
        /// The line's index.
        line: usize,
        /// The line's product.
        product_id: ProductId,
        /// The refused quantity.
        quantity: i64,
    },
    /// A line's product is disabled.
    #[error("line {line} ({product_id}): product is disabled")]
    ProductDisabled {
        /// The line's index.
        line: usize,
        /// The disabled product.
        product_id: ProductId,
    },
    /// A line's price is not in the currency of the first line.
    #[error("line {line} ({product_id}): price is in {found}, the order is in {expected}")]
    MixedCurrency {
        /// The line's index.
        line: usize,
        /// The line's product.
        product_id: ProductId,
        /// The first line's currency.
        expected: Currency,
        /// This line's currency.
        found: Currency,
    },
    /// A line's unit price × quantity does not fit.
    #[error("line {line} ({product_id}): subtotal overflows")]
    SubtotalOverflow {
        /// The line's index.
        line: usize,
        /// The line's product.
        product_id: ProductId,
    },
    /// Adding a line's subtotal to the lines before it overflows the total.
    #[error("line {line} ({product_id}): order total overflows")]
    TotalOverflow {
        /// The index of the line whose subtotal overflowed the total.
        line: usize,
        /// The line's product.
        product_id: ProductId,
    },
    /// A deserialized line states a subtotal other than unit price × quantity.
    #[error("line {line} ({product_id}): stated subtotal {stated} is not {computed}")]
    SubtotalMismatch {
        /// The line's index.
        line: usize,
        /// The line's product.
        product_id: ProductId,
        /// The subtotal in the input.
        stated: Money,
        /// Unit price × quantity.
        computed: Money,
    },
    /// A deserialized order states a total other than the sum of its lines.
    #[error("order {order_id}: stated total {stated} is not the sum of its lines {computed}")]
    TotalMismatch {
        /// The order.
        order_id: OrderId,
        /// The total in the input.
        stated: Money,
        /// The sum of the lines.
        computed: Money,
    },
}

/// One line of an order: a snapshot of the product and the quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLine {
    product_id: ProductId,
    name: String,
    unit_price: Money,
    quantity: i64,
    subtotal: Money,
}

impl OrderLine {
    /// The product's id at order time.
    pub fn product_id(&self) -> &ProductId {
        &self.product_id
    }

    /// The product's name at order time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The unit price at order time.
    pub fn unit_price(&self) -> Money {
        self.unit_price
    }

    /// The quantity; at least 1.
    pub fn quantity(&self) -> i64 {
        self.quantity
    }

    /// Unit price × quantity.
    pub fn subtotal(&self) -> Money {
        self.subtotal
    }
}

/// A placed order: an id, at least one line, all in one currency, and the total of the
/// lines, computed once.
///
/// Serde (snake_case): `{"id", "lines": [{"product_id", "name", "unit_price", "quantity",
/// "subtotal"}], "total"}`. Deserializing re-checks every rule; `subtotal` and `total` may
/// be omitted on input and, when present, must equal the computed values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OrderRepr")]
pub struct Order {
    id: OrderId,
    lines: Vec<OrderLine>,
    total: Money,
}

/// One line before validation.
struct Draft {
    product_id: ProductId,
    name: String,
    unit_price: Money,
    quantity: i64,
    enabled: bool,
}

impl Order {
    /// Places an order for `quantity` of each product, snapshotting each product's id,
    /// name and price now.
    ///
    /// # Errors
    /// Checked line by line, first fault wins: [`OrderError::EmptyId`],
    /// [`OrderError::NoLines`], then per line [`OrderError::ProductDisabled`],
    /// [`OrderError::QuantityBelowOne`], [`OrderError::MixedCurrency`],
    /// [`OrderError::SubtotalOverflow`], [`OrderError::TotalOverflow`].
    pub fn new<'a, I>(id: OrderId, lines: I) -> Result<Order, OrderError>
    where
        I: IntoIterator<Item = (&'a Product, i64)>,
    {
        let drafts = lines
            .into_iter()
            .map(|(product, quantity)| Draft {
                product_id: product.id.clone(),
                name: product.name.clone(),
                unit_price: product.price,
                quantity,
                enabled: product.enabled,
            })
            .collect();
        Self::from_drafts(id, drafts)
    }

    fn from_drafts(id: OrderId, drafts: Vec<Draft>) -> Result<Order, OrderError> {
        if id.as_str().is_empty() {
            return Err(OrderError::EmptyId);
        }
        let Some(currency) = drafts.first().map(|d| d.unit_price.currency()) else {
            return Err(OrderError::NoLines { order_id: id });
        };
        let mut total = Money::zero(currency);
        let mut lines = Vec::with_capacity(drafts.len());
        for (line, draft) in drafts.into_iter().enumerate() {
            let Draft {
                product_id,
                name,
                unit_price,
                quantity,
                enabled,
            } = draft;
            if !enabled {
                return Err(OrderError::ProductDisabled { line, product_id });
            }
            if quantity < 1 {
                return Err(OrderError::QuantityBelowOne {
                    line,
                    product_id,
                    quantity,
                });
            }
            if unit_price.currency() != currency {
                return Err(OrderError::MixedCurrency {
                    line,
                    product_id,
                    expected: currency,
                    found: unit_price.currency(),
                });
            }
            // quantity >= 1 and the currencies match, so the only failure left is overflow.
            let Ok(subtotal) = unit_price.checked_mul(quantity) else {
                return Err(OrderError::SubtotalOverflow { line, product_id });
            };
            total = match total.checked_add(subtotal) {
                Ok(total) => total,
                Err(_) => return Err(OrderError::TotalOverflow { line, product_id }),
            };
            lines.push(OrderLine {
                product_id,
                name,
                unit_price,
                quantity,
                subtotal,
            });
        }
        Ok(Order { id, lines, total })
    }

    /// The order's id.
    pub fn id(&self) -> &OrderId {
        &self.id
    }

    /// The lines, in the order given; never empty.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    /// The sum of the lines' subtotals.
    pub fn total(&self) -> Money {
        self.total
    }

    /// The currency every line is in.
    pub fn currency(&self) -> Currency {
        self.total.currency()
    }

    /// Whether some line is for `product`.
    pub fn contains(&self, product: &ProductId) -> bool {
        self.line_for(product).is_some()
    }

    /// The first line for `product`, if any.
    pub fn line_for(&self, product: &ProductId) -> Option<&OrderLine> {
        self.lines.iter().find(|line| &line.product_id == product)
    }
}

#[derive(Deserialize)]
struct OrderRepr {
    id: OrderId,
    lines: Vec<LineRepr>,
    #[serde(default)]
    total: Option<Money>,
}

#[derive(Deserialize)]
struct LineRepr {
    product_id: ProductId,
    name: String,
    unit_price: Money,
    quantity: i64,
    #[serde(default)]
    subtotal: Option<Money>,
}

impl TryFrom<OrderRepr> for Order {
    type Error = OrderError;

    fn try_from(repr: OrderRepr) -> Result<Self, Self::Error> {
        let stated: Vec<Option<Money>> = repr.lines.iter().map(|l| l.subtotal).collect();
        let drafts = repr
            .lines
            .into_iter()
            .map(|l| Draft {
                product_id: l.product_id,
                name: l.name,
                unit_price: l.unit_price,
                quantity: l.quantity,
                // A stored line is a snapshot of a product that was enabled when ordered.
                enabled: true,
            })
            .collect();
        let order = Order::from_drafts(repr.id, drafts)?;
        for (line, (stated, computed)) in stated.into_iter().zip(&order.lines).enumerate() {
            if let Some(stated) = stated
                && stated != computed.subtotal
            {
                return Err(OrderError::SubtotalMismatch {
                    line,
                    product_id: computed.product_id.clone(),
                    stated,
                    computed: computed.subtotal,
                });
            }
        }
        if let Some(stated) = repr.total
            && stated != order.total
        {
            return Err(OrderError::TotalMismatch {
                order_id: order.id.clone(),
                stated,
                computed: order.total,
            });
        }
        Ok(order)
    }
}

//! [`Money`]: a non-negative integer amount in a currency's **minor unit**, with an
//! ISO-4217 [`Currency`]. Never a float.
//!
//! # The unit
//! `Money::amount()` counts the currency's smallest unit ([`Currency::minor_units`]
//! decimal places below the major unit): won for KRW and yen for JPY (neither has a
//! minor unit, so there the minor unit *is* the natural unit the wire carries), cents for
//! USD and EUR. `{"amount": 1234, "currency": "USD"}` is therefore `$12.34`, and
//! `{"amount": 10000, "currency": "KRW"}` is `₩10,000`, exactly the wire's `price`.
//! [`Money::from_major`] builds an amount from whole major units.
//!
//! # Sign
//! A `Money` is zero or positive: constructors refuse a negative amount and
//! [`Money::checked_sub`] refuses to go below zero. Debts and refunds are modelled by
//! the operation (a cancel, a discount), never by a negative amount.
//!
//! # Arithmetic
//! Every operation is checked: adding or subtracting amounts in different currencies is
//! [`MoneyError::CurrencyMismatch`], and a result outside `0..=i64::MAX` is
//! [`MoneyError::Overflow`] or [`MoneyError::BelowZero`], never a wrapped value.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO-4217 currency this toolkit handles. Serialized as its upper-case code (`"KRW"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// South Korean won (no minor unit).
    Krw,
    /// US dollar (cents).
    Usd,
    /// Euro (cents).
    Eur,
    /// Japanese yen (no minor unit).
    Jpy,
}

impl Currency {
    /// Every supported currency.
    pub const ALL: [Currency; 4] = [Currency::Krw, Currency::Usd, Currency::Eur, Currency::Jpy];

    /// The ISO-4217 code, e.g. `"KRW"`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Krw => "KRW",
            Self::Usd => "USD",
            Self::Eur => "EUR",
            Self::Jpy => "JPY",
        }
    }

    /// How many decimal places the minor unit has: 0 for KRW and JPY, 2 for USD and EUR.
    /// [`Money::amount`] counts units of `10^-minor_units` of the major unit.
    pub fn minor_units(self) -> u32 {
        match self {
            Self::Krw | Self::Jpy => 0,
            Self::Usd | Self::Eur => 2,
        }
    }

    /// The symbol [`Money`]'s `Display` puts in front of the amount.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Krw => "₩",
            Self::Usd => "$",
            Self::Eur => "€",
            Self::Jpy => "¥",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A currency code that is not one of [`Currency::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency {0:?}: expected one of KRW, USD, EUR, JPY")]
pub struct UnknownCurrency(pub String);

impl FromStr for Currency {
    type Err = UnknownCurrency;

    /// Parses an ISO-4217 code, case-sensitively (`"KRW"`, not `"krw"`), as the wire
    /// writes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| UnknownCurrency(s.to_owned()))
    }
}

/// Why a money operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// A constructor (or a multiplier) was given a negative number.
    #[error("amount must not be negative, got {amount} {currency}")]
    Negative {
        /// The refused number.
        amount: i64,
        /// The currency it was meant for.
        currency: Currency,
    },
    /// The two operands are in different currencies.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// The left operand's currency.
        left: Currency,
        /// The right operand's currency.
        right: Currency,
    },
    /// The result does not fit in an `i64` of minor units.
    #[error("amount overflow in {currency}")]
    Overflow {
        /// The currency of the operation.
        currency: Currency,
    },
    /// A subtraction would go below zero.
    #[error("cannot subtract {subtrahend} from {minuend}: the result would be negative")]
    BelowZero {
        /// What was subtracted from.
        minuend: Money,
        /// What was subtracted.
        subtrahend: Money,
    },
}

/// A zero-or-positive amount in minor units of a [`Currency`] (see the module docs).
///
/// Serde: `{"amount": 1000, "currency": "KRW"}`; deserializing a negative amount or an
/// unknown currency is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr")]
pub struct Money {
    amount: i64,
    currency: Currency,
}

/// The unchecked serde shape of [`Money`].
#[derive(Deserialize)]
struct MoneyRepr {
    amount: i64,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;

    fn try_from(repr: MoneyRepr) -> Result<Self, Self::Error> {
        Money::new(repr.amount, repr.currency)
    }
}

impl Money {
    /// `amount` minor units of `currency` (won, yen, cents).
    ///
    /// # Errors
    /// [`MoneyError::Negative`] when `amount < 0`.
    pub fn new(amount: i64, currency: Currency) -> Result<Self, MoneyError> {
        if amount < 0 {
            return Err(MoneyError::Negative { amount, currency });
        }
        Ok(Self { amount, currency })
    }

    /// `major` whole units of `currency` (`from_major(12, Usd)` is `$12.00`, 1200 cents).
    ///
    /// # Errors
    /// [`MoneyError::Negative`] when `major < 0`; [`MoneyError::Overflow`] when the
    /// amount in minor units does not fit in an `i64`.
    pub fn from_major(major: i64, currency: Currency) -> Result<Self, MoneyError> {
        if major < 0 {
            return Err(MoneyError::Negative {
                amount: major,
                currency,
            });
        }
        10i64
            .checked_pow(currency.minor_units())
            .and_then(|scale| major.checked_mul(scale))
            .ok_or(MoneyError::Overflow { currency })
            .and_then(|amount| Self::new(amount, currency))
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self {
            amount: 0,
            currency,
        }
    }

    /// The amount in minor units; never negative.
    pub fn amount(&self) -> i64 {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ;
    /// [`MoneyError::Overflow`] when the sum exceeds `i64::MAX` minor units.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow {
                currency: self.currency,
            })?;
        Ok(Money { amount, ..self })
    }

    /// `self - other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ;
    /// [`MoneyError::BelowZero`] when `other` is larger than `self`.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        if other.amount > self.amount {
            return Err(MoneyError::BelowZero {
                minuend: self,
                subtrahend: other,
            });
        }
        // Both are non-negative and other <= self, so this cannot underflow.
        Ok(Money {
            amount: self.amount - other.amount,
            ..self
        })
    }

    /// `self × factor` (a quantity).
    ///
    /// # Errors
    /// [`MoneyError::Negative`] when `factor < 0`; [`MoneyError::Overflow`] when the
    /// product exceeds `i64::MAX` minor units.
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        if factor < 0 {
            return Err(MoneyError::Negative {
                amount: factor,
                currency: self.currency,
            });
        }
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow {
                currency: self.currency,
            })?;
        Ok(Money { amount, ..self })
    }

    /// The smaller of two amounts in the same currency.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ.
    pub fn checked_min(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Ok(if other.amount < self.amount {
            other
        } else {
            self
        })
    }

    /// Compares two amounts in the same currency.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ (amounts in different
    /// currencies are not comparable, so `Money` has no `PartialOrd`).
    pub fn checked_cmp(&self, other: &Money) -> Result<std::cmp::Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// The sum of `items`, all in `currency`; zero for no items.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when an item is in another currency;
    /// [`MoneyError::Overflow`] when the sum exceeds `i64::MAX` minor units.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }
}

/// Writes `n` with a comma every three digits (`10000` → `10,000`).
fn write_grouped(f: &mut fmt::Formatter<'_>, n: i64) -> fmt::Result {
    let digits = n.to_string();
    let lead = digits.len() % 3;
    for (i, ch) in digits.chars().enumerate() {
        if i != 0 && i % 3 == lead {
            f.write_str(",")?;
        }
        write!(f, "{ch}")?;
    }
    Ok(())
}

/// `₩10,000`, `¥1,500`, `$12.34`, `€1,000.05`: the symbol, the major units grouped by
/// thousands, and the minor units when the currency has them.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.currency.symbol())?;
        let places = self.currency.minor_units();
        // 10^places is 1 or 100 for the supported currencies: no overflow possible.
        let scale = 10i64.pow(places);
        write_grouped(f, self.amount / scale)?;
        if places > 0 {
            write!(
                f,
                ".{:0width$}",
                self.amount % scale,
                width = places as usize
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits_at_every_length() {
        let cases = [
            (0, "₩0"),
            (7, "₩7"),
            (999, "₩999"),
            (1_000, "₩1,000"),
            (10_000, "₩10,000"),
            (100_000, "₩100,000"),
            (1_234_567, "₩1,234,567"),
            (i64::MAX, "₩9,223,372,036,854,775,807"),
        ];
        for (amount, text) in cases {
            let money = Money::new(amount, Currency::Krw).unwrap();
            assert_eq!(money.to_string(), text);
        }
    }

    #[test]
    fn minor_units_print_with_two_digits() {
        let money = |n| Money::new(n, Currency::Usd).unwrap().to_string();
        assert_eq!(money(1234), "$12.34");
        assert_eq!(money(5), "$0.05");
        assert_eq!(money(10_000_005), "$100,000.05");
        assert_eq!(Money::new(150, Currency::Eur).unwrap().to_string(), "€1.50");
    }
}

//! Money: construction, checked arithmetic, display, serde, and arithmetic properties.

use payments_core::money::{Currency, Money, MoneyError};
use proptest::prelude::*;
use serde_json::json;

fn krw(n: i64) -> Money {
    Money::new(n, Currency::Krw).unwrap()
}

fn usd(n: i64) -> Money {
    Money::new(n, Currency::Usd).unwrap()
}

#[test]
fn negative_amounts_are_refused() {
    assert_eq!(
        Money::new(-1, Currency::Krw),
        Err(MoneyError::Negative {
            amount: -1,
            currency: Currency::Krw
        })
    );
    assert!(Money::new(0, Currency::Krw).unwrap().is_zero());
    assert_eq!(
        Money::zero(Currency::Eur),
        Money::new(0, Currency::Eur).unwrap()
    );
}

#[test]
fn from_major_scales_by_the_minor_units() {
    assert_eq!(Money::from_major(12, Currency::Usd).unwrap().amount(), 1200);
    assert_eq!(
        Money::from_major(10_000, Currency::Krw).unwrap().amount(),
        10_000
    );
    assert_eq!(Money::from_major(7, Currency::Jpy).unwrap().amount(), 7);
    assert_eq!(
        Money::from_major(i64::MAX / 10, Currency::Eur),
        Err(MoneyError::Overflow {
            currency: Currency::Eur
        })
    );
    assert!(matches!(
        Money::from_major(-3, Currency::Usd),
        Err(MoneyError::Negative { amount: -3, .. })
    ));
}

#[test]
fn currencies_know_their_minor_units_and_codes() {
    assert_eq!(Currency::Krw.minor_units(), 0);
    assert_eq!(Currency::Jpy.minor_units(), 0);
    assert_eq!(Currency::Usd.minor_units(), 2);
    assert_eq!(Currency::Eur.minor_units(), 2);
    for currency in Currency::ALL {
        assert_eq!(currency.code().parse::<Currency>(), Ok(currency));
        assert_eq!(currency.to_string(), currency.code());
    }
    let err = "GBP".parse::<Currency>().unwrap_err();
    assert!(err.to_string().contains("GBP"));
    assert!("krw".parse::<Currency>().is_err(), "codes are upper-case");
}

#[test]
fn add_and_sub_are_checked() {
    assert_eq!(krw(1_000).checked_add(krw(2_500)), Ok(krw(3_500)));
    assert_eq!(krw(3_500).checked_sub(krw(2_500)), Ok(krw(1_000)));
    assert_eq!(krw(3_500).checked_sub(krw(3_500)), Ok(krw(0)));
    assert_eq!(
        krw(1).checked_add(usd(1)),
        Err(MoneyError::CurrencyMismatch {
            left: Currency::Krw,
            right: Currency::Usd
        })
    );
    assert!(matches!(
        usd(1).checked_sub(krw(1)),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    assert_eq!(
        krw(i64::MAX).checked_add(krw(1)),
        Err(MoneyError::Overflow {
            currency: Currency::Krw
        })
    );
    assert_eq!(
        krw(100).checked_sub(krw(101)),
        Err(MoneyError::BelowZero {
            minuend: krw(100),
            subtrahend: krw(101)
        })
    );
}

#[test]
fn mul_min_cmp_and_sum() {
    assert_eq!(krw(1_500).checked_mul(3), Ok(krw(4_500)));
    assert_eq!(krw(1_500).checked_mul(0), Ok(krw(0)));
    assert!(matches!(
        krw(1).checked_mul(-2),
        Err(MoneyError::Negative { amount: -2, .. })
    ));
    assert!(matches!(
        krw(i64::MAX / 2 + 1).checked_mul(2),
        Err(MoneyError::Overflow { .. })
    ));
    assert_eq!(krw(5).checked_min(krw(3)), Ok(krw(3)));
    assert!(krw(5).checked_min(usd(3)).is_err());
    assert_eq!(krw(5).checked_cmp(&krw(7)), Ok(std::cmp::Ordering::Less));
    assert!(krw(5).checked_cmp(&usd(5)).is_err());
    assert_eq!(
        Money::sum(Currency::Krw, [krw(1), krw(2), krw(3)]),
        Ok(krw(6))
    );
    assert_eq!(Money::sum(Currency::Krw, []), Ok(krw(0)));
    assert!(Money::sum(Currency::Krw, [krw(1), usd(2)]).is_err());
    assert!(Money::sum(Currency::Krw, [krw(i64::MAX), krw(1)]).is_err());
}

#[test]
fn displays_like_a_price_tag() {
    assert_eq!(krw(10_000).to_string(), "₩10,000");
    assert_eq!(usd(1_234).to_string(), "$12.34");
    assert_eq!(
        Money::new(150_000, Currency::Jpy).unwrap().to_string(),
        "¥150,000"
    );
    assert_eq!(
        Money::new(123_456_789, Currency::Eur).unwrap().to_string(),
        "€1,234,567.89"
    );
}

#[test]
fn serde_uses_amount_and_currency() {
    let value = serde_json::to_value(krw(1_000)).unwrap();
    assert_eq!(value, json!({"amount": 1000, "currency": "KRW"}));
    let back: Money = serde_json::from_value(value).unwrap();
    assert_eq!(back, krw(1_000));

    let negative = serde_json::from_value::<Money>(json!({"amount": -5, "currency": "KRW"}));
    assert!(negative.unwrap_err().to_string().contains("negative"));
    assert!(serde_json::from_value::<Money>(json!({"amount": 5, "currency": "XYZ"})).is_err());
    assert!(serde_json::from_value::<Money>(json!({"amount": 1.5, "currency": "KRW"})).is_err());
    assert!(serde_json::from_value::<Money>(json!({"currency": "KRW"})).is_err());
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![0..=1_000_000i64, 0..=i64::MAX, (i64::MAX - 1000)..=i64::MAX]
}

proptest! {
    #[test]
    fn add_is_commutative(a in amount(), b in amount()) {
        prop_assert_eq!(krw(a).checked_add(krw(b)), krw(b).checked_add(krw(a)));
    }

    #[test]
    fn add_is_associative_when_nothing_overflows(a in amount(), b in amount(), c in amount()) {
        let left = krw(a).checked_add(krw(b)).and_then(|ab| ab.checked_add(krw(c)));
        let right = krw(b).checked_add(krw(c)).and_then(|bc| krw(a).checked_add(bc));
        match (a.checked_add(b).and_then(|ab| ab.checked_add(c)), left, right) {
            (Some(sum), Ok(l), Ok(r)) => {
                prop_assert_eq!(l, r);
                prop_assert_eq!(l.amount(), sum);
            }
            // The exact sum overflows: both groupings must report it, not wrap.
            (None, l, r) => {
                prop_assert!(l.is_err());
                prop_assert!(r.is_err());
            }
            (Some(_), l, r) => prop_assert!(false, "no overflow yet {:?} / {:?}", l, r),
        }
    }

    #[test]
    fn add_then_sub_round_trips(a in amount(), b in amount()) {
        if let Ok(sum) = krw(a).checked_add(krw(b)) {
            prop_assert_eq!(sum.checked_sub(krw(b)), Ok(krw(a)));
            prop_assert_eq!(sum.checked_sub(krw(a)), Ok(krw(b)));
        }
    }

    #[test]
    fn overflow_is_always_an_error_never_a_wrap(a in amount(), b in amount(), k in 0..=1_000i64) {
        match krw(a).checked_add(krw(b)) {
            Ok(sum) => prop_assert_eq!(Some(sum.amount()), a.checked_add(b)),
            Err(e) => {
                prop_assert!(a.checked_add(b).is_none());
                prop_assert_eq!(e, MoneyError::Overflow { currency: Currency::Krw });
            }
        }
        match krw(a).checked_mul(k) {
            Ok(product) => prop_assert_eq!(Some(product.amount()), a.checked_mul(k)),
            Err(e) => {
                prop_assert!(a.checked_mul(k).is_none());
                prop_assert_eq!(e, MoneyError::Overflow { currency: Currency::Krw });
            }
        }
    }

    #[test]
    fn sub_never_goes_below_zero(a in amount(), b in amount()) {
        match krw(a).checked_sub(krw(b)) {
            Ok(diff) => {
                prop_assert!(a >= b);
                prop_assert_eq!(diff.amount(), a - b);
            }
            Err(e) => {
                prop_assert!(a < b);
                prop_assert!(
                    matches!(e, MoneyError::BelowZero { .. }),
                    "unexpected error {:?}", e
                );
            }
        }
    }

    #[test]
    fn serde_round_trips(a in amount(), c in prop::sample::select(Currency::ALL.to_vec())) {
        let money = Money::new(a, c).unwrap();
        let text = serde_json::to_string(&money).unwrap();
        prop_assert_eq!(serde_json::from_str::<Money>(&text).unwrap(), money);
    }
}

//! Coupons: codes, issue → register → redeem, gifts, every refusal, serde, and the
//! "redeems at most once" property.

use chrono::{Duration, TimeZone, Utc};
use payments_core::clock::{IdGen, RandomIdGen, SequentialIdGen};
use payments_core::coupon::{
    ALPHABET, CODE_LEN, Coupon, CouponCode, CouponCodeError, CouponError, CouponEvent, CouponState,
    CouponValue, OwnerId,
};
use payments_core::money::{Currency, Money};
use payments_core::order::{Order, OrderId, Product, ProductId};
use payments_core::timestamp::Timestamp;
use proptest::prelude::*;
use serde_json::json;
use std::collections::HashSet;

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap()
}

fn expiry() -> Timestamp {
    t0() + Duration::days(30)
}

fn krw(n: i64) -> Money {
    Money::new(n, Currency::Krw).unwrap()
}

fn product(id: &str, price: i64) -> Product {
    Product {
        id: ProductId::new(id),
        name: id.to_uppercase(),
        price: krw(price),
        enabled: true,
    }
}

/// An order for one latte (₩4,500) and two bagels (₩3,000 each): ₩10,500.
fn order() -> Order {
    Order::new(
        OrderId::new("o-1"),
        [(&product("latte", 4_500), 1), (&product("bagel", 3_000), 2)],
    )
    .unwrap()
}

fn amount_coupon(ids: &dyn IdGen, n: i64) -> Coupon {
    Coupon::issue(ids, CouponValue::Amount { amount: krw(n) }, t0(), expiry()).unwrap()
}

fn alice() -> OwnerId {
    OwnerId::new("alice")
}

fn bob() -> OwnerId {
    OwnerId::new("bob")
}

/// A generator that returns whatever it was built with.
struct BrokenIdGen(&'static str);

impl IdGen for BrokenIdGen {
    fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::nil()
    }

    fn code(&self, _alphabet: &[u8], _len: usize) -> String {
        self.0.to_owned()
    }
}

#[test]
fn codes_come_from_the_injected_generator_in_groups() {
    let ids = SequentialIdGen::default();
    let coupon = amount_coupon(&ids, 1_000);
    assert_eq!(coupon.code().as_str(), "00000000000000000001");
    assert_eq!(coupon.code().to_string(), "00000-00000-00000-00001");
    let next = amount_coupon(&ids, 1_000);
    assert_ne!(next.code(), coupon.code());

    let random = RandomIdGen;
    let codes: HashSet<String> = (0..200)
        .map(|_| amount_coupon(&random, 1).code().as_str().to_owned())
        .collect();
    assert_eq!(codes.len(), 200, "random codes do not repeat");
    for code in &codes {
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
    }
}

#[test]
fn code_parsing_is_forgiving_but_strict_about_the_alphabet() {
    let code = CouponCode::parse("abcde fghjk-mnpqr-stvwx").unwrap();
    assert_eq!(code.to_string(), "ABCDE-FGHJK-MNPQR-STVWX");
    // Crockford aliases: O reads as 0, I and L as 1.
    let aliased: CouponCode = "OOOOO-IIIII-LLLLL-00000".parse().unwrap();
    assert_eq!(aliased.as_str(), "00000111111111100000");
    assert_eq!(
        CouponCode::parse("ABCDE-FGHJK-MNPQR-STVWU"),
        Err(CouponCodeError::InvalidChar {
            ch: 'U',
            position: 22
        })
    );
    assert_eq!(
        CouponCode::parse("ABCDE-FGHJK-MNPQR-STVW한"),
        Err(CouponCodeError::InvalidChar {
            ch: '한',
            position: 22
        })
    );
    assert_eq!(
        CouponCode::parse("ABCDE"),
        Err(CouponCodeError::WrongLength {
            expected: 20,
            found: 5
        })
    );
    assert!(CouponCode::parse("ABCDE-FGHJK-MNPQR-STVWXY").is_err());
}

#[test]
fn a_broken_generator_is_an_error_not_a_panic() {
    let err = Coupon::issue(
        &BrokenIdGen("nope!"),
        CouponValue::Amount { amount: krw(1) },
        t0(),
        expiry(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        CouponError::Code(CouponCodeError::InvalidChar { ch: '!', .. })
    ));
}

#[test]
fn issue_checks_its_terms() {
    let ids = SequentialIdGen::default();
    assert_eq!(
        Coupon::issue(&ids, CouponValue::Amount { amount: krw(0) }, t0(), expiry()),
        Err(CouponError::ZeroAmount)
    );
    assert_eq!(
        Coupon::issue(&ids, CouponValue::Amount { amount: krw(1) }, t0(), t0()),
        Err(CouponError::InvalidExpiry {
            issued_at: t0(),
            expires_at: t0()
        })
    );
    let coupon = amount_coupon(&ids, 1);
    assert_eq!(coupon.state(), &CouponState::Issued);
    assert_eq!(coupon.owner(), None);
    assert_eq!(coupon.issued_at(), t0());
    assert_eq!(coupon.expires_at(), expiry());
    assert!(!coupon.is_redeemed());
}

#[test]
fn issue_register_redeem_an_amount_coupon() {
    let ids = SequentialIdGen::default();
    let mut coupon = amount_coupon(&ids, 2_000);
    let at = t0() + Duration::days(1);
    let event = coupon.register(alice(), at).unwrap();
    assert_eq!(
        event,
        CouponEvent::Registered {
            code: coupon.code().clone(),
            owner: alice(),
            at
        }
    );
    assert_eq!(coupon.owner(), Some(&alice()));

    let later = at + Duration::days(1);
    let redemption = coupon.redeem(&alice(), &order(), later).unwrap();
    assert_eq!(redemption.discount, krw(2_000));
    assert_eq!(
        redemption.event,
        CouponEvent::Redeemed {
            code: coupon.code().clone(),
            owner: alice(),
            order_id: OrderId::new("o-1"),
            discount: krw(2_000),
            at: later
        }
    );
    assert!(coupon.is_redeemed());
    assert_eq!(coupon.owner(), Some(&alice()));
}

#[test]
fn an_amount_coupon_is_capped_at_the_total() {
    let ids = SequentialIdGen::default();
    let mut coupon = amount_coupon(&ids, 50_000);
    coupon.register(alice(), t0()).unwrap();
    let redemption = coupon.redeem(&alice(), &order(), t0()).unwrap();
    assert_eq!(redemption.discount, krw(10_500));
}

#[test]
fn a_product_coupon_gives_one_unit_at_the_snapshot_price() {
    let ids = SequentialIdGen::default();
    let value = CouponValue::Product {
        product_id: ProductId::new("bagel"),
    };
    let mut coupon = Coupon::issue(&ids, value.clone(), t0(), expiry()).unwrap();
    coupon.register(alice(), t0()).unwrap();
    assert_eq!(
        coupon.redeem(&alice(), &order(), t0()).unwrap().discount,
        krw(3_000)
    );

    let mut other = Coupon::issue(
        &ids,
        CouponValue::Product {
            product_id: ProductId::new("scone"),
        },
        t0(),
        expiry(),
    )
    .unwrap();
    other.register(alice(), t0()).unwrap();
    assert_eq!(
        other.redeem(&alice(), &order(), t0()),
        Err(CouponError::ProductNotInOrder {
            code: other.code().clone(),
            product_id: ProductId::new("scone"),
            order_id: OrderId::new("o-1")
        })
    );
    assert!(
        !other.is_redeemed(),
        "a refused redeem leaves the coupon usable"
    );
}

#[test]
fn an_amount_coupon_needs_the_orders_currency() {
    let ids = SequentialIdGen::default();
    let mut coupon = Coupon::issue(
        &ids,
        CouponValue::Amount {
            amount: Money::new(500, Currency::Usd).unwrap(),
        },
        t0(),
        expiry(),
    )
    .unwrap();
    coupon.register(alice(), t0()).unwrap();
    assert_eq!(
        coupon.redeem(&alice(), &order(), t0()),
        Err(CouponError::CurrencyMismatch {
            code: coupon.code().clone(),
            coupon: Currency::Usd,
            order: Currency::Krw
        })
    );
}

#[test]
fn every_refusal_is_distinct() {
    let ids = SequentialIdGen::default();

    // Unregistered.
    let mut coupon = amount_coupon(&ids, 1_000);
    assert_eq!(
        coupon.redeem(&alice(), &order(), t0()),
        Err(CouponError::NotRegistered {
            code: coupon.code().clone()
        })
    );

    // Empty owner.
    assert_eq!(
        coupon.register(OwnerId::new(""), t0()),
        Err(CouponError::EmptyOwner { field: "owner" })
    );

    // Registered twice (even by the same owner).
    coupon.register(alice(), t0()).unwrap();
    assert_eq!(
        coupon.register(bob(), t0()),
        Err(CouponError::AlreadyRegistered {
            code: coupon.code().clone()
        })
    );
    assert!(matches!(
        coupon.register(alice(), t0()),
        Err(CouponError::AlreadyRegistered { .. })
    ));

    // Foreign.
    assert_eq!(
        coupon.redeem(&bob(), &order(), t0()),
        Err(CouponError::ForeignOwner {
            code: coupon.code().clone()
        })
    );

    // Expired: usable strictly before expires_at.
    assert_eq!(
        coupon.redeem(&alice(), &order(), expiry()),
        Err(CouponError::Expired {
            code: coupon.code().clone(),
            expires_at: expiry()
        })
    );
    let err = coupon.redeem(&alice(), &order(), expiry()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the coupon expired at 2026-12-21T03:00:00.000Z"
    );
    assert!(
        coupon
            .redeem(&alice(), &order(), expiry() - Duration::milliseconds(1))
            .is_ok()
    );

    // Spent: neither redeemed again nor re-registered.
    assert_eq!(
        coupon.redeem(&alice(), &order(), t0()),
        Err(CouponError::AlreadyRedeemed {
            code: coupon.code().clone(),
            order_id: OrderId::new("o-1")
        })
    );
    assert!(matches!(
        coupon.register(bob(), t0()),
        Err(CouponError::AlreadyRedeemed { .. })
    ));

    // Registering after expiry.
    let mut stale = amount_coupon(&ids, 1_000);
    assert!(matches!(
        stale.register(alice(), expiry() + Duration::days(1)),
        Err(CouponError::Expired { .. })
    ));
    assert_eq!(stale.state(), &CouponState::Issued);
}

#[test]
fn a_gift_is_registered_to_its_recipient() {
    let ids = SequentialIdGen::default();
    let (mut coupon, event) = Coupon::gift(
        &ids,
        CouponValue::Product {
            product_id: ProductId::new("latte"),
        },
        alice(),
        bob(),
        "생일 축하해!",
        t0(),
        expiry(),
    )
    .unwrap();
    assert_eq!(
        event,
        CouponEvent::Gifted {
            code: coupon.code().clone(),
            giver: alice(),
            recipient: bob(),
            message: "생일 축하해!".into(),
            at: t0()
        }
    );
    assert_eq!(coupon.owner(), Some(&bob()));
    let gift = coupon.gift_info().unwrap();
    assert_eq!(gift.giver, alice());
    assert_eq!(gift.message, "생일 축하해!");
    // The giver cannot use it; the recipient can, without registering.
    assert!(matches!(
        coupon.redeem(&alice(), &order(), t0()),
        Err(CouponError::ForeignOwner { .. })
    ));
    assert_eq!(
        coupon.redeem(&bob(), &order(), t0()).unwrap().discount,
        krw(4_500)
    );

    let value = CouponValue::Amount { amount: krw(1) };
    assert_eq!(
        Coupon::gift(&ids, value.clone(), alice(), alice(), "", t0(), expiry()),
        Err(CouponError::GiftToSelf)
    );
    assert_eq!(
        Coupon::gift(
            &ids,
            value.clone(),
            OwnerId::new(""),
            bob(),
            "",
            t0(),
            expiry()
        ),
        Err(CouponError::EmptyOwner { field: "giver" })
    );
    assert_eq!(
        Coupon::gift(&ids, value, alice(), OwnerId::new(""), "", t0(), expiry()),
        Err(CouponError::EmptyOwner { field: "recipient" })
    );
}

#[test]
fn storage_serde_round_trips_and_rechecks() {
    let ids = SequentialIdGen::default();
    let mut coupon = amount_coupon(&ids, 1_000);
    let value = serde_json::to_value(&coupon).unwrap();
    assert_eq!(
        value,
        json!({
            "code": "00000-00000-00000-00001",
            "value": {"kind": "amount", "amount": {"amount": 1000, "currency": "KRW"}},
            "issued_at": "2026-11-21T03:00:00.000Z",
            "expires_at": "2026-12-21T03:00:00.000Z",
            "state": {"status": "issued"},
            "gift": null
        })
    );
    assert_eq!(
        serde_json::from_value::<Coupon>(value.clone()).unwrap(),
        coupon
    );

    coupon.register(alice(), t0()).unwrap();
    let event = coupon.redeem(&alice(), &order(), t0()).unwrap().event;
    let stored = serde_json::to_value(&coupon).unwrap();
    assert_eq!(stored["state"]["status"], "redeemed");
    assert_eq!(stored["state"]["order_id"], "o-1");
    assert_eq!(serde_json::from_value::<Coupon>(stored).unwrap(), coupon);
    let event_json = serde_json::to_value(&event).unwrap();
    assert_eq!(event_json["type"], "redeemed");
    assert_eq!(
        serde_json::from_value::<CouponEvent>(event_json).unwrap(),
        event
    );

    let mut bad = value.clone();
    bad["expires_at"] = json!("2026-11-20T00:00:00.000Z");
    assert!(
        serde_json::from_value::<Coupon>(bad)
            .unwrap_err()
            .to_string()
            .contains("expire after")
    );
    let mut bad = value;
    bad["code"] = json!("0000");
    assert!(serde_json::from_value::<Coupon>(bad).is_err());
}

#[derive(Debug, Clone)]
enum Op {
    Register(bool),
    Redeem { alice: bool, with_product: bool },
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<bool>().prop_map(Op::Register),
        (any::<bool>(), any::<bool>()).prop_map(|(alice, with_product)| Op::Redeem {
            alice,
            with_product
        }),
        (0..=20i64).prop_map(Op::Advance),
    ]
}

proptest! {
    #[test]
    fn a_coupon_redeems_at_most_once(
        product_coupon in any::<bool>(),
        ops in prop::collection::vec(op(), 0..30),
    ) {
        let ids = SequentialIdGen::default();
        let value = if product_coupon {
            CouponValue::Product { product_id: ProductId::new("latte") }
        } else {
            CouponValue::Amount { amount: krw(1_000) }
        };
        let mut coupon = Coupon::issue(&ids, value, t0(), expiry()).unwrap();
        let with_latte = order();
        let without_latte =
            Order::new(OrderId::new("o-2"), [(&product("bagel", 3_000), 1)]).unwrap();
        let mut now = t0();
        let mut redeemed = 0;
        for op in ops {
            let before = coupon.clone();
            let result = match op {
                Op::Register(is_alice) => {
                    coupon.register(if is_alice { alice() } else { bob() }, now).map(|_| ())
                }
                Op::Redeem { alice: is_alice, with_product } => {
                    let who = if is_alice { alice() } else { bob() };
                    let order = if with_product { &with_latte } else { &without_latte };
                    let holder = coupon.owner().cloned();
                    coupon.redeem(&who, order, now).map(|r| {
                        redeemed += 1;
                        // Only the registered owner, before expiry, gets a real discount.
                        assert_eq!(holder.as_ref(), Some(&who));
                        assert!(now < expiry());
                        assert!(!r.discount.is_zero());
                    })
                }
                Op::Advance(days) => {
                    now += Duration::days(days);
                    Ok(())
                }
            };
            if result.is_err() {
                prop_assert_eq!(&coupon, &before, "a refused op changed the coupon");
            }
            prop_assert!(redeemed <= 1);
            prop_assert_eq!(coupon.is_redeemed(), redeemed == 1);
            let back: Coupon = serde_json::from_value(serde_json::to_value(&coupon).unwrap()).unwrap();
            prop_assert_eq!(&back, &coupon);
        }
    }

    #[test]
    fn parsing_the_display_form_round_trips(symbols in prop::collection::vec(0..32usize, CODE_LEN)) {
        let text: String = symbols.iter().map(|&i| ALPHABET[i] as char).collect();
        let code = CouponCode::parse(&text).unwrap();
        prop_assert_eq!(code.as_str(), text.as_str());
        prop_assert_eq!(CouponCode::parse(&code.to_string()).unwrap(), code.clone());
        prop_assert_eq!(CouponCode::parse(&code.to_string().to_lowercase()).unwrap(), code);
    }
}

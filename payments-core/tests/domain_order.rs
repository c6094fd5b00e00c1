//! Orders: the kiosk rules, snapshots, totals, serde, and the total == Σ lines property.

use payments_core::money::{Currency, Money};
use payments_core::order::{Order, OrderError, OrderId, Product, ProductId};
use proptest::prelude::*;
use serde_json::json;

fn product(id: &str, price: i64) -> Product {
    Product {
        id: ProductId::new(id),
        name: format!("name of {id}"),
        price: Money::new(price, Currency::Krw).unwrap(),
        enabled: true,
    }
}

fn krw(n: i64) -> Money {
    Money::new(n, Currency::Krw).unwrap()
}

#[test]
fn an_order_snapshots_its_products_and_totals_once() {
    let mut latte = product("latte", 4_500);
    let bagel = product("bagel", 3_000);
    let order = Order::new(OrderId::new("o-1"), [(&latte, 2), (&bagel, 1)]).unwrap();
    assert_eq!(order.id().as_str(), "o-1");
    assert_eq!(order.total(), krw(12_000));
    assert_eq!(order.currency(), Currency::Krw);
    assert_eq!(order.lines().len(), 2);
    let first = &order.lines()[0];
    assert_eq!(first.product_id(), &ProductId::new("latte"));
    assert_eq!(first.name(), "name of latte");
    assert_eq!(first.unit_price(), krw(4_500));
    assert_eq!(first.quantity(), 2);
    assert_eq!(first.subtotal(), krw(9_000));

    // A later price change or rename does not alter the placed order.
    latte.price = krw(9_999);
    latte.name = "renamed".into();
    latte.enabled = false;
    assert_eq!(order.lines()[0].unit_price(), krw(4_500));
    assert_eq!(order.lines()[0].name(), "name of latte");
    assert_eq!(order.total(), krw(12_000));

    assert!(order.contains(&ProductId::new("bagel")));
    assert!(!order.contains(&ProductId::new("scone")));
    assert_eq!(
        order.line_for(&ProductId::new("bagel")).unwrap().quantity(),
        1
    );
}

#[test]
fn empty_id_and_no_lines_are_refused() {
    let latte = product("latte", 4_500);
    assert_eq!(
        Order::new(OrderId::new(""), [(&latte, 1)]),
        Err(OrderError::EmptyId)
    );
    assert_eq!(
        Order::new(OrderId::new("o-2"), []),
        Err(OrderError::NoLines {
            order_id: OrderId::new("o-2")
        })
    );
}

#[test]
fn a_quantity_below_one_names_the_line() {
    let latte = product("latte", 4_500);
    let bagel = product("bagel", 3_000);
    for quantity in [0, -1, i64::MIN] {
        let err = Order::new(OrderId::new("o"), [(&latte, 1), (&bagel, quantity)]).unwrap_err();
        assert_eq!(
            err,
            OrderError::QuantityBelowOne {
                line: 1,
                product_id: ProductId::new("bagel"),
                quantity
            }
        );
        assert!(err.to_string().contains("line 1 (bagel)"), "{err}");
    }
}

#[test]
fn a_disabled_product_is_refused() {
    let latte = product("latte", 4_500);
    let mut sold_out = product("muffin", 2_500);
    sold_out.enabled = false;
    assert_eq!(
        Order::new(OrderId::new("o"), [(&latte, 1), (&sold_out, 1)]),
        Err(OrderError::ProductDisabled {
            line: 1,
            product_id: ProductId::new("muffin")
        })
    );
}

#[test]
fn mixed_currencies_are_refused() {
    let latte = product("latte", 4_500);
    let mut imported = product("import", 500);
    imported.price = Money::new(500, Currency::Usd).unwrap();
    assert_eq!(
        Order::new(OrderId::new("o"), [(&latte, 1), (&imported, 1)]),
        Err(OrderError::MixedCurrency {
            line: 1,
            product_id: ProductId::new("import"),
            expected: Currency::Krw,
            found: Currency::Usd
        })
    );
}

#[test]
fn overflow_is_an_error_not_a_wrap() {
    let pricey = product("gold", i64::MAX / 2 + 1);
    assert_eq!(
        Order::new(OrderId::new("o"), [(&pricey, 2)]),
        Err(OrderError::SubtotalOverflow {
            line: 0,
            product_id: ProductId::new("gold")
        })
    );
    let big = product("big", i64::MAX - 10);
    let small = product("small", 11);
    assert_eq!(
        Order::new(OrderId::new("o"), [(&big, 1), (&small, 1)]),
        Err(OrderError::TotalOverflow {
            line: 1,
            product_id: ProductId::new("small")
        })
    );
    // Exactly i64::MAX is fine.
    let fits = product("small", 10);
    assert_eq!(
        Order::new(OrderId::new("o"), [(&big, 1), (&fits, 1)])
            .unwrap()
            .total(),
        krw(i64::MAX)
    );
}

#[test]
fn serde_is_snake_case_and_rechecks_on_the_way_in() {
    let latte = product("latte", 4_500);
    let order = Order::new(OrderId::new("o-1"), [(&latte, 2)]).unwrap();
    let value = serde_json::to_value(&order).unwrap();
    assert_eq!(
        value,
        json!({
            "id": "o-1",
            "lines": [{
                "product_id": "latte",
                "name": "name of latte",
                "unit_price": {"amount": 4500, "currency": "KRW"},
                "quantity": 2,
                "subtotal": {"amount": 9000, "currency": "KRW"}
            }],
            "total": {"amount": 9000, "currency": "KRW"}
        })
    );
    assert_eq!(serde_json::from_value::<Order>(value).unwrap(), order);

    // Subtotal and total may be omitted on input; they are computed.
    let bare: Order = serde_json::from_value(json!({
        "id": "o-1",
        "lines": [{"product_id": "latte", "name": "name of latte",
                   "unit_price": {"amount": 4500, "currency": "KRW"}, "quantity": 2}]
    }))
    .unwrap();
    assert_eq!(bare, order);
}

#[test]
fn deserializing_a_lying_order_names_what_is_wrong() {
    let line = |quantity: i64, subtotal: i64| {
        json!({"product_id": "latte", "name": "Latte",
               "unit_price": {"amount": 4500, "currency": "KRW"},
               "quantity": quantity, "subtotal": {"amount": subtotal, "currency": "KRW"}})
    };
    let err = serde_json::from_value::<Order>(json!({"id": "o", "lines": [line(2, 1)]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("stated subtotal ₩1 is not ₩9,000"), "{err}");

    let err = serde_json::from_value::<Order>(json!({
        "id": "o", "lines": [line(2, 9000)], "total": {"amount": 1, "currency": "KRW"}
    }))
    .unwrap_err()
    .to_string();
    assert!(err.contains("stated total ₩1"), "{err}");

    let err = serde_json::from_value::<Order>(json!({"id": "o", "lines": [line(0, 0)]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("quantity must be at least 1"), "{err}");

    let err = serde_json::from_value::<Order>(json!({"id": "o", "lines": []}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no lines"), "{err}");
}

#[test]
fn stated_mismatches_are_typed_errors() {
    // Through serde the variant arrives inside a serde_json::Error carrying its Display.
    let tampered = json!({
        "id": "o", "lines": [{"product_id": "p", "name": "P",
            "unit_price": {"amount": 100, "currency": "KRW"}, "quantity": 3,
            "subtotal": {"amount": 200, "currency": "KRW"}}]
    });
    let err = serde_json::from_value::<Order>(tampered)
        .unwrap_err()
        .to_string();
    let expected = OrderError::SubtotalMismatch {
        line: 0,
        product_id: ProductId::new("p"),
        stated: krw(200),
        computed: krw(300),
    };
    assert!(err.contains(&expected.to_string()), "{err}");

    let tampered = json!({
        "id": "o", "lines": [{"product_id": "p", "name": "P",
            "unit_price": {"amount": 100, "currency": "KRW"}, "quantity": 3}],
        "total": {"amount": 301, "currency": "KRW"}
    });
    let err = serde_json::from_value::<Order>(tampered)
        .unwrap_err()
        .to_string();
    let expected = OrderError::TotalMismatch {
        order_id: OrderId::new("o"),
        stated: krw(301),
        computed: krw(300),
    };
    assert!(err.contains(&expected.to_string()), "{err}");
}

proptest! {
    #[test]
    fn total_is_the_sum_of_the_lines(
        lines in prop::collection::vec((0..=1_000_000i64, 1..=1_000i64), 1..20)
    ) {
        let products: Vec<Product> = lines
            .iter()
            .enumerate()
            .map(|(i, (price, _))| product(&format!("p{i}"), *price))
            .collect();
        let order = Order::new(
            OrderId::new("o"),
            products.iter().zip(lines.iter().map(|(_, q)| *q)),
        )
        .unwrap();
        let expected: i64 = lines.iter().map(|(p, q)| p * q).sum();
        prop_assert_eq!(order.total().amount(), expected);
        let from_lines = Money::sum(Currency::Krw, order.lines().iter().map(|l| l.subtotal())).unwrap();
        prop_assert_eq!(order.total(), from_lines);
        for line in order.lines() {
            prop_assert_eq!(line.subtotal(), line.unit_price().checked_mul(line.quantity()).unwrap());
        }
    }

    #[test]
    fn huge_orders_overflow_as_errors(
        lines in prop::collection::vec((0..=i64::MAX, 1..=i64::MAX), 1..6)
    ) {
        let products: Vec<Product> = lines
            .iter()
            .enumerate()
            .map(|(i, (price, _))| product(&format!("p{i}"), *price))
            .collect();
        let result = Order::new(
            OrderId::new("o"),
            products.iter().zip(lines.iter().map(|(_, q)| *q)),
        );
        let exact = lines.iter().try_fold(0i64, |acc, (p, q)| p.checked_mul(*q).and_then(|s| acc.checked_add(s)));
        match (exact, result) {
            (Some(sum), Ok(order)) => prop_assert_eq!(order.total().amount(), sum),
            (None, Err(e)) => prop_assert!(
                matches!(e, OrderError::SubtotalOverflow { .. } | OrderError::TotalOverflow { .. }),
                "unexpected {:?}", e
            ),
            (exact, result) => prop_assert!(false, "exact {:?} vs {:?}", exact, result),
        }
    }
}

//! Payment methods: constructors, validation and the tagged serde shape.

use payments_core::coupon::CouponCode;
use payments_core::payment_method::{PaymentMethod, PaymentMethodError, ReservationRef};
use payments_core::records::{Source, Vendor, VendorCode};
use payments_core::secret::Secret;
use serde_json::json;
use uuid::Uuid;

fn vendor(uid: &str) -> Vendor {
    Vendor {
        code: VendorCode::Iamport,
        store_id: "main".into(),
        uid: uid.into(),
    }
}

fn source(id: &str) -> Source {
    Source {
        schema: "kiosk".into(),
        table: "members".into(),
        id: id.into(),
    }
}

#[test]
fn saved_card_by_id_serializes_tagged_and_keeps_the_password_out_of_debug() {
    let id = Uuid::from_u128(7);
    let method = PaymentMethod::saved_card_by_id(id, Secret::from("s3cret")).unwrap();
    let value = serde_json::to_value(&method).unwrap();
    assert_eq!(
        value,
        json!({
            "type": "saved_card",
            "reservation": {"id": "00000000-0000-0000-0000-000000000007"},
            "password": "s3cret"
        })
    );
    assert_eq!(
        serde_json::from_value::<PaymentMethod>(value).unwrap(),
        method
    );
    assert!(!format!("{method:?}").contains("s3cret"));
    assert_eq!(method.type_name(), "saved_card");
    assert_eq!(method.vendor(), None);
}

#[test]
fn saved_card_by_source_round_trips() {
    let method = PaymentMethod::saved_card_by_source(source("m-1"), Secret::from("pw")).unwrap();
    let value = serde_json::to_value(&method).unwrap();
    assert_eq!(
        value["reservation"],
        json!({"source": {"schema": "kiosk", "table": "members", "id": "m-1"}})
    );
    let back: PaymentMethod = serde_json::from_value(value).unwrap();
    assert!(matches!(
        back,
        PaymentMethod::SavedCard { reservation: ReservationRef::Source(ref s), .. } if s.id == "m-1"
    ));
}

#[test]
fn pg_payments_carry_the_vendor() {
    let cases = [
        (PaymentMethod::card(vendor("imp_1")).unwrap(), "card"),
        (
            PaymentMethod::virtual_account(vendor("imp_2")).unwrap(),
            "virtual_account",
        ),
        (
            PaymentMethod::transfer(vendor("imp_3")).unwrap(),
            "transfer",
        ),
    ];
    for (method, tag) in cases {
        let value = serde_json::to_value(&method).unwrap();
        assert_eq!(value["type"], tag);
        assert_eq!(value["vendor"]["code"], "iamport");
        assert_eq!(method.type_name(), tag);
        assert_eq!(method.vendor().unwrap().store_id, "main");
        assert_eq!(
            serde_json::from_value::<PaymentMethod>(value).unwrap(),
            method
        );
    }
    let toss: PaymentMethod = serde_json::from_value(json!({
        "type": "card",
        "vendor": {"code": "toss.payments", "store_id": "s", "uid": "pk_1"}
    }))
    .unwrap();
    assert_eq!(toss.vendor().unwrap().code, VendorCode::TossPayments);
}

#[test]
fn a_coupon_is_paid_by_code() {
    let code = CouponCode::parse("ABCDE-FGHJK-MNPQR-STVWX").unwrap();
    let method = PaymentMethod::coupon(code.clone());
    let value = serde_json::to_value(&method).unwrap();
    assert_eq!(
        value,
        json!({"type": "coupon", "code": "ABCDE-FGHJK-MNPQR-STVWX"})
    );
    // People type codes in lower case and without dashes.
    let typed: PaymentMethod =
        serde_json::from_value(json!({"type": "coupon", "code": "abcdefghjkmnpqrstvwx"})).unwrap();
    assert_eq!(typed, method);
    assert!(
        serde_json::from_value::<PaymentMethod>(json!({"type": "coupon", "code": "SHORT"}))
            .is_err()
    );
}

#[test]
fn empty_fields_are_refused_by_name() {
    let empty = |field| Err(PaymentMethodError::EmptyField { field });
    assert_eq!(
        PaymentMethod::saved_card_by_id(Uuid::nil(), Secret::from("")),
        empty("password")
    );
    assert_eq!(
        PaymentMethod::saved_card_by_source(source(" "), Secret::from("pw")),
        empty("reservation.source.id")
    );
    let mut no_table = source("1");
    no_table.table.clear();
    assert_eq!(
        PaymentMethod::saved_card_by_source(no_table, Secret::from("pw")),
        empty("reservation.source.table")
    );
    assert_eq!(PaymentMethod::card(vendor("")), empty("vendor.uid"));
    let mut no_store = vendor("imp_1");
    no_store.store_id.clear();
    assert_eq!(PaymentMethod::transfer(no_store), empty("vendor.store_id"));

    // Deserialization runs the same checks and says which field.
    let err = serde_json::from_value::<PaymentMethod>(json!({
        "type": "virtual_account",
        "vendor": {"code": "iamport", "store_id": "main", "uid": ""}
    }))
    .unwrap_err();
    assert!(
        err.to_string().contains("vendor.uid must not be empty"),
        "{err}"
    );
    let err = serde_json::from_value::<PaymentMethod>(json!({
        "type": "saved_card",
        "reservation": {"source": {"schema": "", "table": "t", "id": "1"}},
        "password": "pw"
    }))
    .unwrap_err();
    assert!(
        err.to_string().contains("reservation.source.schema"),
        "{err}"
    );
}

#[test]
fn unknown_types_and_vendors_are_refused() {
    assert!(serde_json::from_value::<PaymentMethod>(json!({"type": "cash"})).is_err());
    assert!(
        serde_json::from_value::<PaymentMethod>(json!({
            "type": "card", "vendor": {"code": "stripe", "store_id": "s", "uid": "u"}
        }))
        .is_err()
    );
}

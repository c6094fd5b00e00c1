//! Transactions: the state machine, its events, its guards, storage serde, and the
//! "cancels never exceed what was paid" property.

use chrono::{Duration, TimeZone, Utc};
use payments_core::clock::{Clock, FixedClock};
use payments_core::money::{Currency, Money};
use payments_core::order::OrderId;
use payments_core::timestamp::Timestamp;
use payments_core::transaction::{
    FailureReason, Transaction, TransactionAction, TransactionError, TransactionEvent,
    TransactionStatus,
};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap()
}

fn krw(n: i64) -> Money {
    Money::new(n, Currency::Krw).unwrap()
}

fn pending(total: i64) -> Transaction {
    Transaction::pending(Uuid::from_u128(1), OrderId::new("o-1"), krw(total), t0()).unwrap()
}

fn approved(total: i64) -> Transaction {
    let mut tx = pending(total);
    tx.approve(krw(total), t0() + Duration::seconds(1)).unwrap();
    tx
}

fn declined() -> FailureReason {
    FailureReason {
        code: "REJECT_CARD_COMPANY".into(),
        message: "카드사 승인 거절".into(),
    }
}

#[test]
fn a_new_transaction_is_pending_with_nothing_paid() {
    let tx = pending(10_000);
    assert_eq!(tx.status(), TransactionStatus::Pending);
    assert_eq!(tx.status_message(), "결제 대기 중");
    assert_eq!(tx.total(), krw(10_000));
    assert_eq!(tx.paid(), krw(0));
    assert_eq!(tx.cancelled(), krw(0));
    assert_eq!(tx.balance(), krw(0));
    assert_eq!(tx.created_at(), t0());
    assert_eq!(tx.order_id().as_str(), "o-1");
    assert_eq!(
        Transaction::pending(Uuid::nil(), OrderId::new("o"), krw(0), t0()),
        Err(TransactionError::ZeroTotal)
    );
}

#[test]
fn approval_pays_the_total_and_yields_an_event() {
    let clock = FixedClock::new(t0());
    clock.advance(Duration::seconds(3));
    let mut tx = pending(10_000);
    let event = tx.approve(krw(10_000), clock.now()).unwrap();
    assert_eq!(
        event,
        TransactionEvent::Approved {
            transaction_id: Uuid::from_u128(1),
            order_id: OrderId::new("o-1"),
            amount: krw(10_000),
            at: t0() + Duration::seconds(3),
        }
    );
    assert_eq!(tx.status(), TransactionStatus::Approved);
    assert_eq!(tx.status_message(), "승인 완료");
    assert_eq!(tx.paid(), krw(10_000));
    assert_eq!(tx.balance(), krw(10_000));
    assert_eq!(tx.approved_at(), Some(t0() + Duration::seconds(3)));
}

#[test]
fn approving_another_amount_is_refused() {
    let mut tx = pending(10_000);
    assert_eq!(
        tx.approve(krw(9_000), t0()),
        Err(TransactionError::AmountMismatch {
            expected: krw(10_000),
            approved: krw(9_000)
        })
    );
    let dollars = Money::new(10_000, Currency::Usd).unwrap();
    assert!(matches!(
        tx.approve(dollars, t0()),
        Err(TransactionError::AmountMismatch { .. })
    ));
    assert_eq!(
        tx.status(),
        TransactionStatus::Pending,
        "unchanged on error"
    );
}

#[test]
fn failure_keeps_the_pg_reason() {
    let mut tx = pending(10_000);
    let event = tx.fail(declined(), t0()).unwrap();
    assert!(matches!(
        event,
        TransactionEvent::Failed { ref reason, amount, .. }
            if reason.code == "REJECT_CARD_COMPANY" && amount == krw(10_000)
    ));
    assert_eq!(tx.status(), TransactionStatus::Failed);
    assert_eq!(tx.status_message(), "결제 실패: 카드사 승인 거절");
    assert_eq!(tx.failure(), Some(&declined()));
    assert_eq!(tx.failed_at(), Some(t0()));
    assert_eq!(tx.paid(), krw(0));
}

#[test]
fn partial_then_full_cancel() {
    let mut tx = approved(10_000);
    let at = t0() + Duration::minutes(5);
    let event = tx.cancel(krw(3_000), "라떼 환불", at).unwrap();
    assert_eq!(
        event,
        TransactionEvent::Cancelled {
            transaction_id: Uuid::from_u128(1),
            order_id: OrderId::new("o-1"),
            amount: krw(3_000),
            cancelled: krw(3_000),
            balance: krw(7_000),
            full: false,
            reason: "라떼 환불".into(),
            at,
        }
    );
    assert_eq!(tx.status(), TransactionStatus::PartiallyCancelled);
    assert_eq!(tx.status_message(), "부분 취소 (잔액 ₩7,000)");
    assert_eq!(tx.cancelled_at(), None);

    let event = tx
        .cancel_all("전체 취소", at + Duration::minutes(1))
        .unwrap();
    assert!(matches!(
        event,
        TransactionEvent::Cancelled { amount, balance, full: true, .. }
            if amount == krw(7_000) && balance == krw(0)
    ));
    assert_eq!(tx.status(), TransactionStatus::Cancelled);
    assert_eq!(tx.status_message(), "취소 완료");
    assert_eq!(tx.cancelled(), krw(10_000));
    assert_eq!(tx.balance(), krw(0));
    assert_eq!(tx.cancels().len(), 2);
    assert_eq!(tx.cancelled_at(), Some(at + Duration::minutes(1)));
}

#[test]
fn cancels_are_positive_in_currency_and_within_the_balance() {
    let mut tx = approved(10_000);
    assert_eq!(
        tx.cancel(krw(0), "r", t0()),
        Err(TransactionError::ZeroCancel)
    );
    assert_eq!(
        tx.cancel_minor(-500, "r", t0()),
        Err(TransactionError::NegativeCancel { amount: -500 })
    );
    assert_eq!(
        tx.cancel(Money::new(1, Currency::Jpy).unwrap(), "r", t0()),
        Err(TransactionError::CurrencyMismatch {
            expected: Currency::Krw,
            found: Currency::Jpy
        })
    );
    assert_eq!(
        tx.cancel(krw(10_001), "r", t0()),
        Err(TransactionError::ExceedsBalance {
            requested: krw(10_001),
            balance: krw(10_000)
        })
    );
    tx.cancel_minor(4_000, "r", t0()).unwrap();
    assert_eq!(
        tx.cancel(krw(6_001), "r", t0()),
        Err(TransactionError::ExceedsBalance {
            requested: krw(6_001),
            balance: krw(6_000)
        })
    );
    assert_eq!(tx.cancelled(), krw(4_000), "refused cancels change nothing");
    assert_eq!(tx.cancels().len(), 1);
}

#[test]
fn illegal_transitions_are_typed() {
    let illegal = |from, action| Err(TransactionError::IllegalTransition { from, action });

    let mut tx = pending(1_000);
    assert_eq!(
        tx.cancel(krw(1), "r", t0()),
        illegal(TransactionStatus::Pending, TransactionAction::Cancel)
    );
    assert_eq!(
        tx.cancel_all("r", t0()),
        illegal(TransactionStatus::Pending, TransactionAction::Cancel)
    );

    let mut tx = approved(1_000);
    assert_eq!(
        tx.approve(krw(1_000), t0()),
        illegal(TransactionStatus::Approved, TransactionAction::Approve)
    );
    assert_eq!(
        tx.fail(declined(), t0()),
        illegal(TransactionStatus::Approved, TransactionAction::Fail)
    );

    tx.cancel(krw(1), "r", t0()).unwrap();
    assert_eq!(
        tx.fail(declined(), t0()),
        illegal(
            TransactionStatus::PartiallyCancelled,
            TransactionAction::Fail
        )
    );
    tx.cancel_all("r", t0()).unwrap();
    assert_eq!(
        tx.cancel(krw(1), "r", t0()),
        illegal(TransactionStatus::Cancelled, TransactionAction::Cancel)
    );
    assert_eq!(
        tx.approve(krw(1_000), t0()),
        illegal(TransactionStatus::Cancelled, TransactionAction::Approve)
    );

    let mut tx = pending(1_000);
    tx.fail(declined(), t0()).unwrap();
    assert_eq!(
        tx.approve(krw(1_000), t0()),
        illegal(TransactionStatus::Failed, TransactionAction::Approve)
    );
    assert_eq!(
        tx.fail(declined(), t0()),
        illegal(TransactionStatus::Failed, TransactionAction::Fail)
    );
    let err = tx.cancel(krw(1), "r", t0()).unwrap_err();
    assert_eq!(err.to_string(), "cannot cancel a failed transaction");
}

#[test]
fn storage_serde_round_trips_and_replays() {
    let mut tx = approved(10_000);
    tx.cancel(krw(2_500), "부분", t0() + Duration::minutes(1))
        .unwrap();
    let value = serde_json::to_value(&tx).unwrap();
    assert_eq!(value["status"], "partially_cancelled");
    assert_eq!(value["balance"], json!({"amount": 7500, "currency": "KRW"}));
    assert_eq!(value["created_at"], "2026-11-21T03:00:00.000Z");
    assert_eq!(value["cancels"][0]["at"], "2026-11-21T03:01:00.000Z");
    let back: Transaction = serde_json::from_value(value).unwrap();
    assert_eq!(back, tx);

    let mut failed = pending(10_000);
    failed.fail(declined(), t0()).unwrap();
    let back: Transaction = serde_json::from_value(serde_json::to_value(&failed).unwrap()).unwrap();
    assert_eq!(back, failed);
    assert_eq!(back.status_message(), "결제 실패: 카드사 승인 거절");
}

#[test]
fn a_tampered_record_is_refused() {
    let mut tx = approved(10_000);
    tx.cancel(krw(2_500), "r", t0()).unwrap();
    let stored = serde_json::to_value(&tx).unwrap();

    let mut lying_status = stored.clone();
    lying_status["status"] = json!("approved");
    let err = serde_json::from_value::<Transaction>(lying_status).unwrap_err();
    assert!(err.to_string().contains("status does not match"), "{err}");

    let mut lying_cancelled = stored.clone();
    lying_cancelled["cancelled"] = json!({"amount": 0, "currency": "KRW"});
    let err = serde_json::from_value::<Transaction>(lying_cancelled).unwrap_err();
    assert!(
        err.to_string().contains("cancelled does not match"),
        "{err}"
    );

    let mut over_cancelled = stored.clone();
    over_cancelled["cancels"][0]["amount"] = json!({"amount": 20000, "currency": "KRW"});
    let err = serde_json::from_value::<Transaction>(over_cancelled).unwrap_err();
    assert!(err.to_string().contains("only ₩10,000 remains"), "{err}");

    let mut both = stored.clone();
    both["failed_at"] = json!("2026-11-21T03:00:00.000Z");
    let err = serde_json::from_value::<Transaction>(both).unwrap_err();
    assert!(
        err.to_string().contains("approved_at/failure/failed_at"),
        "{err}"
    );

    let mut unpaid = serde_json::to_value(pending(10_000)).unwrap();
    unpaid["paid"] = json!({"amount": 10000, "currency": "KRW"});
    let err = serde_json::from_value::<Transaction>(unpaid).unwrap_err();
    assert!(err.to_string().contains("paid does not match"), "{err}");
}

#[test]
fn events_serialize_tagged() {
    let mut tx = pending(1_000);
    let event = tx.approve(krw(1_000), t0()).unwrap();
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(value["type"], "approved");
    assert_eq!(
        value["transaction_id"],
        "00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(value["at"], "2026-11-21T03:00:00.000Z");
    assert_eq!(
        serde_json::from_value::<TransactionEvent>(value).unwrap(),
        event
    );
}

#[derive(Debug, Clone)]
enum Op {
    Approve,
    Fail,
    Cancel(i64),
    CancelAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Approve),
        1 => Just(Op::Fail),
        6 => prop_oneof![-100..=12_000i64, Just(0i64), Just(i64::MAX), Just(i64::MIN)].prop_map(Op::Cancel),
        1 => Just(Op::CancelAll),
    ]
}

proptest! {
    #[test]
    fn cancels_never_exceed_what_was_paid(
        total in 1..=10_000i64,
        ops in prop::collection::vec(op(), 0..40),
    ) {
        let mut tx = pending(total);
        let mut accepted_cancels = 0i64;
        for (i, op) in ops.into_iter().enumerate() {
            let at = t0() + Duration::seconds(i as i64);
            let before = tx.clone();
            let result = match op {
                Op::Approve => tx.approve(krw(total), at),
                Op::Fail => tx.fail(declined(), at),
                Op::Cancel(n) => tx.cancel_minor(n, "r", at),
                Op::CancelAll => tx.cancel_all("r", at),
            };
            match result {
                Ok(TransactionEvent::Cancelled { amount, .. }) => {
                    prop_assert!(amount.amount() > 0);
                    accepted_cancels += amount.amount();
                }
                Ok(_) => {}
                Err(_) => prop_assert_eq!(&tx, &before, "a refused op changed the transaction"),
            }
            // The invariants, after every step.
            prop_assert!(tx.cancelled().amount() <= tx.paid().amount());
            prop_assert_eq!(tx.cancelled().amount(), accepted_cancels);
            let sum: i64 = tx.cancels().iter().map(|c| c.amount.amount()).sum();
            prop_assert_eq!(sum, tx.cancelled().amount());
            prop_assert_eq!(tx.balance(), tx.paid().checked_sub(tx.cancelled()).unwrap());
            let expected_status = match (tx.paid().is_zero(), tx.cancelled().is_zero(), tx.balance().is_zero()) {
                (true, _, _) => tx.status(), // pending or failed: checked below
                (false, true, _) => TransactionStatus::Approved,
                (false, false, false) => TransactionStatus::PartiallyCancelled,
                (false, false, true) => TransactionStatus::Cancelled,
            };
            prop_assert_eq!(tx.status(), expected_status);
            if tx.paid().is_zero() {
                prop_assert!(matches!(tx.status(), TransactionStatus::Pending | TransactionStatus::Failed));
            }
            // Storage never loses or invents anything.
            let back: Transaction = serde_json::from_value(serde_json::to_value(&tx).unwrap()).unwrap();
            prop_assert_eq!(&back, &tx);
        }
    }
}

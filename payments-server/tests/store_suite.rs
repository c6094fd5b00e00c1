//! The shared store suite: every assertion runs against both engines, [`SqliteStore`]
//! and [`PostgresStore`], so the PostgreSQL store is held to SQLite's semantics (the
//! same rows back, the same [`StoreConflict`] for the same broken rule, the same
//! all-or-nothing writes, the same optimistic versions, the same outbox) and both are
//! held to what several instances need (concurrent writers through two handles on one
//! database: one winner, no lost count, no delivery handed out twice).
//!
//! Each case is a generic `async fn` over a [`Pair`]: two handles on one database. On
//! SQLite the second handle is the same store (one process owns a file); on PostgreSQL
//! it is a second [`PostgresStore`] connected to the same database, as a second server
//! instance would be. The PostgreSQL cases run on one throwaway cluster per test binary
//! ([`TestPostgres::shared`]), a fresh database per test; without PostgreSQL binaries
//! they are skipped loudly, and under `CI=true` they fail.

use payments_core::envelope::EnvelopeKind;
use payments_core::money::{Currency, Money};
use payments_core::records::charges::TransactionKind;
use payments_core::records::coupons::CouponStatus;
use payments_core::records::{Source, Vendor, VendorCode};
use payments_core::timestamp::{self, Timestamp};
use payments_core::transaction::TransactionStatus;
use payments_core::vendor::PaymentStatus;
use payments_server::store::{
    Attempt, AttemptOutcome, AttemptPolicy, CouponStore, IdempotencyBegin, MessageKind, NewMessage,
    PasswordRecord, PostgresStore, ReceiverBudget, RecordKind, RequestHash, SqliteStore, Store,
    StoreConflict, StoreError, StoredCoupon, StoredHistory, StoredReservation, StoredTransaction,
    TransactionWrite, UnknownPayment,
};
use std::collections::HashSet;
use std::time::Duration;
use test_postgres::TestPostgres;
use uuid::Uuid;

/// Two handles on one database (see the module's comment).
struct Pair<S> {
    store: S,
    twin: S,
}

async fn sqlite() -> Pair<SqliteStore> {
    let store = SqliteStore::in_memory().unwrap();
    Pair {
        twin: store.clone(),
        store,
    }
}

async fn postgres() -> Option<Pair<PostgresStore>> {
    let server = TestPostgres::shared_or_skip("the PostgreSQL half of the store suite")?;
    let url = server.create_database("store_suite").unwrap();
    // Two instances connecting at once: the migrations run once, under the lock.
    let (store, twin) = tokio::join!(PostgresStore::connect(&url), PostgresStore::connect(&url));
    Some(Pair {
        store: store.unwrap(),
        twin: twin.unwrap(),
    })
}

/// Runs each case on both engines: `sqlite::case` and `postgres::case`.
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(pair) = super::postgres().await else { return };
                    super::$case(pair).await;
                }
            )*
        }
    };
}

suite!(
    a_history_round_trips_and_each_rule_it_breaks_is_named,
    a_history_whose_transaction_moved_on_is_refused_and_writes_nothing,
    a_history_update_applies_once_per_version,
    a_history_with_messages_writes_them_with_it_or_not_at_all,
    one_transaction_at_a_time_holds_an_order,
    a_transaction_update_whose_version_moved_on_writes_nothing,
    coupons_round_trip_and_duplicates_write_nothing,
    a_coupon_update_applies_once_per_version_with_its_transaction_and_messages,
    a_failing_transaction_write_rolls_the_coupon_back,
    reservations_round_trip_and_name_the_rule_they_break,
    a_deletion_is_found_by_billing_key_and_recorded_once,
    sealed_reservations_are_not_sealed_again,
    an_idempotency_key_is_claimed_answered_replayed_and_released,
    a_claim_stored_under_an_accepted_hash_still_matches,
    an_expired_key_is_new_again_and_swept_in_batches,
    a_certification_is_claimed_once_and_forgotten_when_old,
    password_failures_are_counted_per_record_and_cleared,
    a_password_hash_is_replaced_only_while_it_is_the_one_read,
    writing_messages_wakes_the_worker_and_deliveries_move_on,
    given_up_deliveries_are_listed_newest_first_in_pages,
    a_claim_leases_deliveries_until_it_runs_out_or_is_recorded,
    a_stream_hands_out_its_next_message_only_once_the_previous_is_done,
    a_claim_hands_each_receiver_host_no_more_than_its_budget,
    concurrent_claims_never_hand_out_a_delivery_twice,
    concurrent_inserts_of_one_history_store_one_and_name_the_rule,
    concurrent_redemptions_of_one_coupon_have_one_winner,
    concurrent_wrong_passwords_are_all_counted,
    concurrent_claims_of_one_idempotency_key_let_one_proceed,
    a_history_awaiting_the_pg_is_checked_until_it_is_final,
    concurrent_check_claims_never_hand_out_a_history_twice,
    an_unknown_payment_is_kept_once_and_forgotten_when_recorded,
    a_pending_charge_is_checked_until_it_is_final,
);

// ---- fixtures: the one place the suite builds rows -------------------------------------

fn at(text: &str) -> Timestamp {
    timestamp::parse(text).unwrap()
}

fn source(id: &str) -> Source {
    Source {
        schema: "shop".into(),
        table: "orders".into(),
        id: id.into(),
    }
}

fn vendor(uid: &str) -> Vendor {
    Vendor {
        code: VendorCode::TossPayments,
        store_id: "main".into(),
        uid: uid.into(),
    }
}

fn history(id: u128, source_id: &str, uid: &str) -> StoredHistory {
    StoredHistory {
        id: Uuid::from_u128(id),
        vendor: vendor(uid),
        order_id: source_id.into(),
        source: source(source_id),
        price: krw(20_000),
        refund: None,
        webhook_url: Some("https://shop.example/hooks".into()),
        envelope: EnvelopeKind::SealedV2,
        password_hash: "hash".into(),
        data_sealed: "sealed-data".into(),
        cancels_sealed: "sealed-cancels".into(),
        status: PaymentStatus::Paid,
        created_at: at("2026-06-01T00:00:00.000Z"),
        paid_at: Some(at("2026-06-01T00:00:01.000Z")),
        cancelled_at: None,
        version: 0,
    }
}

fn krw(amount: i64) -> Money {
    Money::new(amount, Currency::Krw).unwrap()
}

fn transaction(
    id: u128,
    kind: TransactionKind,
    order_id: &str,
    holds_order: bool,
) -> StoredTransaction {
    StoredTransaction {
        id: Uuid::from_u128(id),
        kind,
        order_id: order_id.into(),
        status: TransactionStatus::Pending,
        history_id: None,
        body_sealed: "sealed-transaction".into(),
        password_hash: "hash".into(),
        holds_order,
        created_at: at("2026-06-01T00:00:00.000Z"),
        attempt_until: None,
        version: 0,
    }
}

fn charge(id: u128, order_id: &str) -> StoredTransaction {
    transaction(id, TransactionKind::Charge, order_id, true)
}

/// An event message, a stream of its own.
fn message(id: u128) -> NewMessage {
    message_in(id, &format!("event:{id}"), "http://127.0.0.1:9/events")
}

/// A message in `stream`, for `url`.
fn message_in(id: u128, stream: &str, url: &str) -> NewMessage {
    NewMessage {
        id: Uuid::from_u128(id),
        kind: MessageKind::Event,
        history_id: None,
        stream: stream.into(),
        body_sealed: "sealed-event".into(),
        url: url.into(),
        envelope: EnvelopeKind::SealedV2,
        created_at: at("2026-06-01T00:00:00.000Z"),
    }
}

/// The ids of what a claim handed out, in its order.
fn ids(claimed: &[payments_server::store::Delivery]) -> Vec<Uuid> {
    claimed.iter().map(|d| d.webhook_id).collect()
}

fn coupon(hash: &str) -> StoredCoupon {
    StoredCoupon {
        code_hash: hash.to_owned(),
        status: CouponStatus::Issued,
        body_sealed: format!("sealed-{hash}"),
        issued_at: at("2026-01-01T00:00:00.000Z"),
        expires_at: at("2027-01-01T00:00:00.000Z"),
        version: 0,
    }
}

/// `uid_hash` stands for the billing key's keyed hash (the store never sees the key).
fn reservation(id: u128, source_id: &str, uid_hash: &str) -> StoredReservation {
    StoredReservation {
        id: Uuid::from_u128(id),
        vendor_code: VendorCode::TossPayments,
        store_id: "main".into(),
        vendor_uid_hash: uid_hash.into(),
        vendor_uid_sealed: format!("sealed-{uid_hash}"),
        source: source(source_id),
        title: "card".into(),
        password_hash: "hash".into(),
        data_sealed: "sealed".into(),
        created_at: at("2026-06-01T00:00:00.000Z"),
    }
}

fn now() -> i64 {
    at("2026-06-01T00:00:00.000Z").timestamp_millis()
}

fn failed_attempt() -> Attempt {
    Attempt {
        at: at("2026-06-01T00:00:01.000Z"),
        status: Some(503),
        body_excerpt: Some("down".into()),
        error: None,
    }
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, expected: StoreConflict) {
    match result {
        Err(StoreError::Conflict(conflict)) => assert_eq!(conflict, expected),
        other => panic!("expected Conflict({expected:?}), got {other:?}"),
    }
}

/// Writes `count` event messages (ids 1000 + n), each with a transaction of its own.
async fn write_messages(store: &impl Store, count: u128) {
    for n in 0..count {
        store
            .write_transaction(
                &TransactionWrite::Insert(charge(500 + n, &format!("m-{n}"))),
                &[message(1000 + n)],
            )
            .await
            .unwrap();
    }
}

// ---- histories -------------------------------------------------------------------------

async fn a_history_round_trips_and_each_rule_it_breaks_is_named<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let first = history(1, "o-1", "pk-1");
    store.insert_history(&first, None, &[]).await.unwrap();
    assert_eq!(
        twin.history_by_id(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        twin.history_by_source(&first.source).await.unwrap(),
        Some(first.clone())
    );
    let by_uid = twin
        .history_by_vendor_uid(VendorCode::TossPayments, "pk-1")
        .await
        .unwrap();
    assert_eq!(by_uid.map(|h| h.id), Some(first.id));
    let by_order = twin
        .history_by_order_id(VendorCode::TossPayments, "o-1")
        .await
        .unwrap();
    assert_eq!(by_order.map(|h| h.id), Some(first.id));
    assert_eq!(
        twin.history_by_vendor_uid(VendorCode::Iamport, "pk-1")
            .await
            .unwrap(),
        None
    );

    assert_conflict(
        twin.insert_history(&history(2, "o-1", "pk-2"), None, &[])
            .await,
        StoreConflict::Source,
    );
    assert_conflict(
        twin.insert_history(&history(3, "o-3", "pk-1"), None, &[])
            .await,
        StoreConflict::VendorUid,
    );
    // Both rules broken: the source's is named, as the use cases expect.
    assert_conflict(
        twin.insert_history(&history(4, "o-1", "pk-1"), None, &[])
            .await,
        StoreConflict::Source,
    );
    assert_eq!(store.history_by_id(Uuid::from_u128(3)).await.unwrap(), None);

    for (source_id, uid, expected) in [
        ("o-1", "pk-1", Some(StoreConflict::Source)),
        ("o-1", "pk-9", Some(StoreConflict::Source)),
        ("o-9", "pk-1", Some(StoreConflict::VendorUid)),
        ("o-9", "pk-9", None),
    ] {
        assert_eq!(
            store
                .history_conflict(&source(source_id), VendorCode::TossPayments, uid)
                .await
                .unwrap(),
            expected,
            "{source_id} {uid}"
        );
    }
    // Sub-millisecond precision is not kept, on either engine.
    let mut precise = history(5, "o-5", "pk-5");
    precise.created_at = chrono::DateTime::from_timestamp(1_780_000_000, 123_456_789).unwrap();
    store.insert_history(&precise, None, &[]).await.unwrap();
    let read = store.history_by_id(precise.id).await.unwrap().unwrap();
    assert_eq!(
        read.created_at,
        chrono::DateTime::from_timestamp(1_780_000_000, 123_000_000).unwrap()
    );
}

async fn a_history_whose_transaction_moved_on_is_refused_and_writes_nothing<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    let pending = charge(10, "o-1");
    store
        .write_transaction(&TransactionWrite::Insert(pending.clone()), &[])
        .await
        .unwrap();
    let mut stale = pending.clone();
    stale.version = 7;
    stale.status = TransactionStatus::Approved;
    assert_conflict(
        twin.insert_history(
            &history(1, "o-1", "pk-1"),
            Some(&TransactionWrite::Update(stale)),
            &[message(11)],
        )
        .await,
        StoreConflict::TransactionMoved,
    );
    assert_eq!(store.history_by_id(Uuid::from_u128(1)).await.unwrap(), None);
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
}

async fn a_history_update_applies_once_per_version<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let stored = history(1, "o-1", "pk-1");
    store.insert_history(&stored, None, &[]).await.unwrap();
    let mut cancelled = stored.clone();
    cancelled.refund = Some(krw(20_000));
    cancelled.status = PaymentStatus::Cancelled;
    cancelled.cancelled_at = Some(at("2026-06-02T00:00:00.000Z"));
    assert!(store.update_history(&cancelled, None, &[]).await.unwrap());
    // A second writer (another instance) that read version 0 loses.
    assert!(!twin.update_history(&cancelled, None, &[]).await.unwrap());
    let read = twin.history_by_id(stored.id).await.unwrap().unwrap();
    assert_eq!((read.refund, read.version), (Some(krw(20_000)), 1));
    assert_eq!(read.cancelled_at, cancelled.cancelled_at);
    assert_eq!(read.status, PaymentStatus::Cancelled);
}

async fn a_history_with_messages_writes_them_with_it_or_not_at_all<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    let first = history(1, "o-1", "pk-1");
    let mut webhook = message(11);
    webhook.kind = MessageKind::Webhook;
    webhook.history_id = Some(first.id);
    let approved = charge(20, "o-1");
    store
        .insert_history(
            &first,
            Some(&TransactionWrite::Insert(approved.clone())),
            &[webhook],
        )
        .await
        .unwrap();
    assert_eq!(twin.outbox_depth().await.unwrap(), 1);
    assert_eq!(
        twin.message_info(Uuid::from_u128(11)).await.unwrap(),
        Some((MessageKind::Webhook, Some(first.id)))
    );
    assert!(twin.transaction_by_id(approved.id).await.unwrap().is_some());
    // A refused history leaves neither its transaction nor its messages.
    assert_conflict(
        twin.insert_history(
            &history(2, "o-1", "pk-2"),
            Some(&TransactionWrite::Insert(charge(21, "o-2"))),
            &[message(12)],
        )
        .await,
        StoreConflict::Source,
    );
    assert_eq!(
        store.transaction_by_id(Uuid::from_u128(21)).await.unwrap(),
        None
    );
    assert_eq!(store.message_info(Uuid::from_u128(12)).await.unwrap(), None);
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
}

// ---- transactions ----------------------------------------------------------------------

async fn one_transaction_at_a_time_holds_an_order<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let first = charge(1, "o-1");
    store
        .write_transaction(&TransactionWrite::Insert(first.clone()), &[])
        .await
        .unwrap();
    assert_conflict(
        twin.write_transaction(&TransactionWrite::Insert(charge(2, "o-1")), &[message(9)])
            .await,
        StoreConflict::OrderHeld,
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    // A transaction that holds nothing (a failed charge) is not refused, nor one of
    // another kind for the same order.
    twin.write_transaction(
        &TransactionWrite::Insert(transaction(3, TransactionKind::Charge, "o-1", false)),
        &[],
    )
    .await
    .unwrap();
    twin.write_transaction(
        &TransactionWrite::Insert(transaction(5, TransactionKind::Coupon, "o-1", true)),
        &[],
    )
    .await
    .unwrap();
    // Once the holder fails it lets go, and the order can be charged again.
    let mut failed = first.clone();
    failed.status = TransactionStatus::Failed;
    failed.holds_order = false;
    assert!(
        twin.write_transaction(&TransactionWrite::Update(failed), &[])
            .await
            .unwrap()
    );
    store
        .write_transaction(&TransactionWrite::Insert(charge(4, "o-1")), &[])
        .await
        .unwrap();
    let all = twin
        .transactions_by_order(TransactionKind::Charge, "o-1")
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        [1, 3, 4].map(Uuid::from_u128),
        "ordered by creation, then id"
    );
    let read = store.transaction_by_id(first.id).await.unwrap().unwrap();
    assert_eq!(
        (read.status, read.holds_order, read.version),
        (TransactionStatus::Failed, false, 1)
    );
    // A taken id is an engine failure, not a rule.
    let error = store
        .write_transaction(&TransactionWrite::Insert(charge(4, "o-9")), &[])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Engine(_)), "{error:?}");
}

async fn a_transaction_update_whose_version_moved_on_writes_nothing<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    let mut row = charge(1, "o-1");
    store
        .insert_history(&history(7, "o-1", "pk-7"), None, &[])
        .await
        .unwrap();
    row.history_id = Some(Uuid::from_u128(7));
    store
        .write_transaction(&TransactionWrite::Insert(row.clone()), &[])
        .await
        .unwrap();
    assert_eq!(
        twin.transaction_by_history(Uuid::from_u128(7))
            .await
            .unwrap()
            .map(|t| t.id),
        Some(row.id)
    );
    let mut stale = row.clone();
    stale.version = 3;
    stale.status = TransactionStatus::Approved;
    assert!(
        !twin
            .write_transaction(&TransactionWrite::Update(stale), &[message(5)])
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .transaction_by_id(row.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        TransactionStatus::Pending
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
}

// ---- coupons ---------------------------------------------------------------------------

async fn coupons_round_trip_and_duplicates_write_nothing<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    store
        .insert_coupons(&[coupon("a"), coupon("b")])
        .await
        .unwrap();
    assert_eq!(twin.coupon_by_hash("a").await.unwrap(), Some(coupon("a")));
    assert_eq!(twin.coupon_by_hash("missing").await.unwrap(), None);
    // "c" is new but "a" is taken: the batch is refused as a whole.
    assert_conflict(
        twin.insert_coupons(&[coupon("c"), coupon("a")]).await,
        StoreConflict::CouponCode,
    );
    assert_eq!(store.coupon_by_hash("c").await.unwrap(), None);
    // A batch that repeats a code is refused too.
    assert_conflict(
        store.insert_coupons(&[coupon("d"), coupon("d")]).await,
        StoreConflict::CouponCode,
    );
    assert_eq!(store.coupon_by_hash("d").await.unwrap(), None);
}

async fn a_coupon_update_applies_once_per_version_with_its_transaction_and_messages<
    S: Store + Clone,
>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    store.insert_coupons(&[coupon("a")]).await.unwrap();
    let mut redeemed = coupon("a");
    redeemed.status = CouponStatus::Redeemed;
    redeemed.body_sealed = "sealed-redeemed".into();
    let (first, second) = (1, 2);
    assert!(
        store
            .update_coupon(
                &redeemed,
                Some(&TransactionWrite::Insert(transaction(
                    first,
                    TransactionKind::Coupon,
                    "o-1",
                    false
                ))),
                &[message(11)]
            )
            .await
            .unwrap()
    );
    let stored = twin.coupon_by_hash("a").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (CouponStatus::Redeemed, 1));
    assert_eq!(stored.body_sealed, "sealed-redeemed");
    assert!(
        twin.transaction_by_id(Uuid::from_u128(first))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(twin.outbox_depth().await.unwrap(), 1);
    // A second writer that read version 0 loses and leaves no trace.
    assert!(
        !twin
            .update_coupon(
                &redeemed,
                Some(&TransactionWrite::Insert(transaction(
                    second,
                    TransactionKind::Coupon,
                    "o-2",
                    false
                ))),
                &[message(12)]
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .transaction_by_id(Uuid::from_u128(second))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
    assert_eq!(store.coupon_by_hash("a").await.unwrap().unwrap().version, 1);
    // An unknown coupon is not updated either.
    assert!(
        !store
            .update_coupon(&coupon("zzz"), None, &[])
            .await
            .unwrap()
    );
}

async fn a_failing_transaction_write_rolls_the_coupon_back<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    store.insert_coupons(&[coupon("a")]).await.unwrap();
    store
        .write_transaction(
            &TransactionWrite::Insert(transaction(7, TransactionKind::Coupon, "o-1", false)),
            &[],
        )
        .await
        .unwrap();
    let mut redeemed = coupon("a");
    redeemed.status = CouponStatus::Redeemed;
    // The transaction id is taken: the whole write fails and the coupon stays issued.
    let write = TransactionWrite::Insert(transaction(7, TransactionKind::Coupon, "o-1", false));
    assert!(
        twin.update_coupon(&redeemed, Some(&write), &[message(3)])
            .await
            .is_err()
    );
    let stored = store.coupon_by_hash("a").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (CouponStatus::Issued, 0));
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
}

// ---- reservations ----------------------------------------------------------------------

async fn reservations_round_trip_and_name_the_rule_they_break<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let first = reservation(1, "c-1", "bk-1");
    store.insert_reservation(&first).await.unwrap();
    assert_eq!(
        twin.reservation_by_id(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        twin.reservation_by_source(&first.source).await.unwrap(),
        Some(first.clone())
    );
    assert_conflict(
        twin.insert_reservation(&reservation(2, "c-1", "bk-2"))
            .await,
        StoreConflict::Source,
    );
    assert_conflict(
        twin.insert_reservation(&reservation(3, "c-3", "bk-1"))
            .await,
        StoreConflict::VendorUid,
    );
    assert_eq!(
        store.reservation_by_id(Uuid::from_u128(3)).await.unwrap(),
        None
    );
}

async fn sealed_reservations_are_not_sealed_again<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let first = reservation(1, "c-1", "bk-1");
    store.insert_reservation(&first).await.unwrap();
    // Only rows from before migration 0009 are unsealed; a new one never is.
    assert_eq!(twin.unsealed_reservations(10).await.unwrap(), vec![]);
    assert!(
        !twin
            .seal_reservation_uid(first.id, "other-hash", "other-sealed")
            .await
            .unwrap()
    );
    assert_eq!(
        store.reservation_by_id(first.id).await.unwrap(),
        Some(first.clone())
    );
    // Another PG may hold the same hash; the same PG may not.
    let mut elsewhere = reservation(2, "c-2", "bk-1");
    elsewhere.vendor_code = VendorCode::Iamport;
    twin.insert_reservation(&elsewhere).await.unwrap();
    assert_eq!(
        store
            .reservation_by_vendor_uid(VendorCode::Iamport, "bk-1")
            .await
            .unwrap()
            .map(|r| r.id),
        Some(elsewhere.id)
    );
}

async fn a_deletion_is_found_by_billing_key_and_recorded_once<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let first = reservation(1, "c-1", "bk-1");
    store.insert_reservation(&first).await.unwrap();
    let found = twin
        .reservation_by_vendor_uid(first.vendor_code, "bk-1")
        .await
        .unwrap();
    assert_eq!(found, Some(first.clone()));
    assert_eq!(store.reservation_deleted_at(first.id).await.unwrap(), None);
    let deleted = at("2026-06-02T00:00:00.000Z");
    assert!(
        store
            .mark_reservation_deleted(first.id, deleted)
            .await
            .unwrap()
    );
    let later = deleted + chrono::Duration::hours(1);
    assert!(
        !twin
            .mark_reservation_deleted(first.id, later)
            .await
            .unwrap()
    );
    assert_eq!(
        twin.reservation_deleted_at(first.id).await.unwrap(),
        Some(deleted)
    );
}

// ---- idempotency -----------------------------------------------------------------------

async fn an_idempotency_key_is_claimed_answered_replayed_and_released<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    let begin = |store: &S, hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .idempotency_begin(
                    "k",
                    "POST /r",
                    &RequestHash::new(hash),
                    now,
                    now - 60_000,
                    i64::MIN,
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(begin(&store, "h", 1_000).await, IdempotencyBegin::Proceed);
    assert_eq!(begin(&twin, "h", 1_001).await, IdempotencyBegin::InFlight);
    assert_eq!(
        begin(&twin, "other", 1_001).await,
        IdempotencyBegin::Mismatch
    );
    // A claim older than the in-flight limit is taken over.
    assert_eq!(begin(&twin, "h", 100_000).await, IdempotencyBegin::Proceed);
    twin.idempotency_finish("k", "POST /r", 201, "sealed")
        .await
        .unwrap();
    assert_eq!(
        begin(&store, "h", 100_001).await,
        IdempotencyBegin::Replay {
            status: 201,
            body_sealed: "sealed".into()
        }
    );
    // A finished key is not abandoned.
    store.idempotency_abandon("k", "POST /r").await.unwrap();
    assert!(matches!(
        begin(&store, "h", 100_002).await,
        IdempotencyBegin::Replay { .. }
    ));
    // Another route is another key; an abandoned claim can be made again.
    assert_eq!(
        store
            .idempotency_begin("k", "PUT /r", &RequestHash::new("h"), 1, 0, i64::MIN)
            .await
            .unwrap(),
        IdempotencyBegin::Proceed
    );
    store.idempotency_abandon("k", "PUT /r").await.unwrap();
    assert_eq!(
        twin.idempotency_begin("k", "PUT /r", &RequestHash::new("h"), 2, 0, i64::MIN)
            .await
            .unwrap(),
        IdempotencyBegin::Proceed
    );
}

async fn an_expired_key_is_new_again_and_swept_in_batches<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let hash = RequestHash::new("h");
    for (n, started) in [(0, 1_000), (1, 1_001), (2, 1_002), (3, 50_000)] {
        let key = format!("k{n}");
        store
            .idempotency_begin(&key, "POST /r", &hash, started, 0, i64::MIN)
            .await
            .unwrap();
        store
            .idempotency_finish(&key, "POST /r", 201, "sealed")
            .await
            .unwrap();
    }
    // Before it expires, another body under k0 is a mismatch; once expired, it is new.
    let other = RequestHash::new("other");
    assert_eq!(
        twin.idempotency_begin("k0", "POST /r", &other, 60_000, 0, 1_000)
            .await
            .unwrap(),
        IdempotencyBegin::Mismatch
    );
    assert_eq!(
        twin.idempotency_begin("k0", "POST /r", &other, 60_000, 0, 1_001)
            .await
            .unwrap(),
        IdempotencyBegin::Proceed
    );
    // The new claim is in flight, with the new body.
    assert_eq!(
        store
            .idempotency_begin("k0", "POST /r", &other, 60_001, 0, 1_001)
            .await
            .unwrap(),
        IdempotencyBegin::InFlight
    );
    // k1 and k2 are expired before 40_000 (k0 restarted at 60_000, k3 at 50_000): a batch
    // of one deletes one, the next the other, the third finds none.
    assert_eq!(store.idempotency_sweep(40_000, 1).await.unwrap(), 1);
    assert_eq!(twin.idempotency_sweep(40_000, 1).await.unwrap(), 1);
    assert_eq!(store.idempotency_sweep(40_000, 1).await.unwrap(), 0);
    // What was not expired is kept: k3 still replays.
    assert!(matches!(
        twin.idempotency_begin("k3", "POST /r", &hash, 60_002, 0, 40_000)
            .await
            .unwrap(),
        IdempotencyBegin::Replay { status: 201, .. }
    ));
    // A swept key is simply new.
    assert_eq!(
        twin.idempotency_begin("k1", "POST /r", &other, 60_003, 0, 40_000)
            .await
            .unwrap(),
        IdempotencyBegin::Proceed
    );
}

// ---- certifications --------------------------------------------------------------------

async fn a_certification_is_claimed_once_and_forgotten_when_old<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let code = VendorCode::Iamport;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..6 {
        let handle = if n % 2 == 0 {
            store.clone()
        } else {
            twin.clone()
        };
        tasks.spawn(async move {
            handle
                .claim_certification(code, "main", "imp_1", 1_000)
                .await
                .unwrap()
        });
    }
    let mut won = 0;
    while let Some(done) = tasks.join_next().await {
        won += usize::from(done.unwrap());
    }
    assert_eq!(won, 1, "exactly one claim of one certification wins");
    // Another store's certification with the same id is another certification.
    assert!(
        store
            .claim_certification(code, "other", "imp_1", 1_000)
            .await
            .unwrap()
    );
    assert!(
        twin.claim_certification(code, "main", "imp_2", 5_000)
            .await
            .unwrap()
    );
    // Forgetting what was used before 2_000 leaves imp_2, in batches of one.
    assert_eq!(store.certification_sweep(2_000, 1).await.unwrap(), 1);
    assert_eq!(twin.certification_sweep(2_000, 1).await.unwrap(), 1);
    assert_eq!(store.certification_sweep(2_000, 1).await.unwrap(), 0);
    assert!(
        !store
            .claim_certification(code, "main", "imp_2", 6_000)
            .await
            .unwrap()
    );
    assert!(
        twin.claim_certification(code, "main", "imp_1", 6_000)
            .await
            .unwrap()
    );
}

async fn a_claim_stored_under_an_accepted_hash_still_matches<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    // Stored under the old (legacy, or retired-key) hash...
    store
        .idempotency_begin("k", "POST /r", &RequestHash::new("old"), 1_000, 0, i64::MIN)
        .await
        .unwrap();
    store
        .idempotency_finish("k", "POST /r", 200, "sealed")
        .await
        .unwrap();
    // ... it is replayed to the same body hashed the new way, which also accepts the old.
    let transition = RequestHash {
        current: "new".into(),
        accepted: vec!["old".into()],
    };
    assert!(matches!(
        twin.idempotency_begin("k", "POST /r", &transition, 2_000, 0, i64::MIN)
            .await
            .unwrap(),
        IdempotencyBegin::Replay { status: 200, .. }
    ));
    // A body that hashes to neither is another request.
    assert_eq!(
        twin.idempotency_begin("k", "POST /r", &RequestHash::new("new"), 2_000, 0, i64::MIN)
            .await
            .unwrap(),
        IdempotencyBegin::Mismatch
    );
}

// ---- passwords -------------------------------------------------------------------------

fn policy() -> AttemptPolicy {
    AttemptPolicy {
        max_failures: 2,
        window_ms: 1_000,
        max_lockout_ms: 10_000,
    }
}

async fn password_failures_are_counted_per_record_and_cleared<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let history = PasswordRecord {
        kind: RecordKind::History,
        id: Uuid::from_u128(1),
    };
    let reservation = PasswordRecord {
        kind: RecordKind::Reservation,
        ..history
    };
    assert_eq!(store.attempts(history).await.unwrap(), None);
    let first = store.record_failure(history, 100, &policy()).await.unwrap();
    assert_eq!(first.failures, 1);
    let locked = twin.record_failure(history, 200, &policy()).await.unwrap();
    assert_eq!(locked.locked_until_ms, Some(1_200));
    assert_eq!(store.attempts(history).await.unwrap(), Some(locked));
    // A failure during the lockout changes nothing.
    assert_eq!(
        store.record_failure(history, 300, &policy()).await.unwrap(),
        locked
    );
    // Same id, another kind: another record.
    assert_eq!(twin.attempts(reservation).await.unwrap(), None);
    twin.clear_attempts(history).await.unwrap();
    assert_eq!(store.attempts(history).await.unwrap(), None);
}

async fn a_password_hash_is_replaced_only_while_it_is_the_one_read<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    let stored = history(1, "o-1", "pk-1");
    store.insert_history(&stored, None, &[]).await.unwrap();
    let record = PasswordRecord {
        kind: RecordKind::History,
        id: stored.id,
    };
    assert!(
        store
            .replace_password_hash(record, "hash", "new")
            .await
            .unwrap()
    );
    assert!(
        !twin
            .replace_password_hash(record, "hash", "newer")
            .await
            .unwrap()
    );
    let read = twin.history_by_id(stored.id).await.unwrap().unwrap();
    assert_eq!((read.password_hash.as_str(), read.version), ("new", 0));
    let missing = PasswordRecord {
        kind: RecordKind::Transaction,
        id: Uuid::from_u128(99),
    };
    assert!(
        !store
            .replace_password_hash(missing, "hash", "x")
            .await
            .unwrap()
    );
}

// ---- outbox ----------------------------------------------------------------------------

async fn writing_messages_wakes_the_worker_and_deliveries_move_on<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    // The twin's worker is woken by the other handle's write too (on PostgreSQL that is
    // LISTEN/NOTIFY between two instances).
    let waiter = {
        let twin = twin.clone();
        tokio::spawn(async move {
            // A wake from the connection's start may be pending: wait for the write's.
            loop {
                twin.wait_for_messages().await;
                if twin.outbox_depth().await.unwrap() > 0 {
                    return;
                }
            }
        })
    };
    store
        .write_transaction(&TransactionWrite::Insert(charge(1, "o-1")), &[message(11)])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the write woke the other handle's worker")
        .unwrap();

    let now = now();
    let due = twin.claim_deliveries(now, now + 60_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].webhook_id, Uuid::from_u128(11));
    assert_eq!(due[0].kind, MessageKind::Event);
    assert_eq!(due[0].attempts, 0);
    assert_eq!(due[0].body_sealed, "sealed-event");
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
    twin.record_attempt(
        due[0].outbox_id,
        &failed_attempt(),
        AttemptOutcome::RetryAt(now + 1_000),
    )
    .await
    .unwrap();
    assert!(
        store
            .claim_deliveries(now, now + 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due().await.unwrap(), Some(now + 1_000));
    let again = store
        .claim_deliveries(now + 1_000, now + 61_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    store
        .record_attempt(
            again[0].outbox_id,
            &failed_attempt(),
            AttemptOutcome::GiveUp,
        )
        .await
        .unwrap();
    let state = twin
        .delivery_state(Uuid::from_u128(11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.state.as_str(), state.attempts), ("failed", 2));
    let attempts = twin.delivery_attempts(Uuid::from_u128(11)).await.unwrap();
    assert_eq!(attempts, vec![failed_attempt(), failed_attempt()]);
    assert_eq!(store.next_due().await.unwrap(), None);

    // Re-delivery puts it back with a fresh budget, and wakes the worker.
    assert!(store.redeliver(Uuid::from_u128(11), now).await.unwrap());
    tokio::time::timeout(Duration::from_secs(5), store.wait_for_messages())
        .await
        .expect("the re-delivery woke the worker");
    assert_eq!(twin.outbox_depth().await.unwrap(), 1);
    let state = twin.delivery_state(Uuid::from_u128(11)).await.unwrap();
    assert_eq!(
        state.map(|s| (s.state, s.attempts)),
        Some(("pending".into(), 0))
    );
    assert!(!store.redeliver(Uuid::from_u128(99), now).await.unwrap());
    // Delivered at last.
    let due = twin.claim_deliveries(now, now + 60_000, 10).await.unwrap();
    let ok = Attempt {
        status: Some(200),
        body_excerpt: Some("ok".into()),
        ..failed_attempt()
    };
    twin.record_attempt(due[0].outbox_id, &ok, AttemptOutcome::Delivered)
        .await
        .unwrap();
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    assert_eq!(
        store
            .delivery_state(Uuid::from_u128(11))
            .await
            .unwrap()
            .map(|s| s.state),
        Some("delivered".into())
    );
}

async fn given_up_deliveries_are_listed_newest_first_in_pages<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    for n in 1..=3u128 {
        store
            .write_transaction(
                &TransactionWrite::Insert(charge(n, &format!("o-{n}"))),
                &[message(10 + n)],
            )
            .await
            .unwrap();
    }
    let now = now();
    let attempt = Attempt {
        at: at("2026-06-01T00:00:01.000Z"),
        status: None,
        body_excerpt: None,
        error: Some("could not reach the receiver".into()),
    };
    // 11 and 13 give up; 12 is still pending and must not be listed.
    for delivery in store.claim_deliveries(now, now + 60_000, 10).await.unwrap() {
        let outcome = if delivery.webhook_id == Uuid::from_u128(12) {
            AttemptOutcome::RetryAt(now + 1_000)
        } else {
            AttemptOutcome::GiveUp
        };
        store
            .record_attempt(delivery.outbox_id, &attempt, outcome)
            .await
            .unwrap();
    }
    let first = twin.given_up(None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].webhook_id, Uuid::from_u128(13));
    assert_eq!(first[0].kind, MessageKind::Event);
    assert_eq!(first[0].attempts, 1);
    assert_eq!(first[0].last_attempt.as_ref(), Some(&attempt));
    let next = twin.given_up(Some(first[0].webhook_id), 10).await.unwrap();
    let ids: Vec<_> = next.iter().map(|g| g.webhook_id).collect();
    assert_eq!(ids, [Uuid::from_u128(11)]);
    assert!(
        twin.given_up(Some(Uuid::from_u128(11)), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A `before` that names no given-up message starts at the newest.
    assert_eq!(
        twin.given_up(Some(Uuid::from_u128(12)), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    // Re-delivered, a message leaves the list.
    store.redeliver(Uuid::from_u128(13), now).await.unwrap();
    let ids: Vec<_> = twin
        .given_up(None, 10)
        .await
        .unwrap()
        .iter()
        .map(|g| g.webhook_id)
        .collect();
    assert_eq!(ids, [Uuid::from_u128(11)]);
}

async fn a_claim_leases_deliveries_until_it_runs_out_or_is_recorded<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    write_messages(&store, 3).await;
    let now = now();
    // A worker claims two; the third is left for whoever asks next.
    let claimed = store.claim_deliveries(now, now + 5_000, 2).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|d| d.webhook_id).collect();
    assert_eq!(ids, [1000, 1001].map(Uuid::from_u128), "oldest due first");
    let rest = twin.claim_deliveries(now, now + 5_000, 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|d| d.webhook_id).collect::<Vec<_>>(),
        [Uuid::from_u128(1002)]
    );
    // While the leases last nobody else gets them.
    assert!(
        twin.claim_deliveries(now + 4_999, now + 10_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(twin.next_due().await.unwrap(), Some(now + 5_000));
    // The first is recorded (the lease ends with it); the worker holding the second
    // died: its lease runs out, and another worker takes it, attempts unchanged.
    store
        .record_attempt(
            claimed[0].outbox_id,
            &failed_attempt(),
            AttemptOutcome::RetryAt(now + 20_000),
        )
        .await
        .unwrap();
    let taken_over = twin
        .claim_deliveries(now + 5_000, now + 10_000, 10)
        .await
        .unwrap();
    let ids: Vec<_> = taken_over.iter().map(|d| d.webhook_id).collect();
    assert_eq!(ids, [1001, 1002].map(Uuid::from_u128));
    assert!(taken_over.iter().all(|d| d.attempts == 0));
    // The recorded one is due at its retry time, not at its old lease's end.
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(now + 10_000),
        "the new leases end first"
    );
    let retried = store
        .claim_deliveries(now + 20_000, now + 25_000, 10)
        .await
        .unwrap();
    let ids: HashSet<_> = retried.iter().map(|d| d.webhook_id).collect();
    assert!(ids.contains(&Uuid::from_u128(1000)), "{ids:?}");
    assert_eq!(
        retried
            .iter()
            .find(|d| d.webhook_id == Uuid::from_u128(1000))
            .map(|d| d.attempts),
        Some(1)
    );
}

async fn a_stream_hands_out_its_next_message_only_once_the_previous_is_done<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    // One history's two changes (paid, then cancelled) and another history's one.
    store
        .write_transaction(
            &TransactionWrite::Insert(charge(1, "o-1")),
            &[
                message_in(11, "webhook:a", "https://a.example/hooks"),
                message_in(12, "webhook:a", "https://a.example/hooks"),
            ],
        )
        .await
        .unwrap();
    store
        .write_transaction(
            &TransactionWrite::Insert(charge(2, "o-2")),
            &[message_in(21, "webhook:b", "https://a.example/hooks")],
        )
        .await
        .unwrap();
    let now = now();
    let first = store.claim_deliveries(now, now + 60_000, 10).await.unwrap();
    assert_eq!(
        ids(&first),
        [11, 21].map(Uuid::from_u128),
        "12 waits behind 11, its stream's earlier message"
    );
    assert!(
        twin.claim_deliveries(now, now + 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not while 11 is in flight, not on another instance either"
    );
    assert_eq!(twin.next_due().await.unwrap(), Some(now + 60_000));
    // 11 failed and waits for its retry: 12 still waits behind it.
    store
        .record_attempt(
            first[0].outbox_id,
            &failed_attempt(),
            AttemptOutcome::RetryAt(now + 1_000),
        )
        .await
        .unwrap();
    assert_eq!(twin.next_due().await.unwrap(), Some(now + 1_000));
    assert!(
        twin.claim_deliveries(now + 500, now + 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = twin
        .claim_deliveries(now + 1_000, now + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(ids(&retry), [Uuid::from_u128(11)]);
    // Given up, 11 no longer holds its stream back.
    twin.record_attempt(
        retry[0].outbox_id,
        &failed_attempt(),
        AttemptOutcome::GiveUp,
    )
    .await
    .unwrap();
    let next = store
        .claim_deliveries(now + 1_000, now + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(ids(&next), [Uuid::from_u128(12)]);
    // 11 sent again on request while 12 is in flight: one message of a stream at a
    // time, so 11 waits until 12 is done.
    assert!(
        store
            .redeliver(Uuid::from_u128(11), now + 1_000)
            .await
            .unwrap()
    );
    assert!(
        twin.claim_deliveries(now + 1_000, now + 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let ok = Attempt {
        status: Some(200),
        ..failed_attempt()
    };
    store
        .record_attempt(next[0].outbox_id, &ok, AttemptOutcome::Delivered)
        .await
        .unwrap();
    let again = twin
        .claim_deliveries(now + 1_000, now + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(ids(&again), [Uuid::from_u128(11)]);
}

async fn a_claim_hands_each_receiver_host_no_more_than_its_budget<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let urls = [
        "https://a.example/hooks",
        "https://a.example/other",
        "https://a.example/hooks",
        "https://B.Example:8443/hooks",
        "https://b.example/hooks",
    ];
    for (n, url) in urls.iter().enumerate() {
        let n = n as u128;
        store
            .write_transaction(
                &TransactionWrite::Insert(charge(1 + n, &format!("o-{n}"))),
                &[message_in(10 + n, &format!("event:{n}"), url)],
            )
            .await
            .unwrap();
    }
    let now = now();
    let mut budget = ReceiverBudget::new(2);
    let claimed = store
        .claim_deliveries_within(now, now + 60_000, 10, &budget)
        .await
        .unwrap();
    assert_eq!(
        ids(&claimed),
        [10, 11, 13, 14].map(Uuid::from_u128),
        "two per host, oldest first: a.example's third waits"
    );
    let receivers: Vec<_> = claimed.iter().map(|d| d.receiver.as_str()).collect();
    assert_eq!(
        receivers,
        ["a.example", "a.example", "b.example", "b.example"]
    );
    for delivery in &claimed {
        budget.take(&delivery.receiver);
    }
    assert_eq!(budget.remaining("a.example"), 0);
    assert!(
        twin.claim_deliveries_within(now, now + 60_000, 10, &budget)
            .await
            .unwrap()
            .is_empty(),
        "a host at its cap is skipped"
    );
    // One attempt at a.example ended: it has one slot again.
    store
        .record_attempt(
            claimed[0].outbox_id,
            &failed_attempt(),
            AttemptOutcome::RetryAt(now),
        )
        .await
        .unwrap();
    budget.give_back("a.example");
    let more = twin
        .claim_deliveries_within(now, now + 60_000, 10, &budget)
        .await
        .unwrap();
    assert_eq!(
        ids(&more),
        [Uuid::from_u128(10)],
        "one slot, the oldest due of a.example"
    );
    budget.take("a.example");
    store
        .record_attempt(more[0].outbox_id, &failed_attempt(), AttemptOutcome::GiveUp)
        .await
        .unwrap();
    budget.give_back("a.example");
    let last = twin
        .claim_deliveries_within(now, now + 60_000, 10, &budget)
        .await
        .unwrap();
    assert_eq!(ids(&last), [Uuid::from_u128(12)]);
}

async fn concurrent_claims_never_hand_out_a_delivery_twice<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    const MESSAGES: u128 = 40;
    write_messages(&store, MESSAGES).await;
    let now = now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let handle = if worker % 2 == 0 {
            store.clone()
        } else {
            twin.clone()
        };
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = handle.claim_deliveries(now, now + 60_000, 3).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|d| d.webhook_id));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut seen = Vec::new();
    while let Some(claimed) = workers.join_next().await {
        seen.extend(claimed.unwrap());
    }
    let distinct: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(seen.len(), distinct.len(), "a delivery was claimed twice");
    assert_eq!(
        distinct.len(),
        MESSAGES as usize,
        "every delivery was claimed"
    );
}

// ---- reconciliation ---------------------------------------------------------------------

/// A virtual account waiting for its deposit: recorded with its check due at once.
fn waiting(id: u128, source_id: &str, uid: &str) -> StoredHistory {
    StoredHistory {
        status: PaymentStatus::WaitingForDeposit,
        paid_at: None,
        ..history(id, source_id, uid)
    }
}

async fn a_history_awaiting_the_pg_is_checked_until_it_is_final<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    store
        .insert_history(&waiting(1, "order-1", "pay-1"), None, &[])
        .await
        .unwrap();
    store
        .insert_history(&history(2, "order-2", "pay-2"), None, &[])
        .await
        .unwrap();
    assert_eq!(
        store.checks_pending().await.unwrap(),
        1,
        "a paid one awaits nothing"
    );
    let created = at("2026-06-01T00:00:00.000Z").timestamp_millis();
    assert!(
        store
            .claim_checks(created - 1, created + 10, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before it was recorded"
    );
    let claimed = store
        .claim_checks(created, created + 1_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].history, waiting(1, "order-1", "pay-1"));
    assert_eq!(claimed[0].checks, 0);
    assert!(
        twin.claim_checks(created + 999, created + 5_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed until the lease runs out"
    );
    let id = Uuid::from_u128(1);
    assert!(
        !twin
            .finish_check(id, created + 5_000, None, 1)
            .await
            .unwrap(),
        "only the claim's holder finishes it"
    );
    assert!(
        store
            .finish_check(id, created + 1_000, Some(created + 2_000), 1)
            .await
            .unwrap()
    );
    let again = twin
        .claim_checks(created + 2_000, created + 3_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "due again after its backoff");
    assert_eq!(again[0].checks, 1);
    // A cancel asked for meanwhile wins over the claim's finish.
    store.schedule_check(id, created + 9_000).await.unwrap();
    assert!(
        !twin
            .finish_check(id, created + 3_000, None, 2)
            .await
            .unwrap()
    );
    let scheduled = store
        .claim_checks(created + 9_000, created + 9_500, 10)
        .await
        .unwrap();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(
        scheduled[0].checks, 0,
        "a scheduled check starts the backoff again"
    );
    assert!(
        store
            .finish_check(id, created + 9_500, None, 1)
            .await
            .unwrap()
    );
    assert_eq!(
        store.checks_pending().await.unwrap(),
        0,
        "final: nothing awaited"
    );
    assert!(
        store
            .claim_checks(i64::MAX / 2, i64::MAX / 2, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_check_claims_never_hand_out_a_history_twice<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    const HISTORIES: u128 = 30;
    for n in 0..HISTORIES {
        store
            .insert_history(
                &waiting(n + 1, &format!("order-{n}"), &format!("pay-{n}")),
                None,
                &[],
            )
            .await
            .unwrap();
    }
    let now = now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..6 {
        let handle = if worker % 2 == 0 {
            store.clone()
        } else {
            twin.clone()
        };
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = handle.claim_checks(now, now + 60_000, 4).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|c| c.history.id));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut seen = Vec::new();
    while let Some(claimed) = workers.join_next().await {
        seen.extend(claimed.unwrap());
    }
    let distinct: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(seen.len(), distinct.len(), "a history was claimed twice");
    assert_eq!(
        distinct.len(),
        HISTORIES as usize,
        "every history was claimed"
    );
}

async fn a_pending_charge_is_checked_until_it_is_final<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let row = charge(1, "order-1");
    store
        .write_transaction(&TransactionWrite::Insert(row.clone()), &[])
        .await
        .unwrap();
    store
        .schedule_charge_check(row.id, "sealed-context", 1_000)
        .await
        .unwrap();
    assert_eq!(store.checks_pending().await.unwrap(), 1);
    assert!(
        store
            .claim_charge_checks(999, 5_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = twin.claim_charge_checks(1_000, 5_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (
            claimed[0].transaction_id,
            claimed[0].context_sealed.as_str(),
            claimed[0].checks
        ),
        (row.id, "sealed-context", 0)
    );
    assert!(
        store
            .claim_charge_checks(4_999, 9_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed until the lease runs out"
    );
    assert!(
        !store
            .finish_charge_check(row.id, 9_000, None, 1)
            .await
            .unwrap()
    );
    assert!(
        twin.finish_charge_check(row.id, 5_000, Some(6_000), 1)
            .await
            .unwrap()
    );
    let again = store.claim_charge_checks(6_000, 7_000, 10).await.unwrap();
    assert_eq!(again[0].checks, 1, "checked again after its backoff");
    // A resumed charge writes its context again: the backoff starts over.
    store
        .schedule_charge_check(row.id, "sealed-context-2", 8_000)
        .await
        .unwrap();
    assert!(
        !store
            .finish_charge_check(row.id, 7_000, None, 2)
            .await
            .unwrap()
    );
    let resumed = twin.claim_charge_checks(8_000, 8_500, 10).await.unwrap();
    assert_eq!(
        (resumed[0].context_sealed.as_str(), resumed[0].checks),
        ("sealed-context-2", 0)
    );
    assert!(
        store
            .finish_charge_check(row.id, 8_500, None, 1)
            .await
            .unwrap()
    );
    assert_eq!(
        store.checks_pending().await.unwrap(),
        0,
        "final: the row is gone"
    );
}

async fn an_unknown_payment_is_kept_once_and_forgotten_when_recorded<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    let unknown = UnknownPayment {
        vendor: VendorCode::TossPayments,
        store_id: "main".into(),
        uid: "pay-lost".into(),
        order_id: "order-lost".into(),
        status: PaymentStatus::Paid,
        data_sealed: "sealed-pg-object".into(),
        seen_at: at("2026-06-01T00:00:00.000Z"),
    };
    assert!(store.keep_unknown_payment(&unknown).await.unwrap(), "new");
    assert!(
        !twin.keep_unknown_payment(&unknown).await.unwrap(),
        "a second sighting is the same payment"
    );
    assert_eq!(store.unknown_payment_count().await.unwrap(), 1);
    store
        .insert_history(&history(1, "order-lost", "pay-lost"), None, &[])
        .await
        .unwrap();
    assert_eq!(
        twin.unknown_payment_count().await.unwrap(),
        0,
        "recorded after all: no longer unknown"
    );
    assert!(
        !store.keep_unknown_payment(&unknown).await.unwrap(),
        "a payment a history holds is not kept"
    );
    assert_eq!(store.unknown_payment_count().await.unwrap(), 0);
}

// ---- several writers at once ------------------------------------------------------------

async fn concurrent_inserts_of_one_history_store_one_and_name_the_rule<S: Store + Clone>(
    pair: Pair<S>,
) {
    let Pair { store, twin } = pair;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12u128 {
        let handle = if n % 2 == 0 {
            store.clone()
        } else {
            twin.clone()
        };
        tasks.spawn(async move {
            // Half race for one source, half for one PG payment.
            let row = if n < 6 {
                history(100 + n, "same-source", &format!("pk-{n}"))
            } else {
                history(100 + n, &format!("o-{n}"), "same-uid")
            };
            (n, handle.insert_history(&row, None, &[]).await)
        });
    }
    let (mut by_source, mut by_uid) = (Vec::new(), Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let (n, result) = joined.unwrap();
        (if n < 6 { &mut by_source } else { &mut by_uid }).push(result);
    }
    for (results, rule) in [
        (by_source, StoreConflict::Source),
        (by_uid, StoreConflict::VendorUid),
    ] {
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{rule:?}: {results:?}");
        for result in results.into_iter().filter(Result::is_err) {
            assert_conflict(result, rule);
        }
    }
    assert!(
        store
            .history_by_source(&source("same-source"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_redemptions_of_one_coupon_have_one_winner<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    store.insert_coupons(&[coupon("a")]).await.unwrap();
    let read = store.coupon_by_hash("a").await.unwrap().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10u128 {
        let handle = if n % 2 == 0 {
            store.clone()
        } else {
            twin.clone()
        };
        let mut redeemed = read.clone();
        redeemed.status = CouponStatus::Redeemed;
        tasks.spawn(async move {
            let write = TransactionWrite::Insert(transaction(
                200 + n,
                TransactionKind::Coupon,
                &format!("o-{n}"),
                false,
            ));
            handle
                .update_coupon(&redeemed, Some(&write), &[message(300 + n)])
                .await
                .unwrap()
        });
    }
    let mut winners = 0;
    while let Some(won) = tasks.join_next().await {
        winners += usize::from(won.unwrap());
    }
    assert_eq!(winners, 1);
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        1,
        "the losers wrote nothing"
    );
    assert_eq!(store.coupon_by_hash("a").await.unwrap().unwrap().version, 1);
}

async fn concurrent_wrong_passwords_are_all_counted<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let record = PasswordRecord {
        kind: RecordKind::Transaction,
        id: Uuid::from_u128(42),
    };
    let generous = AttemptPolicy {
        max_failures: 1_000,
        window_ms: 60_000,
        max_lockout_ms: 600_000,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let handle = if n % 2 == 0 {
            store.clone()
        } else {
            twin.clone()
        };
        tasks.spawn(async move { handle.record_failure(record, 1_000 + n, &generous).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let state = store.attempts(record).await.unwrap().unwrap();
    assert_eq!(state.failures, 20, "no failure was lost to a race");
}

async fn concurrent_claims_of_one_idempotency_key_let_one_proceed<S: Store + Clone>(pair: Pair<S>) {
    let Pair { store, twin } = pair;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10 {
        let handle = if n % 2 == 0 {
            store.clone()
        } else {
            twin.clone()
        };
        tasks.spawn(async move {
            handle
                .idempotency_begin(
                    "race",
                    "POST /payments/charges",
                    &RequestHash::new("h"),
                    1_000,
                    0,
                    i64::MIN,
                )
                .await
                .unwrap()
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.unwrap());
    }
    let proceeding = outcomes
        .iter()
        .filter(|o| **o == IdempotencyBegin::Proceed)
        .count();
    assert_eq!(proceeding, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, IdempotencyBegin::Proceed | IdempotencyBegin::InFlight)),
        "{outcomes:?}"
    );
}

// ---- TLS ---------------------------------------------------------------------------------

/// `sslmode=require` speaks TLS (rustls) and verifies the server against the roots it is
/// given: with the cluster's CA in `sslrootcert` the store works; without it the
/// handshake is refused, which only a TLS connection can be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_verifies_the_server_against_the_given_root() {
    if TestPostgres::shared_or_skip("the PostgreSQL TLS test").is_none() {
        return;
    }
    let (server, ca) = TestPostgres::start_tls().expect("a TLS cluster");
    let url = server.create_database("tls").unwrap();
    let verified = format!("{url}?sslmode=require&sslrootcert={}", ca.display());
    let store = PostgresStore::connect(&verified)
        .await
        .expect("TLS with the cluster's CA");
    store.insert_coupons(&[coupon("tls")]).await.unwrap();
    assert_eq!(
        store.coupon_by_hash("tls").await.unwrap(),
        Some(coupon("tls"))
    );
    let error = PostgresStore::connect(&format!("{url}?sslmode=require"))
        .await
        .expect_err("a certificate no root vouches for is refused");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    // The same server without TLS, said so explicitly, reads the same rows.
    let plain = PostgresStore::connect(&format!("{url}?sslmode=disable"))
        .await
        .unwrap();
    assert!(plain.coupon_by_hash("tls").await.unwrap().is_some());
}

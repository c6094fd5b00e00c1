//! PortOne V2 end to end: fake-portone, the server and the SDK in-process. The customer
//! pays through fake-portone's payment window (`checkout`), the merchant records the
//! payment by its `paymentId`, and fake-portone's signed webhooks go to the server.

use crate::common::*;
use payments::client::{IdempotencyKey, PaymentsClient};
use payments::core::money::{Currency, Money};
use payments::core::order::{Product, ProductId};
use payments::core::payment_method::{PaymentMethod, ReservationRef};
use payments::core::records::charges::{
    CertificationVerify, ChargeCreate, OrderInput, OrderLineInput,
};
use payments::core::records::{
    CancelCreate, ErrorCode, PaymentHistoryCreate, RefundAccount, ReservationCreate, Vendor,
    VendorCode,
};
use payments::core::transaction::TransactionStatus;
use payments::fake_portone::{Checkout, FakePortOne, Person, WebhookOutcome, WebhookVersion};
use payments::server::config::PortOneStore;
use payments::server::{PaymentServer, PaymentServerBuilder, ServerHandle};
use serde_json::{Value, json};
use std::time::Duration;

/// The server, fake-portone pointed at the server's webhook route, an SDK client and the
/// merchant's webhook receiver and event sink.
pub struct PortOneApp {
    pub portone: FakePortOne,
    pub server: ServerHandle,
    pub client: PaymentsClient,
    pub receiver: Receiver,
    pub events: EventSink,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn store(portone: &FakePortOne) -> PortOneStore {
    PortOneStore {
        store_id: STORE.into(),
        base_url: portone.uri(),
        api_secret: portone.api_secret().to_owned().into(),
        portone_store_id: portone.store_id().to_owned(),
        webhook_secret: portone.webhook_secret().to_owned().into(),
    }
}

fn builder(portone: &FakePortOne, database: &str) -> PaymentServerBuilder {
    PaymentServer::builder()
        .database(database)
        .sealed_v2_secret(SECRET)
        .password_iterations(1_000)
        .portone_store(store(portone))
        .webhook_retry_schedule(&[Duration::from_millis(20), Duration::from_millis(40)])
        .webhook_max_attempts(50)
        .webhook_poll_interval(Duration::from_millis(20))
        // The receivers and the event sink listen on 127.0.0.1 over plain http.
        .allow_local_receivers()
}

async fn spawn_with(portone: FakePortOne, timeout: Duration) -> PortOneApp {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("v2.sqlite").to_string_lossy().into_owned();
    let events = EventSink::start().await;
    let server = builder(&portone, &database)
        .event_url(events.url.clone())
        .vendor_timeout(timeout)
        .start()
        .await
        .unwrap();
    portone.set_webhook_url(format!("{}/payments/webhooks/portone", server.uri()));
    PortOneApp {
        client: client_for(&server, Wire::SealedV2),
        receiver: Receiver::start(envelope(Wire::SealedV2)).await,
        portone,
        server,
        events,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

pub async fn spawn_portone_app() -> PortOneApp {
    spawn_with(FakePortOne::start().await, Duration::from_secs(10)).await
}

impl PortOneApp {
    fn input(&self, payment_id: &str, price: i64) -> PaymentHistoryCreate {
        PaymentHistoryCreate {
            vendor: Vendor {
                code: VendorCode::PortOne,
                store_id: STORE.into(),
                uid: payment_id.into(),
            },
            source: source(payment_id),
            price,
            password: PASSWORD.into(),
            webhook_url: Some(self.receiver.url.clone()),
        }
    }

    /// An authenticated V2 API call on the fake, as the merchant's own code would make.
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.portone.uri()))
            .header("authorization", self.portone.authorization());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "fake-portone {path}: {status} {body}");
        body
    }

    async fn billing_key(&self) -> String {
        let issued = self
            .api(
                reqwest::Method::POST,
                "/billing-keys",
                Some(json!({"method": {"card": {"credential":
                    {"number": "4330123412341234", "expiryYear": "39", "expiryMonth": "12"}}}})),
            )
            .await;
        issued["billingKeyInfo"]["billingKey"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn reservation(&self, billing_key: &str, customer: &str) -> uuid::Uuid {
        self.client
            .reservations()
            .create(&ReservationCreate {
                vendor: Vendor {
                    code: VendorCode::PortOne,
                    store_id: STORE.into(),
                    uid: billing_key.into(),
                },
                source: source(customer),
                title: "card".into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap()
            .id
    }

    /// One charge of `price` for `order_id` on the reservation, under a fresh key.
    async fn charge(
        &self,
        reservation: uuid::Uuid,
        order_id: &str,
        price: i64,
    ) -> Result<payments::core::records::charges::Charge, payments::client::Error> {
        self.client
            .charges()
            .create(
                &charge_input(reservation, order_id, price),
                &IdempotencyKey::random(),
            )
            .await
    }

    fn count_calls(&self, method: &str, path_end: &str) -> usize {
        self.portone
            .received_requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(path_end))
            .count()
    }

    /// The webhooks fake-portone sent of a type, once `count` of them were answered.
    async fn delivered(
        &self,
        event_type: &str,
        count: usize,
    ) -> Vec<payments::fake_portone::WebhookRecord> {
        let hooks = self
            .portone
            .wait_for_webhooks(count, Duration::from_secs(5), |w| {
                w.event_type == event_type && matches!(w.outcome, WebhookOutcome::Delivered { .. })
            })
            .await;
        assert!(
            hooks.len() >= count,
            "{event_type}: {:?}",
            self.portone.webhooks()
        );
        hooks
    }

    /// POSTs a webhook to the server as fake-portone sent it, or with other headers.
    async fn post_webhook(&self, body: &str, headers: &[(String, String)]) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/payments/webhooks/portone", self.server.uri()))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            if name.starts_with("webhook-") {
                request = request.header(name, value);
            }
        }
        request.send().await.unwrap()
    }
}

fn order(id: &str, price: i64) -> OrderInput {
    OrderInput {
        id: id.into(),
        lines: vec![OrderLineInput {
            product: Product {
                id: ProductId::new("plan"),
                name: "월 구독".into(),
                price: Money::new(price, Currency::Krw).unwrap(),
                enabled: true,
            },
            quantity: 1,
        }],
    }
}

fn charge_input(reservation: uuid::Uuid, order_id: &str, price: i64) -> ChargeCreate {
    ChargeCreate {
        source: source(order_id),
        order: order(order_id, price),
        method: PaymentMethod::SavedCard {
            reservation: ReservationRef::Id(reservation),
            password: PASSWORD.into(),
        },
        password: PASSWORD.into(),
        webhook_url: None,
    }
}

fn code_of(error: &payments::client::Error) -> (Option<u16>, Option<ErrorCode>) {
    (error.status().map(|s| s.as_u16()), error.code())
}

#[tokio::test]
async fn card_payment_is_verified_by_payment_id_and_recorded_once() {
    let app = spawn_portone_app().await;
    app.portone
        .checkout("v2-card-1", Checkout::card("커피", 12_000))
        .await
        .unwrap();
    let created = app
        .client
        .histories()
        .create(&app.input("v2-card-1", 12_000))
        .await
        .unwrap();
    assert_eq!(created.vendor_code, VendorCode::PortOne);
    assert_eq!(created.vendor.uid, "v2-card-1");
    assert_eq!((created.price, created.currency.as_str()), (12_000, "KRW"));
    assert!(created.paid_at.is_some());
    assert_eq!(created.data["status"], "PAID");
    assert!(
        created.data.get("webhooks").is_none(),
        "PortOne's delivery log is not kept"
    );
    assert_eq!(
        app.client
            .histories()
            .get(&accessor("v2-card-1"))
            .await
            .unwrap(),
        created
    );

    // Recording it again, under any source, is refused.
    let again = app
        .client
        .histories()
        .create(&app.input("v2-card-1", 12_000))
        .await
        .unwrap_err();
    assert_eq!(code_of(&again), (Some(409), Some(ErrorCode::Duplicate)));

    // Another order's payment is refused and left alone.
    app.portone
        .checkout("v2-card-2", Checkout::card("커피", 5_000))
        .await
        .unwrap();
    let mut foreign = app.input("v2-card-2", 5_000);
    foreign.source = source("v2-someone-else");
    let error = app.client.histories().create(&foreign).await.unwrap_err();
    assert_eq!(code_of(&error), (Some(422), Some(ErrorCode::OrderMismatch)));
    assert_eq!(app.portone.payment("v2-card-2").unwrap()["status"], "PAID");
}

#[tokio::test]
async fn unpaid_payments_are_refused_and_a_tampered_amount_is_cancelled_at_portone() {
    let app = spawn_portone_app().await;
    app.portone
        .checkout(
            "v2-failed-1",
            Checkout::card("커피", 3_000).fail("REJECT_CARD_PAYMENT", "거절"),
        )
        .await
        .unwrap();
    let failed = app
        .client
        .histories()
        .create(&app.input("v2-failed-1", 3_000))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&failed),
        (Some(422), Some(ErrorCode::PaymentNotPaid))
    );
    let ready = app
        .client
        .histories()
        .create(&app.input("v2-never-paid", 3_000))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&ready),
        (Some(404), Some(ErrorCode::VendorNotFound))
    );

    app.portone
        .checkout("v2-tampered-1", Checkout::card("커피", 100))
        .await
        .unwrap();
    let tampered = app
        .client
        .histories()
        .create(&app.input("v2-tampered-1", 10_000))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&tampered),
        (Some(422), Some(ErrorCode::AmountMismatch))
    );
    let payment = app.portone.payment("v2-tampered-1").unwrap();
    assert_eq!(payment["status"], "CANCELLED", "{payment}");
    for id in ["v2-failed-1", "v2-never-paid", "v2-tampered-1"] {
        let read = app.client.histories().get(&accessor(id)).await.unwrap_err();
        assert_eq!(
            read.status().map(|s| s.as_u16()),
            Some(404),
            "{id} recorded nothing"
        );
    }
}

#[tokio::test]
async fn partial_then_full_cancel_sends_the_balance_the_server_holds() {
    let app = spawn_portone_app().await;
    app.portone
        .checkout("v2-cancel-1", Checkout::card("케이크", 10_000))
        .await
        .unwrap();
    app.client
        .histories()
        .create(&app.input("v2-cancel-1", 10_000))
        .await
        .unwrap();
    let cancel = |price: i64| CancelCreate {
        source: source("v2-cancel-1"),
        password: PASSWORD.into(),
        price,
        reason: format!("cancel {price}"),
        account: None,
    };
    let first = app.client.histories().cancel(&cancel(4_000)).await.unwrap();
    assert_eq!(first.data["status"], "PARTIAL_CANCELLED");
    assert_eq!(first.refund, Some(4_000));
    assert_eq!(first.cancels.len(), 1);
    assert_eq!(first.cancelled_at, None);
    let second = app.client.histories().cancel(&cancel(6_000)).await.unwrap();
    assert_eq!(second.data["status"], "CANCELLED");
    assert_eq!(second.refund, Some(10_000));
    assert_eq!(
        second.cancels.iter().map(|c| c.price).collect::<Vec<_>>(),
        [4_000, 6_000]
    );
    assert!(second.cancelled_at.is_some());
    let sent: Vec<Value> = app
        .portone
        .received_requests()
        .into_iter()
        .filter(|r| r.path == "/payments/v2-cancel-1/cancel")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let balances: Vec<&Value> = sent
        .iter()
        .map(|b| &b["currentCancellableAmount"])
        .collect();
    assert_eq!(balances, [&json!(10_000), &json!(6_000)]);
    let over = app.client.histories().cancel(&cancel(1)).await.unwrap_err();
    assert_eq!(
        code_of(&over),
        (Some(422), Some(ErrorCode::CancelExceedsBalance))
    );
    // The merchant heard of both cancels; PortOne's own webhooks about them changed nothing.
    let received = app.receiver.wait_for(2).await;
    assert_eq!(received[1].1.current.data["status"], "CANCELLED");
    app.delivered("Transaction.Cancelled", 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.receiver.received().len(), 2);
}

#[tokio::test]
async fn a_cancel_made_elsewhere_meanwhile_is_refused_by_portone_not_doubled() {
    let app = spawn_portone_app().await;
    app.portone
        .checkout("v2-elsewhere-1", Checkout::card("케이크", 10_000))
        .await
        .unwrap();
    app.client
        .histories()
        .create(&app.input("v2-elsewhere-1", 10_000))
        .await
        .unwrap();
    // The merchant cancels 1 000 in PortOne's console; its webhook does not arrive yet.
    app.portone.clear_webhook_url();
    app.api(
        reqwest::Method::POST,
        "/payments/v2-elsewhere-1/cancel",
        Some(json!({"reason": "console", "amount": 1_000})),
    )
    .await;
    let refused = app
        .client
        .histories()
        .cancel(&CancelCreate {
            source: source("v2-elsewhere-1"),
            password: PASSWORD.into(),
            price: 9_500,
            reason: "server".into(),
            account: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&refused),
        (Some(422), Some(ErrorCode::VendorRejected)),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .contains("CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"),
        "{refused}"
    );
    let payment = app.portone.payment("v2-elsewhere-1").unwrap();
    assert_eq!(payment["amount"]["cancelled"], 1_000, "{payment}");
}

#[tokio::test]
async fn virtual_account_deposit_webhook_reaches_the_merchant_with_previous_and_current() {
    let app = spawn_portone_app().await;
    app.portone
        .checkout("v2-va-1", Checkout::virtual_account("책", 30_000))
        .await
        .unwrap();
    let created = app
        .client
        .histories()
        .create(&app.input("v2-va-1", 30_000))
        .await
        .unwrap();
    assert_eq!(created.data["status"], "VIRTUAL_ACCOUNT_ISSUED");
    assert_eq!(created.paid_at, None);

    app.portone.deposit("v2-va-1").await.unwrap();
    let received = app.receiver.wait_for(1).await;
    let webhook = &received[0].1;
    assert_eq!(webhook.previous.data["status"], "VIRTUAL_ACCOUNT_ISSUED");
    assert_eq!(webhook.previous.paid_at, None);
    assert_eq!(webhook.current.data["status"], "PAID");
    assert!(webhook.current.paid_at.is_some());
    let events = app.events.wait_for(1).await;
    assert_eq!(events[0].transaction.history_id, Some(created.id));

    // A deposited account is refunded to the customer's account, never stored.
    let cancel = |account: Option<RefundAccount>| CancelCreate {
        source: source("v2-va-1"),
        password: PASSWORD.into(),
        price: 30_000,
        reason: "환불".into(),
        account,
    };
    let without = app
        .client
        .histories()
        .cancel(&cancel(None))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&without),
        (Some(422), Some(ErrorCode::VendorRejected)),
        "{without}"
    );
    let account = RefundAccount {
        bank: "SHINHAN".into(),
        account: "110123456789".into(),
        holder: "홍길동".into(),
        mobile: Some("01012345678".into()),
    };
    let refunded = app
        .client
        .histories()
        .cancel(&cancel(Some(account)))
        .await
        .unwrap();
    assert_eq!(refunded.data["status"], "CANCELLED");
    assert!(!refunded.data.to_string().contains("110123456789"));
}

#[tokio::test]
async fn the_2024_01_01_webhook_body_is_accepted_too() {
    let portone = FakePortOne::builder()
        .webhook_version(WebhookVersion::V2024_01_01)
        .start()
        .await;
    let app = spawn_with(portone, Duration::from_secs(10)).await;
    app.portone
        .checkout("v2-old-1", Checkout::virtual_account("책", 20_000))
        .await
        .unwrap();
    app.client
        .histories()
        .create(&app.input("v2-old-1", 20_000))
        .await
        .unwrap();
    app.portone.deposit("v2-old-1").await.unwrap();
    let received = app.receiver.wait_for(1).await;
    assert_eq!(received[0].1.current.data["status"], "PAID");
}

#[tokio::test]
async fn forged_webhooks_are_refused_before_anything_is_read_or_touched() {
    let app = spawn_portone_app().await;
    app.portone
        .checkout("v2-forged-1", Checkout::virtual_account("책", 20_000))
        .await
        .unwrap();
    app.client
        .histories()
        .create(&app.input("v2-forged-1", 20_000))
        .await
        .unwrap();
    let issued = app.delivered("Transaction.VirtualAccountIssued", 1).await;
    let genuine = &issued[0];
    let pg_calls = app.portone.received_requests().len();

    // A body claiming the payment was paid, under the genuine headers of another body.
    let forged_body = genuine
        .body
        .replace("Transaction.VirtualAccountIssued", "Transaction.Paid");
    let forged = app.post_webhook(&forged_body, &genuine.headers).await;
    assert_eq!(forged.status(), 401);
    let error: Value = forged.json().await.unwrap();
    assert_eq!(error["code"], "BAD_SIGNATURE", "{error}");
    // A made-up signature, and none at all.
    let mut headers = genuine.headers.clone();
    for (name, value) in headers.iter_mut() {
        if name == "webhook-signature" {
            *value = "v1,bm90IGEgc2lnbmF0dXJl".into();
        }
    }
    assert_eq!(
        app.post_webhook(&genuine.body, &headers).await.status(),
        401
    );
    assert_eq!(app.post_webhook(&genuine.body, &[]).await.status(), 401);

    assert_eq!(
        app.portone.received_requests().len(),
        pg_calls,
        "PortOne was not even asked"
    );
    let history = app
        .client
        .histories()
        .get(&accessor("v2-forged-1"))
        .await
        .unwrap();
    assert_eq!(history.paid_at, None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(app.receiver.received().is_empty());
}

#[tokio::test]
async fn a_replayed_webhook_changes_nothing_and_unknown_payments_and_types_are_acked() {
    let app = spawn_portone_app().await;
    app.portone
        .checkout("v2-replay-1", Checkout::virtual_account("책", 20_000))
        .await
        .unwrap();
    app.client
        .histories()
        .create(&app.input("v2-replay-1", 20_000))
        .await
        .unwrap();
    app.portone.duplicate_next_webhooks(1);
    app.portone.deposit("v2-replay-1").await.unwrap();
    let paid = app.delivered("Transaction.Paid", 2).await;
    assert!(
        paid.iter().any(|w| w.duplicate),
        "PortOne sent the message twice"
    );
    app.receiver.wait_for(1).await;
    // The same message once more, as an attacker who recorded it would send it.
    for _ in 0..2 {
        let replay = app.post_webhook(&paid[0].body, &paid[0].headers).await;
        assert_eq!(replay.status(), 200);
        let ack: Value = replay.json().await.unwrap();
        assert_eq!(ack["outcome"], "received");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        app.receiver.received().len(),
        1,
        "one change, one merchant webhook"
    );
    assert_eq!(app.events.events().len(), 1);

    // A payment the server never recorded, and a type it does not act on: both 2xx.
    app.portone
        .checkout("v2-unrecorded-1", Checkout::card("커피", 1_000))
        .await
        .unwrap();
    let unknown = app.delivered("Transaction.Paid", 3).await;
    assert!(
        unknown
            .iter()
            .all(|w| matches!(w.outcome, WebhookOutcome::Delivered { status: 200 }))
    );
    app.billing_key().await;
    app.delivered("BillingKey.Issued", 1).await;
    let unrecorded = app
        .client
        .histories()
        .get(&accessor("v2-unrecorded-1"))
        .await
        .unwrap_err();
    assert_eq!(unrecorded.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn twenty_identical_billing_key_charges_make_one_portone_payment() {
    let app = spawn_portone_app().await;
    let key = app.billing_key().await;
    let reservation = app.reservation(&key, "v2-subscriber").await;
    let input = charge_input(reservation, "v2-sub-1", 9_900);
    let idempotency = IdempotencyKey::new("v2-sub-1/checkout").unwrap();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (client, input, key) = (app.client.clone(), input.clone(), idempotency.clone());
            tokio::spawn(async move { client.charges().create(&input, &key).await })
        })
        .collect();
    let mut approved = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(charge) => approved.push(charge),
            Err(error) => assert_eq!(
                code_of(&error),
                (Some(409), Some(ErrorCode::IdempotencyInFlight)),
                "{error}"
            ),
        }
    }
    assert!(!approved.is_empty());
    let first = approved[0].transaction.transaction.id();
    assert!(
        approved
            .iter()
            .all(|c| c.transaction.transaction.id() == first),
        "one answer"
    );
    assert_eq!(
        approved[0].transaction.transaction.status(),
        TransactionStatus::Approved
    );
    assert_eq!(
        approved[0].history.vendor.uid, "v2-sub-1",
        "paymentId = the order id"
    );
    assert_eq!(
        app.count_calls("POST", "/billing-key"),
        1,
        "PortOne was asked to pay once"
    );
    let payment = app.portone.payment("v2-sub-1").unwrap();
    assert_eq!(
        (
            payment["status"].as_str(),
            payment["amount"]["paid"].as_i64()
        ),
        (Some("PAID"), Some(9_900))
    );

    // Different keys (two tabs): one charge, every other a clear duplicate.
    let tabs: Vec<_> = (0..20)
        .map(|n| {
            let client = app.client.clone();
            let input = charge_input(reservation, "v2-sub-2", 9_900);
            let key = IdempotencyKey::new(format!("v2-sub-2/tab-{n}")).unwrap();
            tokio::spawn(async move { client.charges().create(&input, &key).await })
        })
        .collect();
    let mut wins = 0;
    for tab in tabs {
        match tab.await.unwrap() {
            Ok(_) => wins += 1,
            Err(error) => assert_eq!(
                code_of(&error),
                (Some(409), Some(ErrorCode::Duplicate)),
                "{error}"
            ),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(app.count_calls("POST", "/billing-key"), 2);
    assert_eq!(
        app.count_calls("POST", "/cancel"),
        0,
        "nothing was refunded"
    );
}

#[tokio::test]
async fn a_lost_charge_answer_is_found_by_payment_id_not_paid_again() {
    let app = spawn_with(FakePortOne::start().await, Duration::from_millis(700)).await;
    let key = app.billing_key().await;
    let reservation = app.reservation(&key, "v2-lost-customer").await;
    app.portone.lose_response_next(1);
    let charge = app.charge(reservation, "v2-lost-1", 4_400).await.unwrap();
    assert_eq!(
        charge.transaction.transaction.status(),
        TransactionStatus::Approved
    );
    assert_eq!(app.count_calls("POST", "/billing-key"), 1);
    assert_eq!(app.portone.payment("v2-lost-1").unwrap()["status"], "PAID");
}

#[tokio::test]
async fn a_declined_card_fails_the_charge_and_a_deleted_key_is_refused_clearly() {
    let app = spawn_portone_app().await;
    let key = app.billing_key().await;
    let reservation = app.reservation(&key, "v2-deleted-customer").await;
    app.portone
        .decline_card("4330123412341234", "REJECT_CARD_COMPANY", "카드사 거절");
    let declined = app
        .charge(reservation, "v2-declined-1", 1_000)
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&declined),
        (Some(402), Some(ErrorCode::PaymentDeclined))
    );
    assert!(
        declined.to_string().contains("REJECT_CARD_COMPANY"),
        "{declined}"
    );

    app.api(
        reqwest::Method::DELETE,
        &format!("/billing-keys/{key}"),
        None,
    )
    .await;
    app.delivered("BillingKey.Deleted", 1).await;
    let charges_before = app.count_calls("POST", "/billing-key");
    let refused = app
        .charge(reservation, "v2-after-delete-1", 1_000)
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&refused),
        (Some(422), Some(ErrorCode::ReservationDeleted)),
        "{refused}"
    );
    assert_eq!(
        app.count_calls("POST", "/billing-key"),
        charges_before,
        "PortOne was not asked"
    );
    // A deleted key cannot be saved again either.
    let again = app
        .client
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::PortOne,
                store_id: STORE.into(),
                uid: key.clone(),
            },
            source: source("v2-deleted-customer-2"),
            title: "card".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&again),
        (Some(422), Some(ErrorCode::ReservationDeleted))
    );
}

#[tokio::test]
async fn portone_down_is_a_clear_gateway_error_and_records_nothing() {
    let app = spawn_with(FakePortOne::start().await, Duration::from_millis(500)).await;
    app.portone
        .checkout("v2-down-1", Checkout::card("커피", 2_000))
        .await
        .unwrap();
    // PortOne answers 500.
    app.portone.fail_next(1);
    let failed = app
        .client
        .histories()
        .create(&app.input("v2-down-1", 2_000))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&failed),
        (Some(502), Some(ErrorCode::VendorError)),
        "{failed}"
    );
    // PortOne does not answer in time.
    app.portone.hang_next(1);
    let hung = app
        .client
        .histories()
        .create(&app.input("v2-down-1", 2_000))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&hung),
        (Some(502), Some(ErrorCode::VendorError)),
        "{hung}"
    );
    // A charge whose answer and lookup both fail: the outcome is unknown.
    let key = app.billing_key().await;
    let reservation = app.reservation(&key, "v2-down-customer").await;
    app.portone.fail_next(2);
    let unknown = app
        .charge(reservation, "v2-down-2", 2_000)
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&unknown),
        (Some(504), Some(ErrorCode::VendorTimeout)),
        "{unknown}"
    );
    for id in ["v2-down-1", "v2-down-2"] {
        let read = app.client.histories().get(&accessor(id)).await.unwrap_err();
        assert_eq!(
            read.status().map(|s| s.as_u16()),
            Some(404),
            "{id}: nothing recorded"
        );
    }
    // PortOne unreachable altogether.
    let PortOneApp {
        portone,
        server,
        client,
        ..
    } = app;
    portone.shutdown().await;
    let gone = client
        .histories()
        .create(&PaymentHistoryCreate {
            vendor: Vendor {
                code: VendorCode::PortOne,
                store_id: STORE.into(),
                uid: "v2-down-3".into(),
            },
            source: source("v2-down-3"),
            price: 2_000,
            password: PASSWORD.into(),
            webhook_url: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&gone),
        (Some(502), Some(ErrorCode::VendorError)),
        "{gone}"
    );
    drop(server);
}

#[tokio::test]
async fn a_verified_identity_answers_a_keyed_ci_hash_and_unfinished_ones_are_refused() {
    let app = spawn_portone_app().await;
    let verify = |id: &str| CertificationVerify {
        vendor: Vendor {
            code: VendorCode::PortOne,
            store_id: STORE.into(),
            uid: id.into(),
        },
    };
    let hong = Person::new("홍길동", "01012345678", "1990-01-01");
    app.portone
        .verify_identity("iv-hong-1", hong.clone())
        .await
        .unwrap();
    let person = app
        .client
        .certifications()
        .verify(&verify("iv-hong-1"))
        .await
        .unwrap();
    assert_eq!(
        (person.name.as_str(), person.birth_date.as_str()),
        ("홍길동", "1990-01-01")
    );
    assert_eq!(person.phone, "01012345678");
    assert_eq!(person.ci_hash.len(), 64);
    assert!(!person.ci_hash.contains(&hong.ci()), "never the CI itself");
    app.portone
        .verify_identity("iv-hong-2", hong)
        .await
        .unwrap();
    let again = app
        .client
        .certifications()
        .verify(&verify("iv-hong-2"))
        .await
        .unwrap();
    assert_eq!(
        again.ci_hash, person.ci_hash,
        "the same person hashes the same"
    );
    app.portone
        .verify_identity(
            "iv-kim-1",
            Person::new("김철수", "01099998888", "1985-12-31"),
        )
        .await
        .unwrap();
    let other = app
        .client
        .certifications()
        .verify(&verify("iv-kim-1"))
        .await
        .unwrap();
    assert_ne!(other.ci_hash, person.ci_hash);

    // Sent but not confirmed (READY), and unknown.
    app.api(
        reqwest::Method::POST,
        "/identity-verifications/iv-ready-1/send",
        Some(
            json!({"channelKey": "channel-key-1", "operator": "SKT", "method": "SMS",
                    "customer": {"name": "홍길동", "phoneNumber": "01012345678",
                                 "identityNumber": "9001011", "ipAddress": "127.0.0.1"}}),
        ),
    )
    .await;
    let ready = app
        .client
        .certifications()
        .verify(&verify("iv-ready-1"))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&ready),
        (Some(422), Some(ErrorCode::NotCertified)),
        "{ready}"
    );
    let unknown = app
        .client
        .certifications()
        .verify(&verify("iv-nobody"))
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&unknown),
        (Some(404), Some(ErrorCode::VendorNotFound))
    );
}

/// The PG deleted the card and its `BillingKey.Deleted` webhook never arrived: the next
/// charge, refused by PortOne (`409 BILLING_KEY_ALREADY_DELETED`), is answered
/// `422 RESERVATION_DELETED` and the deletion is recorded, so the one after is refused
/// without asking PortOne.
#[tokio::test]
async fn a_charge_on_a_key_deleted_at_portone_without_a_webhook_records_the_deletion() {
    let app = spawn_portone_app().await;
    let key = app.billing_key().await;
    let reservation = app.reservation(&key, "v2-lost-delete-customer").await;
    // Nothing listens here: the deletion webhook is lost.
    app.portone.set_webhook_url("http://127.0.0.1:9/gone");
    app.api(
        reqwest::Method::DELETE,
        &format!("/billing-keys/{key}"),
        None,
    )
    .await;
    let refused = app
        .charge(reservation, "v2-lost-delete-1", 1_000)
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&refused),
        (Some(422), Some(ErrorCode::ReservationDeleted)),
        "{refused}"
    );
    let charges_before = app.count_calls("POST", "/billing-key");
    let again = app
        .charge(reservation, "v2-lost-delete-2", 1_000)
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&again),
        (Some(422), Some(ErrorCode::ReservationDeleted)),
        "{again}"
    );
    assert_eq!(
        app.count_calls("POST", "/billing-key"),
        charges_before,
        "the second charge was refused without asking PortOne"
    );
}

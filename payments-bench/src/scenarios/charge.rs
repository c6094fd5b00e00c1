//! `charge`: billing-key charges through `POST /payments/charges` (`client.charges()`):
//! one saved Toss card (a billing key at the fake, recorded as a reservation), charged
//! for a new one-line order per operation. Each charge verifies the reservation's
//! password (behind its guess limiter), charges the key at the PG, and records the
//! history with its own password, at the server's default configuration.

use crate::error::BenchError;
use crate::harness::{PASSWORD, STORE, Stack};
use crate::measure::drive;
use crate::options::Scenario;
use crate::report::Row;
use crate::scenarios::Ctx;
use payments_client::IdempotencyKey;
use payments_core::money::{Currency, Money};
use payments_core::order::{Product, ProductId};
use payments_core::payment_method::{PaymentMethod, ReservationRef};
use payments_core::records::charges::{ChargeCreate, OrderInput, OrderLineInput};
use payments_core::records::{ReservationCreate, Source, Vendor, VendorCode};

/// The customer whose saved card every charge uses (a Toss `customerKey`).
const CUSTOMER: &str = "bench-customer";
/// What each order costs.
const PRICE: i64 = 15_000;

/// The charge row.
///
/// # Errors
/// When a stack does not start or the saved card cannot be recorded.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, BenchError> {
    let product = Product {
        id: ProductId::new("americano"),
        name: "Americano".into(),
        price: Money::new(PRICE, Currency::Krw)
            .map_err(|e| BenchError::Setup(format!("charge product price: {e}")))?,
        enabled: true,
    };
    let (stack, _) = Stack::start(&[]).await?;
    let billing_key = stack
        .pg
        .toss_billing_key(CUSTOMER)
        .await
        .map_err(BenchError::Setup)?;
    let reservation = stack
        .client()?
        .reservations()
        .create(&ReservationCreate {
            vendor: Vendor {
                code: VendorCode::TossPayments,
                store_id: STORE.into(),
                uid: billing_key,
            },
            source: source(CUSTOMER),
            title: "bench card".into(),
            password: PASSWORD.into(),
        })
        .await
        .map_err(|e| BenchError::Setup(format!("charge reservation: {e}")))?;
    let clients = stack.clients(ctx.concurrency())?;
    let label = "charge";
    let warmup = ctx.warmup;
    let measured = drive(
        &ctx.progress,
        label,
        ctx.concurrency(),
        ctx.budget,
        warmup,
        move |worker, sequence| {
            let client = clients[worker].clone();
            let order = format!("charge-{sequence}");
            let input = ChargeCreate {
                source: source(&order),
                order: OrderInput {
                    id: order.clone(),
                    lines: vec![OrderLineInput {
                        product: product.clone(),
                        quantity: 1,
                    }],
                },
                method: PaymentMethod::SavedCard {
                    reservation: ReservationRef::Id(reservation.id),
                    password: PASSWORD.into(),
                },
                password: PASSWORD.into(),
                webhook_url: None,
            };
            async move {
                let key =
                    IdempotencyKey::new(format!("bench-{order}")).map_err(|e| e.to_string())?;
                let charge = client
                    .charges()
                    .create(&input, &key)
                    .await
                    .map_err(|e| e.to_string())?;
                if charge.history.price != PRICE {
                    return Err(format!(
                        "charged {} instead of {PRICE}",
                        charge.history.price
                    ));
                }
                Ok(())
            }
        },
    )
    .await;
    stack.stop().await;
    Ok(vec![Row::measured(Scenario::Charge, label, &measured)])
}

fn source(id: &str) -> Source {
    Source {
        schema: "bench".into(),
        table: "orders".into(),
        id: id.into(),
    }
}

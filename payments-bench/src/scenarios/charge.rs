//! `charge`: billing-key charges through `POST /payments/charges` (`client.charges()`):
//! one saved Toss card (a billing key at the fake, recorded as a reservation), charged
//! for a new one-line order per operation. Each charge verifies the reservation's
//! password, charges the key at the PG, and records the history with its own password,
//! so it pays PBKDF2 twice; it runs at the low and at the configured factor.

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

/// The charge rows, at the low and at the configured factor.
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
    let mut rows = Vec::new();
    for iterations in [ctx.options.iterations_low, ctx.options.iterations] {
        let (stack, _) = Stack::start(iterations, &[]).await?;
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
        let label = format!("charge pbkdf2={iterations}");
        let warmup = ctx.warmup_at(iterations);
        let product = product.clone();
        let measured = drive(
            &ctx.progress,
            &label,
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
        rows.push(Row::measured(Scenario::Charge, label, &measured));
        stack.stop().await;
    }
    Ok(rows)
}

fn source(id: &str) -> Source {
    Source {
        schema: "bench".into(),
        table: "orders".into(),
        id: id.into(),
    }
}

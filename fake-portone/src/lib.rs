//! `fake-portone`: a stateful fake of the PortOne REST API V2.

pub mod cards;
pub mod checkout;
pub mod error;
pub mod identity;
pub mod settings;
pub mod webhook;

mod amount;
mod billing_key;
mod ids;
mod payment;
mod requests;
mod schedule;
mod world;

pub use cards::{DECLINED_CARDS, DeclinedCard};
pub use checkout::{Checkout, CheckoutAmount, CheckoutCard, CheckoutCustomer, CheckoutMethod, PgFailure};
pub use error::{ErrorKind, PortOneError};
pub use identity::Person;
pub use payment::PaymentStatus;
pub use settings::{DEFAULT_API_SECRET, DEFAULT_STORE_ID, DEFAULT_WEBHOOK_SECRET, StoreSettings};
pub use webhook::WebhookVersion;

//! Test support shared by the fakes' own tests and benches (feature `test-support`; a
//! fake takes it as a dev-dependency only):
//! - [`OpenApi`]: a copied OpenAPI document that validates answers against the schema of
//!   their operation and status, or a named component.
//! - [`Receiver`] / [`Hook`]: a webhook endpoint on port 0 that keeps every delivery's
//!   headers and exact body and can fail its first deliveries.
//! - [`vs_wiremock`]: start-up and lookup speed of a fake against wiremock in the same run.

mod openapi;
mod receiver;
pub mod vs_wiremock;

/// The validator crate [`OpenApi`] compiles schemas with (for its types in tests).
pub use jsonschema;
pub use openapi::OpenApi;
pub use receiver::{Hook, Receiver};

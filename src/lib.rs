#![doc = include_str!("../README.md")]
//!
//! # Module map
//!
//! The umbrella re-exports the member crates behind features, so an application depends
//! on one crate:
//!
//! - [`core`] (always): the pure payment domain, wire records, envelopes, passwords.
//! - [`client`] (feature `client`, the default): the typed SDK for the integrated server.
//! - [`server`] (feature `server`): the integrated payment server, embeddable.
//! - [`fake_toss`], [`fake_iamport`], [`fake_portone`] (feature `fakes`): in-process fake
//!   PGs for tests.

pub use payments_core as core;

#[cfg(feature = "client")]
pub use payments_client as client;

#[cfg(feature = "server")]
pub use payments_server as server;

#[cfg(feature = "fakes")]
pub use fake_iamport;
#[cfg(feature = "fakes")]
pub use fake_portone;
#[cfg(feature = "fakes")]
pub use fake_toss;

#![doc = include_str!("../README.md")]
//!
//! # Module map
//! - [`money`]: [`money::Money`], an integer amount with an ISO-4217 currency.
//! - [`order`]: orders whose lines snapshot product id, name and unit price.
//! - [`payment_method`]: what pays for an order (saved card, PG payment, coupon).
//! - [`transaction`]: the life of one approval and the domain events it yields.
//! - [`coupon`]: issue, register, redeem and gift coupons.
//! - [`records`]: the wire protocol's records (histories, reservations, webhooks).
//! - [`timestamp`]: the wire's RFC 3339 millisecond timestamps.
//! - [`vendor`]: the ports every PG adapter implements and the pure mapping from each
//!   PG's payment object to one normalized view.
//! - [`envelope`]: the `compat` and `sealed-v2` body envelopes.
//! - [`password`]: PBKDF2-HMAC-SHA256 and keyed (HMAC-SHA256) record-password hashing.
//! - [`secret`]: a wrapper that never prints its value.
//! - [`clock`]: the injected [`clock::Clock`] and [`clock::IdGen`].

pub mod clock;
pub mod coupon;
pub mod envelope;
pub mod money;
pub mod order;
pub mod password;
pub mod payment_method;
pub mod records;
pub mod secret;
pub mod timestamp;
pub mod transaction;
pub mod vendor;

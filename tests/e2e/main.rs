//! End-to-end scenarios: the fakes, the server and the SDK in-process, one test per
//! scenario, for both PGs and both envelopes.

mod charges;
mod common;
mod coupons;
mod failures;
mod iamport;
mod identity;
mod multi_instance;
mod outbox;
mod portone;
mod races;
mod reconcile;
mod replays;
mod restart;
mod toss;

//! End-to-end scenarios: the fakes, the server and the SDK in-process, one test per
//! scenario, for both PGs and both envelopes.

mod common;
mod failures;
mod iamport;
mod restart;
mod toss;

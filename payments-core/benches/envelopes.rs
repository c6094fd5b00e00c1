//! Criterion bench (filled in by the crypto work).
fn main() {}

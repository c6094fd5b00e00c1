//! Fake PG server (being built).

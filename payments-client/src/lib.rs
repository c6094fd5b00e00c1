//! Typed SDK for the payments-server wire protocol (being built).

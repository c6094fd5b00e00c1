//! Coupon and gift records of the wire protocol (see `docs/protocol.md`).

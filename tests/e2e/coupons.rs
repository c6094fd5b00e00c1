//! Coupon and gift scenarios (being built).

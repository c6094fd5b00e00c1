-- Coupons. A code is a bearer secret, so it is never stored in the clear: the row is
-- found by code_hash = hex(SHA-256("payments-coupon-code:v1:" || canonical code)), and
-- the coupon itself (code, value, owner, gift message, state) is sealed at rest under
-- the data keys, bound to its code_hash. The plain columns are what lookups, expiry
-- sweeps and the optimistic check need; `version` makes every update conditional, so
-- of two concurrent redemptions exactly one writes.
CREATE TABLE coupons (
    code_hash   TEXT PRIMARY KEY,
    status      TEXT NOT NULL,      -- issued | registered | redeemed
    body_sealed TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX coupons_expiry ON coupons (status, expires_at);

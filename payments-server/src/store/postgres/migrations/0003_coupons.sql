-- Coupons, keyed by the code's hash (the code itself is never stored); `version` makes
-- every update conditional, so of two concurrent redemptions exactly one writes.
CREATE TABLE coupons (
    code_hash   TEXT NOT NULL,
    status      TEXT NOT NULL,      -- issued | registered | redeemed
    body_sealed TEXT NOT NULL,
    issued_at   TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT coupons_code_hash PRIMARY KEY (code_hash)
);
CREATE INDEX coupons_expiry ON coupons (status, expires_at);

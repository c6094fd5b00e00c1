-- Transactions: every approval attempt (a charge, a coupon redemption, a recorded PG
-- payment), sealed at rest; the plain columns are what lookups need.
CREATE TABLE transactions (
    id            UUID PRIMARY KEY,
    kind          TEXT NOT NULL,      -- charge | coupon | payment
    order_id      TEXT NOT NULL,
    status        TEXT NOT NULL,
    history_id    UUID REFERENCES histories (id),
    body_sealed   TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    version       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX transactions_order ON transactions (kind, order_id);
CREATE UNIQUE INDEX transactions_history ON transactions (history_id) WHERE history_id IS NOT NULL;

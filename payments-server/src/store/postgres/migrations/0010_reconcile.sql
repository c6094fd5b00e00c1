-- PostgreSQL twin of the SQLite store's 0010_reconcile.sql. Reconciliation: a history
-- whose payment is not in a final state at the PG is asked about again until it is;
-- `next_check_at` (Unix milliseconds) is when, NULL when nothing is awaited; `checks`
-- counts the checks made, for the backoff.
ALTER TABLE histories ADD COLUMN next_check_at BIGINT;
ALTER TABLE histories ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
CREATE INDEX histories_next_check ON histories (next_check_at) WHERE next_check_at IS NOT NULL;
UPDATE histories SET next_check_at = 0
 WHERE status IN ('ready', 'awaiting_confirmation', 'waiting_for_deposit');

-- PG payments a webhook named that no history holds, once the PG confirmed them: kept,
-- sealed, for an operator; removed when a history for the payment is recorded.
CREATE TABLE unknown_payments (
    vendor_code    TEXT NOT NULL,
    store_id       TEXT NOT NULL,
    vendor_uid     TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    status         TEXT NOT NULL,
    data_sealed    TEXT NOT NULL,
    sightings      INTEGER NOT NULL DEFAULT 1,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT unknown_payments_pkey PRIMARY KEY (vendor_code, vendor_uid)
);

-- Charges whose outcome the server may not know: one row per pending charge, written
-- before the PG is asked to charge, with what recording the payment needs sealed.
CREATE TABLE charge_checks (
    transaction_id UUID PRIMARY KEY REFERENCES transactions (id),
    context_sealed TEXT NOT NULL,
    next_check_at  BIGINT NOT NULL,
    checks         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX charge_checks_due ON charge_checks (next_check_at);

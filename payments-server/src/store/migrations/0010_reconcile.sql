-- Reconciliation: a history whose payment is not in a final state at the PG (a virtual
-- account awaiting its deposit, a cancel whose answer may have been lost) is asked about
-- again until it is, because the PG's webhook may never arrive. `next_check_at` (Unix
-- milliseconds) is when the reconciliation worker asks next, NULL when nothing is
-- awaited; a worker that claims a row moves it to the end of its claim, so another
-- instance does not ask too. `checks` counts the checks made, for the backoff.
ALTER TABLE histories ADD COLUMN next_check_at INTEGER;
ALTER TABLE histories ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
CREATE INDEX histories_next_check ON histories (next_check_at) WHERE next_check_at IS NOT NULL;
-- Histories recorded before still awaiting the PG are checked at once.
UPDATE histories SET next_check_at = 0
 WHERE status IN ('ready', 'awaiting_confirmation', 'waiting_for_deposit');

-- PG payments a webhook named that no history holds, once the PG confirmed them (so a
-- forged webhook stores nothing): money at the PG with no record here, kept for an
-- operator. The PG's object is sealed at rest like a history's; the row is removed when
-- a history for the payment is recorded after all.
CREATE TABLE unknown_payments (
    vendor_code    TEXT NOT NULL,
    store_id       TEXT NOT NULL,
    vendor_uid     TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    status         TEXT NOT NULL,
    data_sealed    TEXT NOT NULL,
    sightings      INTEGER NOT NULL DEFAULT 1,
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    PRIMARY KEY (vendor_code, vendor_uid)
);

-- Charges whose outcome the server may not know (the PG's answer lost, the caller never
-- retried): one row per pending charge, written before the PG is asked to charge, with
-- what recording the payment needs (the store, the source, the webhook URL, the
-- envelope) sealed; the reconciliation worker asks the PG by the order once the
-- charge's own request is done, and removes the row once the charge is final.
CREATE TABLE charge_checks (
    transaction_id TEXT PRIMARY KEY REFERENCES transactions (id),
    context_sealed TEXT NOT NULL,
    next_check_at  INTEGER NOT NULL,
    checks         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX charge_checks_due ON charge_checks (next_check_at);

-- Idempotency claims expire ([idempotency] ttl_ms after started_at): the sweep deletes
-- the expired ones in batches, oldest first, by this index.
CREATE INDEX idempotency_started_at ON idempotency (started_at);

-- Billing keys are no longer kept in the clear: `vendor_uid_hash` holds the keyed hash
-- of the billing key (label payments/billing-key/v1; the unique rule on
-- (vendor_code, vendor_uid) follows the rename) and `vendor_uid_sealed` the billing key
-- sealed with the data keys. Rows from before hold the billing key itself in
-- `vendor_uid_hash` and NULL in `vendor_uid_sealed` until the server, at start and
-- before it serves, seals them (reservations::seal_stored_billing_keys).
ALTER TABLE reservations RENAME COLUMN vendor_uid TO vendor_uid_hash;
ALTER TABLE reservations ADD COLUMN vendor_uid_sealed TEXT;

-- Identity verifications accepted, so each PG certification verifies a person once.
-- Rows older than twice [identity] max_age_ms are swept: such a certification is too
-- old to be accepted again anyway.
CREATE TABLE certification_uses (
    vendor_code      TEXT NOT NULL,
    store_id         TEXT NOT NULL,
    certification_id TEXT NOT NULL,
    used_at          INTEGER NOT NULL,  -- Unix milliseconds
    PRIMARY KEY (vendor_code, store_id, certification_id)
);
CREATE INDEX certification_uses_used_at ON certification_uses (used_at);

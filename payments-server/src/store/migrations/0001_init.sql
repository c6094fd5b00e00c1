-- Histories: one per source and one per vendor uid. PG objects, cancels and passwords
-- are stored sealed/hashed; the plain columns are what lookups and uniqueness need.
CREATE TABLE histories (
    id            TEXT PRIMARY KEY,
    vendor_code   TEXT NOT NULL,
    store_id      TEXT NOT NULL,
    vendor_uid    TEXT NOT NULL,
    order_id      TEXT NOT NULL,
    source_schema TEXT NOT NULL,
    source_table  TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    currency      TEXT NOT NULL,
    price         INTEGER NOT NULL,
    refund        INTEGER,
    webhook_url   TEXT,
    envelope      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    data_sealed   TEXT NOT NULL,
    cancels_sealed TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    paid_at       TEXT,
    cancelled_at  TEXT,
    version       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source_schema, source_table, source_id),
    UNIQUE (vendor_code, vendor_uid)
);
CREATE INDEX histories_order ON histories (vendor_code, order_id);

CREATE TABLE reservations (
    id            TEXT PRIMARY KEY,
    vendor_code   TEXT NOT NULL,
    store_id      TEXT NOT NULL,
    vendor_uid    TEXT NOT NULL,
    source_schema TEXT NOT NULL,
    source_table  TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    title         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    data_sealed   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (source_schema, source_table, source_id),
    UNIQUE (vendor_code, vendor_uid)
);

-- What the server tells (or will tell) a caller, sealed at rest: a WebhookHistory for a
-- history's webhook_url (kind 'webhook'), or a transaction event for the merchant's
-- event URL (kind 'event').
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    history_id  TEXT REFERENCES histories (id),
    body_sealed TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- The durable outbox: one row per webhook to deliver, written in the same transaction
-- as the change it reports.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      TEXT NOT NULL UNIQUE REFERENCES webhooks (id),
    url             TEXT NOT NULL,
    envelope        TEXT NOT NULL,
    state           TEXT NOT NULL,  -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL, -- Unix milliseconds
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE delivery_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id    INTEGER NOT NULL REFERENCES outbox (id),
    attempt      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    status       INTEGER,           -- HTTP status, NULL when no response
    body_excerpt TEXT,
    error        TEXT
);

-- Idempotency keys: the first response of a keyed request, replayed to its retries.
CREATE TABLE idempotency (
    key          TEXT NOT NULL,
    route        TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL,     -- in_flight | done
    status       INTEGER,
    body_sealed  TEXT,
    started_at   INTEGER NOT NULL,  -- Unix milliseconds
    PRIMARY KEY (key, route)
);

-- Idempotency claims expire ([idempotency] ttl_ms after started_at): the sweep deletes
-- the expired ones in batches, oldest first, by this index.
CREATE INDEX idempotency_started_at ON idempotency (started_at);

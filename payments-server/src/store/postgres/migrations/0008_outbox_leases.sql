-- Delivery claims: a worker that takes a pending delivery leases it until
-- `leased_until` (Unix milliseconds); no other worker takes it before then. A worker
-- that dies mid-delivery leaves the lease to run out, and the delivery is taken again.
ALTER TABLE outbox ADD COLUMN leased_until BIGINT;
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE state = 'pending';

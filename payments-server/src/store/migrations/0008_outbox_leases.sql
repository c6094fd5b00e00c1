-- Delivery claims: a worker that takes a pending delivery leases it until
-- `leased_until` (Unix milliseconds); no worker takes it again before then. A worker
-- that dies mid-delivery leaves the lease to run out, and the delivery is taken again.
ALTER TABLE outbox ADD COLUMN leased_until INTEGER;

-- A charge's lease: until when the request that holds a pending charge is still asking
-- the PG about it. Another request for the same order may resume the charge only once
-- the lease is cleared or has lapsed. Rows written before hold no lease (NULL).
ALTER TABLE transactions ADD COLUMN attempt_until TIMESTAMPTZ;

-- A charge's lease: until when the request that holds a pending charge is still asking
-- the PG about it. Another request for the same order may resume the charge (ask the PG,
-- record what it finds) only once the lease is cleared or has lapsed, so two requests
-- never charge one order side by side. Rows written before hold no lease (NULL).
ALTER TABLE transactions ADD COLUMN attempt_until TEXT;

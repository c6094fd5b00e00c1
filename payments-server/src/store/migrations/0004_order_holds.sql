-- At most one live charge per order. A charge transaction that has not failed "holds"
-- its order; a second concurrent charge for the same order is refused by this index
-- before it reaches the PG. Rows written before this migration hold nothing (0), so an
-- old database with several pending charges for one order still migrates.
ALTER TABLE transactions ADD COLUMN holds_order INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX transactions_held_order ON transactions (kind, order_id) WHERE holds_order = 1;

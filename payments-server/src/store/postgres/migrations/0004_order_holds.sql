-- At most one live charge per order: a charge transaction that has not failed holds
-- its order, and this index refuses a second one.
ALTER TABLE transactions ADD COLUMN holds_order BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX transactions_held_order ON transactions (kind, order_id) WHERE holds_order;

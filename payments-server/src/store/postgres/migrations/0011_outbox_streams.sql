-- Delivery streams and receivers. Deliveries of one stream (one history's webhooks,
-- one transaction's events) go out one at a time in the order they were written: a
-- row is not claimed while an earlier row of its stream is pending. `receiver` is the
-- URL's host, what the worker bounds its concurrent attempts per receiver by.
ALTER TABLE outbox ADD COLUMN stream TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN receiver TEXT NOT NULL DEFAULT '';
-- Rows queued before: a history's webhooks form its stream, any other message is a
-- stream of its own. Their host is not parsed here (as on SQLite): they keep the
-- receiver '' and share one receiver budget until delivered.
UPDATE outbox o SET stream = CASE
        WHEN w.kind = 'webhook' AND w.history_id IS NOT NULL THEN 'webhook:' || w.history_id::text
        ELSE 'message:' || w.id::text
    END
FROM webhooks w WHERE w.id = o.webhook_id;
CREATE INDEX outbox_pending_stream ON outbox (stream, id) WHERE state = 'pending';

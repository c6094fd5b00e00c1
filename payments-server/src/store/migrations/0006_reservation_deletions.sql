-- A billing key deleted at its PG (PortOne V2's BillingKey.Deleted, verified with the
-- PG): its reservation stays readable but charges on it are refused. A table of its own
-- rather than a column, so that the reservation rows keep their shape.
CREATE TABLE reservation_deletions (
    reservation_id TEXT PRIMARY KEY REFERENCES reservations (id),
    deleted_at     TEXT NOT NULL
);

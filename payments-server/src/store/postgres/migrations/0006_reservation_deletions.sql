-- A billing key deleted at its PG: its reservation stays readable but charges on it
-- are refused.
CREATE TABLE reservation_deletions (
    reservation_id UUID PRIMARY KEY REFERENCES reservations (id),
    deleted_at     TIMESTAMPTZ NOT NULL
);

-- The record-password guess limiter: one row per record that has seen a wrong password
-- since its last right one. Times are Unix milliseconds.
CREATE TABLE password_attempts (
    record_kind     TEXT    NOT NULL,   -- history | reservation | transaction
    record_id       UUID    NOT NULL,
    failures        INTEGER NOT NULL,
    window_start_ms BIGINT  NOT NULL,
    lockouts        INTEGER NOT NULL,
    locked_until_ms BIGINT,
    last_failure_ms BIGINT  NOT NULL,
    PRIMARY KEY (record_kind, record_id)
);

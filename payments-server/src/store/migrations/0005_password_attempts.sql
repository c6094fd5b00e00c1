-- The record-password guess limiter: one row per record that has seen a wrong password
-- since its last right one (a record never guessed at has no row). `failures` counts
-- wrong passwords in the window that began at `window_start_ms`; `lockouts` how many
-- lockouts it earned, so the next one lasts longer; while `locked_until_ms` is in the
-- future every password is refused before it is checked. A right password outside a
-- lockout deletes the row. Times are Unix milliseconds.
CREATE TABLE password_attempts (
    record_kind     TEXT    NOT NULL,   -- history | reservation | transaction
    record_id       TEXT    NOT NULL,
    failures        INTEGER NOT NULL,
    window_start_ms INTEGER NOT NULL,
    lockouts        INTEGER NOT NULL,
    locked_until_ms INTEGER,
    last_failure_ms INTEGER NOT NULL,
    PRIMARY KEY (record_kind, record_id)
) WITHOUT ROWID;

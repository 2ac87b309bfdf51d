-- 005: each worker's reported status (upserted by the worker about once a second and on every
-- state change); read by the live view, the run summary and dashboards. Times: seconds since the epoch.

CREATE TABLE workers (
    name          TEXT PRIMARY KEY,
    worker_type   TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    state         TEXT NOT NULL,
    issue_id      TEXT,
    last_action   TEXT NOT NULL DEFAULT '',
    model_calls   INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    closed        INTEGER NOT NULL DEFAULT 0,
    blocked       INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    heartbeat_at  REAL NOT NULL
);

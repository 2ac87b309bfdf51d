-- 002: small key/value state shared by a fleet (e.g. "planned", "run_over"), values are JSON.

CREATE TABLE fleet_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
);

-- 001: issues, dependencies, notes, attempts and the event log.
-- Times are seconds since the Unix epoch (REAL). JSON columns hold text checked by the store.

CREATE TABLE issues (
    id                  TEXT PRIMARY KEY,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    acceptance_criteria TEXT NOT NULL DEFAULT '',
    type                TEXT NOT NULL CHECK (type IN ('task', 'bug', 'feature', 'research', 'epic', 'chore')),
    priority            INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 4),
    labels              TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    metadata            TEXT NOT NULL DEFAULT '{}',  -- JSON object
    status              TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'blocked', 'closed', 'dead_letter')),
    assignee            TEXT,
    blocking_notes      TEXT,
    close_reason        TEXT,
    fence               INTEGER NOT NULL DEFAULT 0,   -- fencing token of the latest claim
    lease_expires_at    REAL,                         -- set only while in_progress
    attempts            INTEGER NOT NULL DEFAULT 0,   -- claims used since creation or the last reopen
    max_attempts        INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    created_at          REAL NOT NULL,
    updated_at          REAL NOT NULL,
    closed_at           REAL,
    CHECK ((status = 'in_progress') = (lease_expires_at IS NOT NULL))
);
-- The ready queue reads issues_queue in order (status = 'open', then priority, age): no sort.
CREATE INDEX issues_queue ON issues (status, priority, created_at, id);
CREATE INDEX issues_leases ON issues (lease_expires_at) WHERE status = 'in_progress';

-- issue_id depends on depends_on_id. blocks: issue_id waits for depends_on_id.
-- parent-child: issue_id is the child, depends_on_id the parent; the parent waits for its children.
CREATE TABLE dependencies (
    issue_id      TEXT NOT NULL REFERENCES issues (id),
    depends_on_id TEXT NOT NULL REFERENCES issues (id),
    type          TEXT NOT NULL CHECK (type IN ('blocks', 'parent-child', 'related', 'discovered-from')),
    created_at    REAL NOT NULL,
    PRIMARY KEY (issue_id, depends_on_id, type),
    CHECK (issue_id != depends_on_id)
) WITHOUT ROWID;
CREATE INDEX dependencies_reverse ON dependencies (depends_on_id, type, issue_id);

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    issue_id   TEXT NOT NULL REFERENCES issues (id),
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX notes_by_issue ON notes (issue_id, id);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    issue_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at REAL NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}'  -- JSON object; status changes carry "from" and "to"
);
CREATE INDEX events_by_issue ON events (issue_id, id);

-- One row per claim, derived from the event log (its single source of truth): a "claimed" event
-- starts an attempt; the next event that moves the issue out of in_progress ends it.
-- outcome and ended_at are NULL while the claim runs.
CREATE VIEW attempts AS
SELECT c.issue_id,
       row_number() OVER (PARTITION BY c.issue_id ORDER BY c.id) AS number,
       c.actor AS worker,
       json_extract(c.data, '$.token') AS token,
       c.created_at AS started_at,
       e.created_at AS ended_at,
       e.kind AS outcome,
       json_extract(e.data, '$.error') AS error
FROM events c
LEFT JOIN events e ON e.id = (
    SELECT min(t.id) FROM events t
    WHERE t.issue_id = c.issue_id AND t.id > c.id AND json_extract(t.data, '$.from') = 'in_progress'
      AND t.kind IN ('closed', 'blocked', 'released', 'failed', 'lease_expired'))
WHERE c.kind = 'claimed';

-- Nothing is deleted implicitly: issues, notes and events can never be deleted or rewritten here.
CREATE TRIGGER issues_never_deleted BEFORE DELETE ON issues
BEGIN SELECT RAISE(ABORT, 'issues are never deleted'); END;
CREATE TRIGGER notes_append_only BEFORE UPDATE ON notes
BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER notes_never_deleted BEFORE DELETE ON notes
BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER events_append_only BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_never_deleted BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- 003: verified work (issue 8). Issues carry `checks` (shell commands that must exit 0 in the
-- issue's worktree), a new status `in_review` (checks passed, waiting for or under a validator's
-- review), who submitted the work, and how many reviews the current submission has had.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt (SQLite's documented
-- 12-step procedure; migrate() turns foreign keys off around it and runs foreign_key_check).

CREATE TABLE issues_v3 (
    id                  TEXT PRIMARY KEY,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    acceptance_criteria TEXT NOT NULL DEFAULT '',
    type                TEXT NOT NULL CHECK (type IN ('task', 'bug', 'feature', 'research', 'epic', 'chore')),
    priority            INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 4),
    labels              TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    metadata            TEXT NOT NULL DEFAULT '{}',  -- JSON object
    checks              TEXT NOT NULL DEFAULT '[]',  -- JSON array of shell commands
    status              TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'in_review', 'blocked', 'closed',
                                                        'dead_letter')),
    assignee            TEXT,                         -- the claim holder (builder, or validator during a review)
    submitted_by        TEXT,                         -- the builder whose work is in review
    blocking_notes      TEXT,
    close_reason        TEXT,
    fence               INTEGER NOT NULL DEFAULT 0,   -- fencing token of the latest claim (work or review)
    lease_expires_at    REAL,                         -- set while in_progress, and while a review is held
    attempts            INTEGER NOT NULL DEFAULT 0,   -- builder claims since creation or the last reopen
    reviews             INTEGER NOT NULL DEFAULT 0,   -- review claims of the current submission
    max_attempts        INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    created_at          REAL NOT NULL,
    updated_at          REAL NOT NULL,
    closed_at           REAL,
    CHECK (status != 'in_progress' OR lease_expires_at IS NOT NULL),
    CHECK (status IN ('in_progress', 'in_review') OR lease_expires_at IS NULL)
);
INSERT INTO issues_v3 (id, title, description, acceptance_criteria, type, priority, labels, metadata, status,
                       assignee, blocking_notes, close_reason, fence, lease_expires_at, attempts, max_attempts,
                       created_at, updated_at, closed_at)
SELECT id, title, description, acceptance_criteria, type, priority, labels, metadata, status,
       assignee, blocking_notes, close_reason, fence, lease_expires_at, attempts, max_attempts,
       created_at, updated_at, closed_at
FROM issues;
DROP TABLE issues;
ALTER TABLE issues_v3 RENAME TO issues;
CREATE INDEX issues_queue ON issues (status, priority, created_at, id);
CREATE INDEX issues_leases ON issues (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE TRIGGER issues_never_deleted BEFORE DELETE ON issues
BEGIN SELECT RAISE(ABORT, 'issues are never deleted'); END;

-- A builder's attempt now ends when its work is closed or rejected after review, not when it is
-- submitted: the outcome of a rejected attempt is `rejected`.
DROP VIEW attempts;
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
    WHERE t.issue_id = c.issue_id AND t.id > c.id
      AND ((json_extract(t.data, '$.from') = 'in_progress'
            AND t.kind IN ('closed', 'blocked', 'released', 'failed', 'lease_expired'))
           OR (json_extract(t.data, '$.from') = 'in_review' AND t.kind IN ('closed', 'rejected'))))
WHERE c.kind = 'claimed';

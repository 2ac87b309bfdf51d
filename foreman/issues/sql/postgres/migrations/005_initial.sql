-- 005 (PostgreSQL): the whole schema of SQLite migrations 001-005 in one step, in the schema
-- "foreman" (the store sets search_path to it). Numbered 005 so the next migration has the same
-- number on both backends (006_... here beside sql/migrations/006_...).
-- Times are seconds since the Unix epoch (double precision), as on SQLite, so one row mapping serves
-- both. JSON columns hold text checked by the store (the same text SQLite stores).

CREATE TABLE issues (
    id                  text PRIMARY KEY,
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    acceptance_criteria text NOT NULL DEFAULT '',
    type                text NOT NULL CHECK (type IN ('task', 'bug', 'feature', 'research', 'epic', 'chore')),
    priority            integer NOT NULL CHECK (priority BETWEEN 0 AND 4),
    labels              text NOT NULL DEFAULT '[]',  -- JSON array of strings
    metadata            text NOT NULL DEFAULT '{}',  -- JSON object
    checks              text NOT NULL DEFAULT '[]',  -- JSON array of shell commands
    status              text NOT NULL CHECK (status IN ('open', 'in_progress', 'in_review', 'blocked', 'closed',
                                                        'dead_letter')),
    assignee            text,                         -- the claim holder (builder, or validator during a review)
    submitted_by        text,                         -- the builder whose work is in review
    blocking_notes      text,
    close_reason        text,
    fence               bigint NOT NULL DEFAULT 0,    -- fencing token of the latest claim (work or review)
    lease_expires_at    double precision,             -- set while in_progress, and while a review is held
    attempts            integer NOT NULL DEFAULT 0,   -- builder claims since creation or the last reopen
    reviews             integer NOT NULL DEFAULT 0,   -- review claims of the current submission
    max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    created_at          double precision NOT NULL,
    updated_at          double precision NOT NULL,
    closed_at           double precision,
    CHECK (status != 'in_progress' OR lease_expires_at IS NOT NULL),
    CHECK (status IN ('in_progress', 'in_review') OR lease_expires_at IS NULL)
);
-- The ready queue reads only open issues, in order (priority, then age): no sort.
CREATE INDEX issues_queue ON issues (priority, created_at, id) WHERE status = 'open';
CREATE INDEX issues_status ON issues (status);
CREATE INDEX issues_leases ON issues (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

-- issue_id depends on depends_on_id. blocks: issue_id waits for depends_on_id.
-- parent-child: issue_id is the child, depends_on_id the parent; the parent waits for its children.
CREATE TABLE dependencies (
    issue_id      text NOT NULL REFERENCES issues (id),
    depends_on_id text NOT NULL REFERENCES issues (id),
    type          text NOT NULL CHECK (type IN ('blocks', 'parent-child', 'related', 'discovered-from')),
    created_at    double precision NOT NULL,
    PRIMARY KEY (issue_id, depends_on_id, type),
    CHECK (issue_id != depends_on_id)
);
CREATE INDEX dependencies_reverse ON dependencies (depends_on_id, type, issue_id);
-- The ready query's "no open child" test: without it the planner scans every edge for parent-child
-- rows (8 ms at 100,000 edges, 0.2 ms with it).
CREATE INDEX dependencies_children ON dependencies (depends_on_id, issue_id) WHERE type = 'parent-child';

CREATE TABLE notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id   text NOT NULL REFERENCES issues (id),
    author     text NOT NULL,
    body       text NOT NULL,
    created_at double precision NOT NULL
);
CREATE INDEX notes_by_issue ON notes (issue_id, id);

CREATE TABLE events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id   text NOT NULL,
    kind       text NOT NULL,
    actor      text NOT NULL,
    created_at double precision NOT NULL,
    data       text NOT NULL DEFAULT '{}'  -- JSON object; status changes carry "from" and "to"
);
CREATE INDEX events_by_issue ON events (issue_id, id);
CREATE INDEX events_by_kind ON events (kind, id);

-- One row per claim, derived from the event log (see SQLite's 003_verified_work.sql).
CREATE VIEW attempts AS
SELECT c.issue_id,
       row_number() OVER (PARTITION BY c.issue_id ORDER BY c.id) AS number,
       c.actor AS worker,
       (c.data::jsonb ->> 'token')::bigint AS token,
       c.created_at AS started_at,
       e.created_at AS ended_at,
       e.kind AS outcome,
       e.data::jsonb ->> 'error' AS error
FROM events c
LEFT JOIN events e ON e.id = (
    SELECT min(t.id) FROM events t
    WHERE t.issue_id = c.issue_id AND t.id > c.id
      AND ((t.data::jsonb ->> 'from' = 'in_progress'
            AND t.kind IN ('closed', 'blocked', 'released', 'failed', 'lease_expired'))
           OR (t.data::jsonb ->> 'from' = 'in_review' AND t.kind IN ('closed', 'rejected'))))
WHERE c.kind = 'claimed';

CREATE TABLE fleet_state (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at double precision NOT NULL
);

CREATE TABLE workers (
    name          text PRIMARY KEY,
    worker_type   text NOT NULL,
    host          text NOT NULL,
    pid           integer NOT NULL,
    state         text NOT NULL,
    issue_id      text,
    last_action   text NOT NULL DEFAULT '',
    model_calls   integer NOT NULL DEFAULT 0,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cost_usd      double precision NOT NULL DEFAULT 0,
    closed        integer NOT NULL DEFAULT 0,
    blocked       integer NOT NULL DEFAULT 0,
    failed        integer NOT NULL DEFAULT 0,
    heartbeat_at  double precision NOT NULL
);

-- Nothing is deleted implicitly: issues, notes and events can never be deleted or rewritten here
-- (TRUNCATE included, which skips row triggers).
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation'; END $$;
CREATE TRIGGER issues_never_deleted BEFORE DELETE ON issues
FOR EACH ROW EXECUTE FUNCTION refuse('issues are never deleted');
CREATE TRIGGER issues_never_truncated BEFORE TRUNCATE ON issues
FOR EACH STATEMENT EXECUTE FUNCTION refuse('issues are never deleted');
CREATE TRIGGER notes_append_only BEFORE UPDATE OR DELETE ON notes
FOR EACH ROW EXECUTE FUNCTION refuse('notes are append-only');
CREATE TRIGGER notes_never_truncated BEFORE TRUNCATE ON notes
FOR EACH STATEMENT EXECUTE FUNCTION refuse('notes are append-only');
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION refuse('events are append-only');
CREATE TRIGGER events_never_truncated BEFORE TRUNCATE ON events
FOR EACH STATEMENT EXECUTE FUNCTION refuse('events are append-only');

-- Wake-ups (issue 11): an issue that appears or becomes claimable (open, or in review and unheld)
-- notifies channel foreman_issues with its id, and so does a close that can make another issue ready
-- (it blocks one, or is a child); idle workers LISTEN instead of polling. Claims, heartbeats and other
-- closes stay silent: NOTIFY serialises committing transactions, so silence keeps claims scaling.
CREATE FUNCTION notify_issue_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'closed' AND NOT EXISTS (
        SELECT 1 FROM dependencies d
        WHERE (d.depends_on_id = NEW.id AND d.type = 'blocks') OR (d.issue_id = NEW.id AND d.type = 'parent-child')) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('foreman_issues', NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER issues_notify AFTER INSERT OR UPDATE OF status, lease_expires_at ON issues
FOR EACH ROW WHEN (NEW.status IN ('open', 'closed') OR (NEW.status = 'in_review' AND NEW.lease_expires_at IS NULL))
EXECUTE FUNCTION notify_issue_change();

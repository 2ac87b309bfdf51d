-- Every statement of the SQLite store, one section per query: "-- name: purpose".
-- Sections containing {where} or {sets} get fixed fragments built by the store (never user text).

-- issue_insert: add a new issue
INSERT INTO issues (id, title, description, acceptance_criteria, type, priority, labels, metadata, checks,
                    status, blocking_notes, max_attempts, created_at, updated_at)
VALUES (:id, :title, :description, :acceptance_criteria, :type, :priority, :labels, :metadata, :checks,
        :status, :blocking_notes, :max_attempts, :now, :now);

-- issue_get: one issue by id
SELECT * FROM issues WHERE id = ?;

-- issue_list: issues matching {where}, oldest first
SELECT i.* FROM issues i WHERE 1 = 1 {where} ORDER BY i.created_at, i.id LIMIT :limit;

-- issue_ready: open issues matching {where} with no open blocker and no open child, by priority then age
SELECT i.* FROM issues i
WHERE i.status = 'open' {where}
  AND NOT EXISTS (SELECT 1 FROM dependencies d JOIN issues b ON b.id = d.depends_on_id
                  WHERE d.issue_id = i.id AND d.type = 'blocks' AND b.status != 'closed')
  AND NOT EXISTS (SELECT 1 FROM dependencies d JOIN issues c ON c.id = d.issue_id
                  WHERE d.depends_on_id = i.id AND d.type = 'parent-child' AND c.status != 'closed')
ORDER BY i.priority, i.created_at, i.id LIMIT :limit;

-- issue_claim: compare-and-swap open -> in_progress (new fencing token and lease) of {pick}: :id, or the ready query's first row
UPDATE issues
SET status = 'in_progress', assignee = :worker, fence = fence + 1, attempts = attempts + 1,
    lease_expires_at = :lease_expires_at, blocking_notes = NULL, updated_at = :now
WHERE id = {pick} AND status = 'open'
RETURNING *;

-- issue_set_guarded: change {sets} only if status and fence are still what the caller read
UPDATE issues SET {sets}, updated_at = :now WHERE id = :id AND status = :source AND fence = :fence;

-- issue_set_held: change {sets} of a claim still held: in_progress, fencing token :fence, lease not run out at :now
UPDATE issues SET {sets}, updated_at = :now
WHERE id = :id AND status = 'in_progress' AND fence = :fence AND lease_expires_at > :now
RETURNING *;

-- issue_counts: number of issues per status
SELECT status, count(*) AS n FROM issues GROUP BY status;

-- leases_due: claims (work or review) whose lease ran out at or before :now
SELECT * FROM issues WHERE lease_expires_at <= :now ORDER BY lease_expires_at;

-- review_ready: issues in review that nobody holds, matching {where}, not submitted by :worker, by priority then age
SELECT i.* FROM issues i
WHERE i.status = 'in_review' AND i.lease_expires_at IS NULL AND i.submitted_by IS NOT :worker {where}
ORDER BY i.priority, i.updated_at, i.id LIMIT 1;

-- review_claim: compare-and-swap: take the review lease of an unheld in_review issue, with a new fencing token
UPDATE issues
SET assignee = :worker, fence = fence + 1, reviews = reviews + 1, lease_expires_at = :lease_expires_at, updated_at = :now
WHERE id = :id AND status = 'in_review' AND lease_expires_at IS NULL
RETURNING *;

-- evidence_of: check runs and verdicts of one issue, oldest first
SELECT * FROM events WHERE issue_id = ? AND kind IN ('checked', 'verdict') ORDER BY id;

-- attempts_of: every attempt of one issue, first first (a view over the event log)
SELECT * FROM attempts WHERE issue_id = ? ORDER BY number;

-- note_append: add a note
INSERT INTO notes (issue_id, author, body, created_at) VALUES (:issue_id, :author, :body, :now) RETURNING *;

-- notes_of: notes of one issue, oldest first
SELECT * FROM notes WHERE issue_id = ? ORDER BY id;

-- event_append: add one event to the log (positional: issue_id, kind, actor, created_at, data; twice per claim+close)
INSERT INTO events (issue_id, kind, actor, created_at, data) VALUES (?, ?, ?, ?, ?);

-- events_list: events matching {where}, in log order
SELECT * FROM events WHERE id > :after {where} ORDER BY id LIMIT :limit;

-- dep_insert: add a dependency edge (no-op if it exists)
INSERT INTO dependencies (issue_id, depends_on_id, type, created_at) VALUES (:issue_id, :depends_on, :type, :now)
ON CONFLICT DO NOTHING;

-- dep_delete: remove a dependency edge
DELETE FROM dependencies WHERE issue_id = :issue_id AND depends_on_id = :depends_on AND type = :type;

-- deps_of: edges where the issue is the dependent
SELECT issue_id, depends_on_id AS depends_on, type, created_at FROM dependencies WHERE issue_id = ? ORDER BY created_at;

-- dependents_of: edges where the issue is depended on
SELECT issue_id, depends_on_id AS depends_on, type, created_at FROM dependencies WHERE depends_on_id = ? ORDER BY created_at;

-- dep_reaches: does :start wait (transitively, over gating edges) on :target? (blocks: issue -> depends_on; parent-child: parent -> child)
WITH RECURSIVE waits (id) AS (
    SELECT :start
    UNION
    SELECT d.depends_on_id FROM dependencies d JOIN waits w ON d.issue_id = w.id WHERE d.type = 'blocks'
    UNION
    SELECT d.issue_id FROM dependencies d JOIN waits w ON d.depends_on_id = w.id WHERE d.type = 'parent-child'
)
SELECT 1 FROM waits WHERE id = :target LIMIT 1;

-- state_put: set a fleet state value
INSERT INTO fleet_state (key, value, updated_at) VALUES (:key, :value, :now)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- state_get: read a fleet state value
SELECT value FROM fleet_state WHERE key = ?;

-- issue_by_key: the issue whose metadata holds :value at the JSON path :path (idempotent planning)
SELECT * FROM issues WHERE json_extract(metadata, :path) = :value ORDER BY created_at, id LIMIT 1;

-- run_lock_get: the run lock's holder (JSON) and its last heartbeat (updated_at)
SELECT value, updated_at FROM fleet_state WHERE key = :key;

-- run_lock_renew: heartbeat the run lock, only while :run_id holds it
UPDATE fleet_state SET updated_at = :now WHERE key = :key AND json_extract(value, '$.run_id') = :run_id;

-- run_lock_release: drop the run lock, only while :run_id holds it
DELETE FROM fleet_state WHERE key = :key AND json_extract(value, '$.run_id') = :run_id;

-- worker_put: insert or replace a worker's reported status (one row per worker name)
INSERT INTO workers (name, worker_type, host, pid, state, issue_id, last_action, model_calls, input_tokens,
                     output_tokens, cost_usd, closed, blocked, failed, heartbeat_at)
VALUES (:name, :worker_type, :host, :pid, :state, :issue_id, :last_action, :model_calls, :input_tokens,
        :output_tokens, :cost_usd, :closed, :blocked, :failed, :now)
ON CONFLICT (name) DO UPDATE SET
    worker_type = excluded.worker_type, host = excluded.host, pid = excluded.pid, state = excluded.state,
    issue_id = excluded.issue_id, last_action = excluded.last_action, model_calls = excluded.model_calls,
    input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd,
    closed = excluded.closed, blocked = excluded.blocked, failed = excluded.failed, heartbeat_at = excluded.heartbeat_at;

-- worker_list: reported worker statuses written at or after :since, by name
SELECT * FROM workers WHERE heartbeat_at >= :since ORDER BY name;

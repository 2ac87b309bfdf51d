-- 007 (PostgreSQL): as SQLite's 007_budgets.sql: an attempt can end because the issue ran out of its
-- budget (issue 12): `budget_exceeded` (in_progress -> dead_letter), outcome `budget`.
CREATE OR REPLACE VIEW attempts AS
SELECT c.issue_id,
       row_number() OVER (PARTITION BY c.issue_id ORDER BY c.id) AS number,
       c.actor AS worker,
       (c.data::jsonb ->> 'token')::bigint AS token,
       c.created_at AS started_at,
       e.created_at AS ended_at,
       CASE e.kind WHEN 'budget_exceeded' THEN 'budget' ELSE e.kind END AS outcome,
       e.data::jsonb ->> 'error' AS error
FROM events c
LEFT JOIN events e ON e.id = (
    SELECT min(t.id) FROM events t
    WHERE t.issue_id = c.issue_id AND t.id > c.id
      AND ((t.data::jsonb ->> 'from' = 'in_progress'
            AND t.kind IN ('closed', 'blocked', 'released', 'failed', 'lease_expired', 'budget_exceeded'))
           OR (t.data::jsonb ->> 'from' = 'in_review' AND t.kind IN ('closed', 'rejected'))))
WHERE c.kind = 'claimed';

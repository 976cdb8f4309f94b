-- Issue 19: a snapshot whose inputs did not move is not rebuilt. `workload`
-- built its hotspot list (3,029 people at 200k bugs) as jsonb every hour,
-- 20 of its 25-30 ms, though a quiet hour changes no one's load. A snapshot
-- now keeps a digest of what it was computed from (`inputs`); a run whose
-- inputs have the same digest takes the latest snapshot's data for its hour
-- instead (docs/decisions.md, 76).
ALTER TABLE hourly_snapshots ADD COLUMN inputs text;

-- Writing a snapshot without a digest clears any digest the row had, so a
-- row's `inputs` always describes its `data`.
CREATE OR REPLACE FUNCTION put_snapshot(p_hour timestamptz, p_kind text, p_data jsonb, p_at timestamptz)
RETURNS jsonb
LANGUAGE sql
AS $$
    INSERT INTO hourly_snapshots (hour, kind, data, updated_at)
    VALUES (p_hour, p_kind, p_data, p_at)
    ON CONFLICT (hour, kind) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,
                                           inputs = NULL
    RETURNING data
$$;

CREATE FUNCTION put_snapshot(p_hour timestamptz, p_kind text, p_data jsonb, p_at timestamptz,
                             p_inputs text)
RETURNS jsonb
LANGUAGE sql
AS $$
    INSERT INTO hourly_snapshots (hour, kind, data, updated_at, inputs)
    VALUES (p_hour, p_kind, p_data, p_at, p_inputs)
    ON CONFLICT (hour, kind) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,
                                           inputs = EXCLUDED.inputs
    RETURNING data
$$;

-- What `workload` is computed from: every person it can list (name, role)
-- and their open totals, as the triggers keep them. The version tag changes
-- when the computation does (weights live in the totals, thresholds in
-- `workload_level`), so a snapshot of an older rule is never reused.
-- A row's text form quotes what needs quoting and leaves NULL empty, so two
-- different sets of rows never print alike. STABLE: it reads with the
-- snapshot of the statement that calls it.
CREATE FUNCTION workload_inputs()
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT 'workload/1:' || md5(COALESCE(string_agg(
               ROW(u.id, u.name, u.role, t.load, t.open_bugs, t.critical_bugs)::text,
               E'\n' ORDER BY u.id), ''))
      FROM users u
      LEFT JOIN open_bugs_by_assignee t ON t.assignee_id = u.id AND t.open_bugs > 0
$$;

-- What `revenue_at_risk` is computed from: each project's name and its
-- revenue totals.
CREATE FUNCTION revenue_inputs()
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT 'revenue_at_risk/1:' || md5(COALESCE(string_agg(
               ROW(p.id, p.name, t.revenue, t.blocker_revenue, t.revenue_bugs)::text,
               E'\n' ORDER BY p.id), ''))
      FROM projects p
      LEFT JOIN open_bugs_by_project t ON t.project_id = p.id AND t.revenue_bugs > 0
$$;

-- The digest of a kind's inputs; NULL for a kind that keeps none.
CREATE FUNCTION snapshot_inputs(p_kind text)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE p_kind
               WHEN 'workload' THEN workload_inputs()
               WHEN 'revenue_at_risk' THEN revenue_inputs()
           END
$$;

-- Stores, for `p_hour`, the data of the kind's latest snapshot when that
-- snapshot was computed from inputs with today's digest, and returns it; or
-- returns NULL (nothing written) when the inputs moved and the caller must
-- compute. One statement: the digest and the copy see the same rows.
CREATE FUNCTION reuse_snapshot(p_hour timestamptz, p_kind text, p_at timestamptz)
RETURNS jsonb
LANGUAGE sql
AS $$
    WITH latest AS (
        SELECT data, inputs FROM hourly_snapshots
         WHERE kind = p_kind
         ORDER BY hour DESC
         LIMIT 1
    )
    INSERT INTO hourly_snapshots (hour, kind, data, updated_at, inputs)
    SELECT p_hour, p_kind, data, p_at, inputs FROM latest WHERE inputs = snapshot_inputs(p_kind)
    ON CONFLICT (hour, kind) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,
                                           inputs = EXCLUDED.inputs
    RETURNING data
$$;

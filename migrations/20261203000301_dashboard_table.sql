-- Issue 19: the dashboard's one row per project becomes a table that the
-- hourly run updates in place, instead of a materialized view rebuilt whole.
-- `REFRESH … CONCURRENTLY` computes every row, then diffs the new set
-- against the old in a full join; here only rows whose figures changed are
-- written, so a quiet hour writes nothing (docs/decisions.md, 70: "The
-- dashboard is a table written where it changed").
--
-- Readers see what they saw before: the same columns and types, one
-- consistent snapshot per statement (MVCC), never an empty table mid-refresh.
-- Velocity is now counted at the run's clock, like every hourly measure, not
-- at the database's now().
DROP MATERIALIZED VIEW dashboard_projects;

CREATE TABLE dashboard_projects (
    project_id              bigint PRIMARY KEY,
    name                    text NOT NULL,
    open_bugs               bigint NOT NULL,
    critical_bugs           bigint NOT NULL,
    breached_bugs           bigint NOT NULL,
    blockers                bigint NOT NULL,
    revenue_at_risk         numeric(14, 2) NOT NULL,
    blocker_revenue_at_risk numeric(14, 2) NOT NULL,
    velocity_per_week       numeric NOT NULL,
    workload_hotspots       bigint NOT NULL
);

-- What the dashboard should show at `p_at`, from the open-bug totals and
-- their rollups (migrations/20261203000300_open_bug_rollups.sql):
-- per-project figures are one row each; a project's hotspots are its
-- assignees whose load (over all projects) is HIGH or CRITICAL; velocity is
-- the resolutions of the four weeks before `p_at`.
CREATE FUNCTION dashboard_rows(p_at timestamptz)
RETURNS SETOF dashboard_projects
LANGUAGE sql STABLE
AS $$
    WITH hot AS (
        SELECT t.project_id, count(*) AS n
          FROM open_bug_totals t
          JOIN open_bugs_by_assignee a ON a.assignee_id = t.assignee_id
         WHERE t.open_bugs > 0 AND a.open_bugs > 0
           AND a.level IN ('HIGH', 'CRITICAL')
         GROUP BY t.project_id
    )
    SELECT p.id, p.name,
           COALESCE(t.open_bugs, 0), COALESCE(t.critical_bugs, 0), COALESCE(t.breached_bugs, 0),
           COALESCE(t.blockers, 0),
           COALESCE(t.revenue, 0)::numeric(14, 2), COALESCE(t.blocker_revenue, 0)::numeric(14, 2),
           r.n::numeric / 4,
           COALESCE(h.n, 0)
      FROM projects p
      LEFT JOIN open_bugs_by_project t ON t.project_id = p.id AND t.open_bugs > 0
      LEFT JOIN hot h ON h.project_id = p.id
      -- Per project, so each count is one range of the bugs_resolved index.
      CROSS JOIN LATERAL (SELECT count(*) AS n FROM bugs b
                           WHERE b.project_id = p.id AND b.resolved_at > p_at - interval '28 days'
                             AND b.resolved_at <= p_at) r
$$;

-- Brings the table to `dashboard_rows(p_at)`, writing only what differs;
-- returns how many rows it wrote or removed.
CREATE FUNCTION refresh_dashboard_projects(p_at timestamptz)
RETURNS bigint
LANGUAGE sql
AS $$
    WITH fresh AS (
        SELECT * FROM dashboard_rows(p_at)
    ), written AS (
        INSERT INTO dashboard_projects AS d SELECT * FROM fresh
        ON CONFLICT (project_id) DO UPDATE SET
            name = EXCLUDED.name,
            open_bugs = EXCLUDED.open_bugs,
            critical_bugs = EXCLUDED.critical_bugs,
            breached_bugs = EXCLUDED.breached_bugs,
            blockers = EXCLUDED.blockers,
            revenue_at_risk = EXCLUDED.revenue_at_risk,
            blocker_revenue_at_risk = EXCLUDED.blocker_revenue_at_risk,
            velocity_per_week = EXCLUDED.velocity_per_week,
            workload_hotspots = EXCLUDED.workload_hotspots
         WHERE (d.*) IS DISTINCT FROM (EXCLUDED.*)
        RETURNING 1
    ), removed AS (
        DELETE FROM dashboard_projects d
         WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = d.project_id)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM written) + (SELECT count(*) FROM removed)
$$;

SELECT refresh_dashboard_projects(now());

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

-- What the dashboard should show at `p_at`: from the open-bug totals
-- (migrations/20261203000101_open_bug_totals.sql) and the resolutions of the
-- four weeks before `p_at`, which the bugs_resolved index serves per project.
CREATE FUNCTION dashboard_rows(p_at timestamptz)
RETURNS SETOF dashboard_projects
LANGUAGE sql STABLE
AS $$
    WITH loads AS (
        SELECT assignee_id, workload_level(sum(load)::bigint) AS level
          FROM open_bug_totals WHERE assignee_id IS NOT NULL AND open_bugs > 0 GROUP BY assignee_id
    ), per_project AS (
        SELECT t.project_id,
               sum(t.open_bugs)::bigint AS open_bugs,
               sum(t.critical_bugs)::bigint AS critical_bugs,
               sum(t.breached_bugs)::bigint AS breached_bugs,
               sum(t.blockers)::bigint AS blockers,
               sum(t.revenue) AS revenue,
               sum(t.blocker_revenue) AS blocker_revenue,
               count(t.assignee_id) FILTER (WHERE l.level IN ('HIGH', 'CRITICAL')) AS hotspots
          FROM open_bug_totals t
          LEFT JOIN loads l ON l.assignee_id = t.assignee_id
         WHERE t.open_bugs > 0
         GROUP BY t.project_id
    )
    SELECT p.id, p.name,
           COALESCE(t.open_bugs, 0), COALESCE(t.critical_bugs, 0), COALESCE(t.breached_bugs, 0),
           COALESCE(t.blockers, 0),
           COALESCE(t.revenue, 0)::numeric(14, 2), COALESCE(t.blocker_revenue, 0)::numeric(14, 2),
           r.n::numeric / 4,
           COALESCE(t.hotspots, 0)
      FROM projects p
      LEFT JOIN per_project t ON t.project_id = p.id
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

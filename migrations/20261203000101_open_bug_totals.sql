-- Issue 19: one row per (project, assignee) totalling the open bugs, kept by
-- statement triggers on `bugs`, so the hourly measures (revenue_at_risk,
-- workload, alerts, the dashboard view) read a few thousand totals instead
-- of every open bug each hour (docs/decisions.md, 68: "Open bug totals per (project, assignee)").
-- Nothing in it depends on the clock: the stored risk band is the one
-- `sla_risk` last wrote, as the dashboard always showed it.
CREATE TABLE open_bug_totals (
    project_id       bigint NOT NULL,
    assignee_id      bigint,
    open_bugs        bigint NOT NULL,
    critical_bugs    bigint NOT NULL,
    breached_bugs    bigint NOT NULL,
    blockers         bigint NOT NULL,
    revenue          numeric NOT NULL,
    blocker_revenue  numeric NOT NULL,
    revenue_bugs     bigint NOT NULL,
    load             bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (project_id, assignee_id)
);
CREATE INDEX open_bug_totals_assignee ON open_bug_totals (assignee_id);

-- The change a statement made, as +1 per new open row and -1 per old one,
-- folded into the totals. Rows in key order, so two writers lock totals in
-- the same order; rows whose change nets to nothing are not written.
CREATE FUNCTION open_bug_totals_apply() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    changed text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS n, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS n, * FROM old_rows'
        ELSE 'SELECT -1 AS n, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows'
    END;
BEGIN
    EXECUTE format($q$
        INSERT INTO open_bug_totals AS t
        SELECT * FROM (
            SELECT project_id, assignee_id, sum(n) AS open_bugs,
                   COALESCE(sum(n) FILTER (WHERE severity = 'critical'), 0) AS critical_bugs,
                   COALESCE(sum(n) FILTER (WHERE sla_risk = 'breached'), 0) AS breached_bugs,
                   COALESCE(sum(n) FILTER (WHERE is_blocker), 0) AS blockers,
                   sum(n * revenue_impact_daily) AS revenue,
                   COALESCE(sum(n * revenue_impact_daily) FILTER (WHERE is_blocker), 0) AS blocker_revenue,
                   COALESCE(sum(n) FILTER (WHERE revenue_impact_daily > 0), 0) AS revenue_bugs,
                   sum(n * bug_weight(severity, is_blocker)) AS load
              FROM (%s) d
             WHERE status IN ('open', 'in_progress')
             GROUP BY project_id, assignee_id
        ) s
         WHERE (open_bugs, critical_bugs, breached_bugs, blockers, revenue, blocker_revenue,
                revenue_bugs, load) <> (0, 0, 0, 0, 0, 0, 0, 0)
         ORDER BY project_id, assignee_id
        ON CONFLICT (project_id, assignee_id) DO UPDATE SET
            open_bugs = t.open_bugs + EXCLUDED.open_bugs,
            critical_bugs = t.critical_bugs + EXCLUDED.critical_bugs,
            breached_bugs = t.breached_bugs + EXCLUDED.breached_bugs,
            blockers = t.blockers + EXCLUDED.blockers,
            revenue = t.revenue + EXCLUDED.revenue,
            blocker_revenue = t.blocker_revenue + EXCLUDED.blocker_revenue,
            revenue_bugs = t.revenue_bugs + EXCLUDED.revenue_bugs,
            load = t.load + EXCLUDED.load
    $q$, changed);
    RETURN NULL;
END $$;

CREATE TRIGGER bugs_totals_insert AFTER INSERT ON bugs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION open_bug_totals_apply();
CREATE TRIGGER bugs_totals_update AFTER UPDATE ON bugs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION open_bug_totals_apply();
CREATE TRIGGER bugs_totals_delete AFTER DELETE ON bugs REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION open_bug_totals_apply();

CREATE FUNCTION open_bug_totals_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE open_bug_totals;
    RETURN NULL;
END $$;
CREATE TRIGGER bugs_totals_truncate AFTER TRUNCATE ON bugs
    FOR EACH STATEMENT EXECUTE FUNCTION open_bug_totals_truncate();

-- What is there today. Idle rows (a totals key whose bugs all closed) stay
-- at zero and are skipped by the readers (open_bugs > 0).
INSERT INTO open_bug_totals
SELECT project_id, assignee_id, count(*),
       count(*) FILTER (WHERE severity = 'critical'),
       count(*) FILTER (WHERE sla_risk = 'breached'),
       count(*) FILTER (WHERE is_blocker),
       sum(revenue_impact_daily),
       COALESCE(sum(revenue_impact_daily) FILTER (WHERE is_blocker), 0),
       count(*) FILTER (WHERE revenue_impact_daily > 0),
       sum(bug_weight(severity, is_blocker))
  FROM bugs WHERE status IN ('open', 'in_progress')
 GROUP BY project_id, assignee_id;

-- Alerts count critical bugs past their deadline on the run's clock: few,
-- read through this index rather than with every open bug.
CREATE INDEX bugs_open_critical ON bugs (project_id, sla_deadline) INCLUDE (assignee_id)
    WHERE severity = 'critical' AND status IN ('open', 'in_progress');

-- sla_risk's hourly counts by severity and band: an index-only scan.
CREATE INDEX bugs_open_severity_risk ON bugs (severity, sla_risk)
    WHERE status IN ('open', 'in_progress');

-- The dashboard from the totals: the same columns, the same figures.
DROP MATERIALIZED VIEW dashboard_projects;
CREATE MATERIALIZED VIEW dashboard_projects AS
WITH loads AS (
    SELECT assignee_id, workload_level(sum(load)::bigint) AS level
      FROM open_bug_totals WHERE assignee_id IS NOT NULL AND open_bugs > 0 GROUP BY assignee_id
)
SELECT p.id AS project_id,
       p.name,
       COALESCE(sum(t.open_bugs), 0)::bigint AS open_bugs,
       COALESCE(sum(t.critical_bugs), 0)::bigint AS critical_bugs,
       COALESCE(sum(t.breached_bugs), 0)::bigint AS breached_bugs,
       COALESCE(sum(t.blockers), 0)::bigint AS blockers,
       COALESCE(sum(t.revenue), 0)::numeric(14, 2) AS revenue_at_risk,
       COALESCE(sum(t.blocker_revenue), 0)::numeric(14, 2) AS blocker_revenue_at_risk,
       (SELECT count(*) FROM bugs r WHERE r.project_id = p.id AND r.resolved_at > now() - interval '28 days')::numeric / 4
           AS velocity_per_week,
       count(t.assignee_id) FILTER (WHERE l.level IN ('HIGH', 'CRITICAL')) AS workload_hotspots
  FROM projects p
  LEFT JOIN open_bug_totals t ON t.project_id = p.id AND t.open_bugs > 0
  LEFT JOIN loads l ON l.assignee_id = t.assignee_id
 GROUP BY p.id, p.name
WITH DATA;
CREATE UNIQUE INDEX dashboard_projects_pk ON dashboard_projects (project_id);

-- Issue 19: the open-bug totals rolled up once more, per project and per
-- assignee, by the same statement triggers on `bugs`
-- (migrations/20261203000101_open_bug_totals.sql). At 200k bugs the
-- (project, assignee) totals hold about 39k rows; revenue_at_risk, alerts
-- and the dashboard want 1k per-project rows, workload 3.5k per-person rows,
-- sla_risk's snapshot 16 rows by severity and band.
-- Summing 39k numerics three times an hour cost more than reading them
-- (docs/decisions.md, 70).
CREATE TABLE open_bugs_by_project (
    project_id       bigint PRIMARY KEY,
    open_bugs        bigint NOT NULL,
    critical_bugs    bigint NOT NULL,
    breached_bugs    bigint NOT NULL,
    blockers         bigint NOT NULL,
    revenue          numeric NOT NULL,
    blocker_revenue  numeric NOT NULL,
    revenue_bugs     bigint NOT NULL,
    load             bigint NOT NULL
);
-- `level` is stored so the planner has statistics for it: at 200k bugs most
-- people are HIGH or CRITICAL, and a guess of "few" made the dashboard probe
-- the pairs once per person instead of hashing them.
CREATE TABLE open_bugs_by_assignee (
    assignee_id      bigint PRIMARY KEY,
    open_bugs        bigint NOT NULL,
    critical_bugs    bigint NOT NULL,
    breached_bugs    bigint NOT NULL,
    blockers         bigint NOT NULL,
    revenue          numeric NOT NULL,
    blocker_revenue  numeric NOT NULL,
    revenue_bugs     bigint NOT NULL,
    load             bigint NOT NULL,
    level            text NOT NULL GENERATED ALWAYS AS (workload_level(load)) STORED
);

-- The hour's SLA snapshot counts open bugs by severity and stored band: 16
-- rows here instead of an index scan over every open bug.
CREATE TABLE open_bugs_by_risk (
    severity         text NOT NULL,
    sla_risk         text,
    open_bugs        bigint NOT NULL,
    critical_bugs    bigint NOT NULL,
    breached_bugs    bigint NOT NULL,
    blockers         bigint NOT NULL,
    revenue          numeric NOT NULL,
    blocker_revenue  numeric NOT NULL,
    revenue_bugs     bigint NOT NULL,
    load             bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (severity, sla_risk)
);
-- Its only reader was that snapshot (migrations/20261203000101_open_bug_totals.sql).
DROP INDEX bugs_open_severity_risk;

-- How a set of +1/-1 bug rows (`source`, with its sign in `n`) is folded into
-- one totals table keyed by `keys`: one definition of the sums, used by the
-- trigger below and by this migration's backfill.
CREATE FUNCTION open_bug_sums_upsert(target text, keys text, source text, filter text)
    RETURNS text
    LANGUAGE sql IMMUTABLE
    RETURN format($q$
        INSERT INTO %1$s AS t
        SELECT * FROM (
            SELECT %2$s, sum(n) AS open_bugs,
                   COALESCE(sum(n) FILTER (WHERE severity = 'critical'), 0) AS critical_bugs,
                   COALESCE(sum(n) FILTER (WHERE sla_risk = 'breached'), 0) AS breached_bugs,
                   COALESCE(sum(n) FILTER (WHERE is_blocker), 0) AS blockers,
                   sum(n * revenue_impact_daily) AS revenue,
                   COALESCE(sum(n * revenue_impact_daily) FILTER (WHERE is_blocker), 0) AS blocker_revenue,
                   COALESCE(sum(n) FILTER (WHERE revenue_impact_daily > 0), 0) AS revenue_bugs,
                   sum(n * bug_weight(severity, is_blocker)) AS load
              FROM (%3$s) d
             WHERE status IN ('open', 'in_progress') AND %4$s
             GROUP BY %2$s
        ) s
         WHERE (open_bugs, critical_bugs, breached_bugs, blockers, revenue, blocker_revenue,
                revenue_bugs, load) <> (0, 0, 0, 0, 0, 0, 0, 0)
         ORDER BY %2$s
        ON CONFLICT (%2$s) DO UPDATE SET
            open_bugs = t.open_bugs + EXCLUDED.open_bugs,
            critical_bugs = t.critical_bugs + EXCLUDED.critical_bugs,
            breached_bugs = t.breached_bugs + EXCLUDED.breached_bugs,
            blockers = t.blockers + EXCLUDED.blockers,
            revenue = t.revenue + EXCLUDED.revenue,
            blocker_revenue = t.blocker_revenue + EXCLUDED.blocker_revenue,
            revenue_bugs = t.revenue_bugs + EXCLUDED.revenue_bugs,
            load = t.load + EXCLUDED.load
    $q$, target, keys, source, filter);

-- Every totals table a bug write changes. One statement per table, in a
-- fixed order (pairs, projects, assignees, bands) and each in key order, so
-- two writers lock rows in the same order. Each sums the change by its own
-- key, so it is exact whatever the others hold. The statements run here, not
-- in a helper: transition tables are visible only to the trigger function.
CREATE OR REPLACE FUNCTION open_bug_totals_apply() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    changed text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS n, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS n, * FROM old_rows'
        ELSE 'SELECT -1 AS n, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows'
    END;
BEGIN
    EXECUTE open_bug_sums_upsert('open_bug_totals', 'project_id, assignee_id', changed, 'true');
    EXECUTE open_bug_sums_upsert('open_bugs_by_project', 'project_id', changed, 'true');
    EXECUTE open_bug_sums_upsert('open_bugs_by_assignee', 'assignee_id', changed, 'assignee_id IS NOT NULL');
    EXECUTE open_bug_sums_upsert('open_bugs_by_risk', 'severity, sla_risk', changed, 'true');
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION open_bug_totals_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE open_bug_totals, open_bugs_by_project, open_bugs_by_assignee, open_bugs_by_risk;
    RETURN NULL;
END $$;

-- What is there today: every open bug counted once, by the same sums.
-- The pairs are full already (migrations/20261203000101_open_bug_totals.sql).
DO $$
BEGIN
    EXECUTE open_bug_sums_upsert('open_bugs_by_project', 'project_id', 'SELECT 1 AS n, * FROM bugs', 'true');
    EXECUTE open_bug_sums_upsert('open_bugs_by_assignee', 'assignee_id', 'SELECT 1 AS n, * FROM bugs',
                                 'assignee_id IS NOT NULL');
    EXECUTE open_bug_sums_upsert('open_bugs_by_risk', 'severity, sla_risk', 'SELECT 1 AS n, * FROM bugs', 'true');
END $$;
ANALYZE open_bugs_by_project, open_bugs_by_assignee, open_bugs_by_risk;

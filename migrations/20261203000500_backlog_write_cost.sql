-- Issue 19 and issue 13, the first hourly run over a backlog: its
-- `escalations` statement writes one row per bug and level (218k at 200k
-- bugs) and rewrites every breached bug (85k). EXPLAIN ANALYZE of it at 200k
-- bugs (BENCHMARKS.md; docs/decisions.md, 74) put the time in what each
-- written row drags along, not in the rows: three foreign-key checks per
-- escalation row, eleven indexes per rewritten bug, and a totals trigger that
-- re-summed every rewritten bug twice although escalation changes none of
-- what the totals count. This migration removes those three costs and keeps
-- every row the run writes.

-- 1. Indexes on `bugs` that no statement reads since the rollups
-- (migrations/20261203000300_open_bug_rollups.sql): pg_stat_user_indexes
-- showed no scan of them after hourly, daily, weekly and two more hourly runs
-- at 200k bugs. Every write of an open bug paid for each.
-- `bugs_creator` stays: deleting a merged person checks it
-- (crates/nightshift-cli/src/people/merge.rs).
DROP INDEX bugs_open_deadline, bugs_open_project, bugs_open_assignee;

-- 2. An escalation row is history: who the bug's assignee and manager were
-- when it climbed. Their keys to `users` cost two checks per row (3.1 s of
-- the 218k rows) and guarded nothing the writer does not: the statement
-- takes both ids from `bugs` and `users` in the same snapshot. The merge of
-- a person moves these two columns by name, as it does `bugs.followers`.
ALTER TABLE escalations DROP CONSTRAINT escalations_assignee_id_fkey,
                        DROP CONSTRAINT escalations_manager_id_fkey;

-- 3. The totals trigger reads the statement's rows once, and of an update
-- only the bugs whose counted columns changed. An update that changes none
-- of them (an escalation's priority and followers, a sync's new title) nets
-- to zero per key; before, each of the four upserts read every old and new
-- row again (1.1 s for the backlog's 85k rewritten bugs) only to drop them as
-- zero. The rows keep every column open_bug_sums_upsert sums, so its sums
-- over them are the same.
CREATE TYPE open_bug_count_row AS (
    n                     integer,
    project_id            bigint,
    assignee_id           bigint,
    status                text,
    severity              text,
    sla_risk              text,
    is_blocker            boolean,
    revenue_impact_daily  numeric(14, 2)
);

CREATE OR REPLACE FUNCTION open_bug_totals_apply() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    delta open_bug_count_row[];
    source constant text := 'SELECT * FROM unnest($1)';
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(ROW(1, project_id, assignee_id, status, severity, sla_risk, is_blocker,
                             revenue_impact_daily)::open_bug_count_row)
          INTO delta FROM new_rows WHERE status IN ('open', 'in_progress');
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(ROW(-1, project_id, assignee_id, status, severity, sla_risk, is_blocker,
                             revenue_impact_daily)::open_bug_count_row)
          INTO delta FROM old_rows WHERE status IN ('open', 'in_progress');
    ELSE
        -- A bug's old and new rows pair up by id (ids are never rewritten;
        -- the full join keeps a row without a partner all the same).
        SELECT array_agg(r) INTO delta
          FROM old_rows o FULL JOIN new_rows w ON w.id = o.id
         CROSS JOIN LATERAL (VALUES (ROW(-1, o.project_id, o.assignee_id, o.status, o.severity, o.sla_risk,
                                         o.is_blocker, o.revenue_impact_daily)::open_bug_count_row),
                                    (ROW(1, w.project_id, w.assignee_id, w.status, w.severity, w.sla_risk,
                                         w.is_blocker, w.revenue_impact_daily)::open_bug_count_row)) AS s(r)
         WHERE (o.project_id, o.assignee_id, o.status, o.severity, o.sla_risk, o.is_blocker,
                o.revenue_impact_daily)
               IS DISTINCT FROM (w.project_id, w.assignee_id, w.status, w.severity, w.sla_risk,
                                 w.is_blocker, w.revenue_impact_daily)
           AND (r).status IN ('open', 'in_progress');
    END IF;
    IF delta IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE open_bug_sums_upsert('open_bug_totals', 'project_id, assignee_id', source, 'true') USING delta;
    EXECUTE open_bug_sums_upsert('open_bugs_by_project', 'project_id', source, 'true') USING delta;
    EXECUTE open_bug_sums_upsert('open_bugs_by_assignee', 'assignee_id', source, 'assignee_id IS NOT NULL')
        USING delta;
    EXECUTE open_bug_sums_upsert('open_bugs_by_risk', 'severity, sla_risk', source, 'true') USING delta;
    RETURN NULL;
END $$;

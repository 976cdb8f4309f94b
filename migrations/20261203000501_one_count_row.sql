-- The totals trigger of migrations/20261203000500_backlog_write_cost.sql
-- spelled the counted columns out four times (insert, delete, and both sides
-- of an update, once more in its comparison): a column added to one list and
-- not the others would silently drop its changes. One function now turns a
-- bug row into its counted row; the trigger compares and collects those.
-- Same rows, same sums.
CREATE FUNCTION open_bug_count(n integer, b bugs) RETURNS open_bug_count_row
    LANGUAGE sql IMMUTABLE
    RETURN ROW(n, b.project_id, b.assignee_id, b.status, b.severity, b.sla_risk, b.is_blocker,
               b.revenue_impact_daily)::open_bug_count_row;

CREATE OR REPLACE FUNCTION open_bug_totals_apply() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    delta open_bug_count_row[];
    source constant text := 'SELECT * FROM unnest($1)';
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(open_bug_count(1, w)) INTO delta
          FROM new_rows w WHERE w.status IN ('open', 'in_progress');
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(open_bug_count(-1, o)) INTO delta
          FROM old_rows o WHERE o.status IN ('open', 'in_progress');
    ELSE
        -- A bug's old and new rows pair up by id (ids are never rewritten;
        -- the full join keeps a row without a partner all the same). Only
        -- the bugs whose counted row changed are folded in.
        SELECT array_agg(r) INTO delta
          FROM old_rows o FULL JOIN new_rows w ON w.id = o.id
         CROSS JOIN LATERAL (VALUES (open_bug_count(-1, o)), (open_bug_count(1, w))) AS s(r)
         WHERE open_bug_count(1, o) IS DISTINCT FROM open_bug_count(1, w)
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

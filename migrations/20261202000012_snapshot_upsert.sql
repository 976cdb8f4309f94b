-- One definition of "store this hour's snapshot of a kind": the hourly tasks
-- (workload, revenue_at_risk, sla_risk, velocity) each computed their JSON and
-- repeated this upsert. A run repeated within the hour replaces its snapshot.
CREATE FUNCTION put_snapshot(p_hour timestamptz, p_kind text, p_data jsonb, p_at timestamptz)
RETURNS jsonb
LANGUAGE sql
AS $$
    INSERT INTO hourly_snapshots (hour, kind, data, updated_at)
    VALUES (p_hour, p_kind, p_data, p_at)
    ON CONFLICT (hour, kind) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
    RETURNING data
$$;

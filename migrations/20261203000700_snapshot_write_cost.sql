-- Issue 19, a steady hour at 200k bugs: after decision 76 the snapshot
-- writes themselves were among its dearest statements (docs/decisions.md, 77).
-- Same rows, same data; less work per write.

-- 1. `reuse_snapshot` took its digest three times a call. The digest is a
-- STABLE function of a parameter, and the planner evaluates such a call
-- while it estimates the selectivity of `inputs = snapshot_inputs(p_kind)`,
-- then the executor evaluates it again; a SQL function's body is planned on
-- every call. pg_stat_statements counted three runs of each digest per
-- hourly run (3.8 ms each for workload's). PL/pgSQL takes it once, into a
-- variable, and keeps its plan for the session.
--
-- The digest and the copy are now two statements, each with its own
-- snapshot. A writer that commits between them is harmless: the copy
-- happens only when the latest snapshot's digest equals the one just taken,
-- and that snapshot's data was computed from exactly those inputs
-- (put_snapshot stores data and digest from one statement), so what is
-- copied is what a run at the digest's instant would have computed.
CREATE OR REPLACE FUNCTION reuse_snapshot(p_hour timestamptz, p_kind text, p_at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    digest constant text := snapshot_inputs(p_kind);
    reused jsonb;
BEGIN
    INSERT INTO hourly_snapshots AS s (hour, kind, data, updated_at, inputs)
    SELECT p_hour, p_kind, l.data, p_at, l.inputs
      FROM (SELECT data, inputs FROM hourly_snapshots
             WHERE kind = p_kind
             ORDER BY hour DESC
             LIMIT 1) l
     WHERE l.inputs = digest
    ON CONFLICT (hour, kind) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,
                                           inputs = EXCLUDED.inputs
    RETURNING s.data INTO reused;
    RETURN reused;
END $$;

-- 2. The four-argument `put_snapshot` repeated the five-argument one's body
-- but for `inputs` (migrations/20261203000600_snapshot_inputs.sql). It is now
-- that one with no digest, which clears the row's.
CREATE OR REPLACE FUNCTION put_snapshot(p_hour timestamptz, p_kind text, p_data jsonb, p_at timestamptz)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT put_snapshot(p_hour, p_kind, p_data, p_at, NULL::text)
$$;

-- 3. A snapshot's list is 30-320 KB of JSON, stored compressed. pglz took
-- 3.9 ms to write velocity's 115 KB and 7.8 ms for workload's 325 KB; lz4
-- took 1.0 and 2.0 ms for the same rows (one copy of a 200k-bug database).
-- Only new values use it; old rows read as before. A server built without
-- lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE hourly_snapshots ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: hourly_snapshots.data stays pglz';
END $$;

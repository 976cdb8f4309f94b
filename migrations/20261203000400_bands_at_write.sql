-- Issue 19, the first run: a bug's risk band is assessed when the bug is
-- written, by the writer that knows its clock (the GitHub sync, the seed),
-- instead of by the next hourly run. The row is written then anyway, so its
-- band costs nothing more; before this, the first hourly run over a backlog
-- rewrote every open bug once more only to store its band (140k rows at 200k
-- bugs, bound by the maintenance of the table's indexes; BENCHMARKS.md).
-- Only bugs that owe a breach-risk warning are left for `sla_risk`, which
-- sends it (docs/decisions.md, 73).

-- The band at an instant: the rule crates/nightshift-tasks/src/hourly/sla_risk.rs
-- documents. Seconds are exact numerics, so "exactly 10 % left" is exact.
CREATE FUNCTION risk_band_at(at timestamptz, deadline timestamptz, window_hours integer)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN at >= deadline THEN 'breached'
                WHEN extract(epoch FROM deadline - at) * 10 < window_hours * 3600 THEN 'high'
                WHEN extract(epoch FROM deadline - at) * 4 < window_hours * 3600 THEN 'medium'
                ELSE 'low'
           END;

-- When a stored band must be looked at again: now, when it owes a warning
-- (entering medium, then high), else when the band ends.
CREATE FUNCTION risk_next_after(risk text, warned text, created timestamptz, severity text, override integer)
    RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN risk IN ('medium', 'high') AND (warned IS NULL OR (warned = 'medium' AND risk = 'high'))
                THEN '-infinity'::timestamptz
                ELSE risk_band_end(risk, created, severity, override)
           END;

-- Bands assessed at write time are true from the writer's clock on; a run
-- whose clock is behind the latest such clock (a test, a replay) cannot trust
-- them and assesses every open bug, as it does when it is behind a past run.
CREATE TABLE risk_assessed_upto (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    upto     timestamptz NOT NULL
);
INSERT INTO risk_assessed_upto VALUES (true, '-infinity');

-- Called by a writer, in its transaction, before it inserts bugs: the bugs it
-- inserts get their band at `at`. Without it a new bug waits for `sla_risk`.
CREATE FUNCTION assess_new_bugs_at(at timestamptz) RETURNS void
    LANGUAGE sql AS $$
    SELECT set_config('nightshift.assess_at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), true);
    UPDATE risk_assessed_upto SET upto = at WHERE upto < at;
$$;

CREATE OR REPLACE FUNCTION bugs_risk_next_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    assess_at timestamptz;
BEGIN
    IF NEW.status NOT IN ('open', 'in_progress') THEN
        NEW.risk_next_at := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        -- A restore (nightshift restore) carries the stored band and instant along.
        IF NEW.risk_next_at IS NULL THEN
            assess_at := nullif(current_setting('nightshift.assess_at', true), '')::timestamptz;
            IF assess_at IS NULL THEN
                NEW.risk_next_at := '-infinity';
            ELSE
                NEW.sla_risk := risk_band_at(assess_at, sla_deadline(NEW.created_at, NEW.severity, NEW.sla_hours),
                                             sla_window_hours(NEW.severity, NEW.sla_hours));
                NEW.risk_next_at := risk_next_after(NEW.sla_risk, NEW.risk_warned, NEW.created_at,
                                                    NEW.severity, NEW.sla_hours);
            END IF;
        END IF;
    ELSIF NEW.risk_next_at IS DISTINCT FROM OLD.risk_next_at THEN
        NULL; -- sla_risk's own assessment
    ELSIF (NEW.created_at, NEW.severity, NEW.sla_hours, NEW.status)
          IS DISTINCT FROM (OLD.created_at, OLD.severity, OLD.sla_hours, OLD.status) THEN
        NEW.risk_next_at := '-infinity';
    ELSIF (NEW.sla_risk, NEW.risk_warned) IS DISTINCT FROM (OLD.sla_risk, OLD.risk_warned) THEN
        NEW.risk_next_at := risk_next_after(NEW.sla_risk, NEW.risk_warned, NEW.created_at,
                                            NEW.severity, NEW.sla_hours);
    END IF;
    RETURN NEW;
END $$;

-- Issue 19: the hourly tasks touch what changed since their last run, not
-- every open bug (docs/decisions.md, 67: "Risk bands and escalation levels
-- are re-read when they fall due").
--
-- A bug's risk band changes only at known instants: the deadline minus 25 %
-- and minus 10 % of its SLA window, and the deadline. `risk_next_at` is the
-- instant its stored band ends (`sla_risk` re-assesses it once the run's
-- clock reaches it); '-infinity' means "assess it now" (new, reopened, its
-- deadline moved, or a warning it still owes); NULL for closed bugs.

-- When a stored band stops being true. Exact: windows are whole hours, so
-- 25 % is 15 minutes per hour and 10 % six; no time zone changes either.
CREATE FUNCTION risk_band_end(risk text, created timestamptz, severity text, override integer)
    RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE risk
               WHEN 'low' THEN sla_deadline(created, severity, override)
                               - make_interval(mins => 15 * sla_window_hours(severity, override))
               WHEN 'medium' THEN sla_deadline(created, severity, override)
                                  - make_interval(mins => 6 * sla_window_hours(severity, override))
               WHEN 'high' THEN sla_deadline(created, severity, override)
               WHEN 'breached' THEN 'infinity'::timestamptz
               ELSE '-infinity'::timestamptz
           END;

ALTER TABLE bugs ADD COLUMN risk_next_at timestamptz;

-- Whoever writes a bug need not know about `risk_next_at`: this trigger
-- keeps it honest. Only `sla_risk` sets it (after assessing the row); any
-- other change to what the band or the warning depends on asks for a new
-- assessment, so the incremental run stays equal to a full one.
CREATE FUNCTION bugs_risk_next_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status NOT IN ('open', 'in_progress') THEN
        NEW.risk_next_at := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        -- A restore (nightshift restore) carries the stored instant along.
        NEW.risk_next_at := COALESCE(NEW.risk_next_at, '-infinity');
    ELSIF NEW.risk_next_at IS DISTINCT FROM OLD.risk_next_at THEN
        NULL; -- sla_risk's own assessment
    ELSIF (NEW.created_at, NEW.severity, NEW.sla_hours, NEW.status)
          IS DISTINCT FROM (OLD.created_at, OLD.severity, OLD.sla_hours, OLD.status) THEN
        NEW.risk_next_at := '-infinity';
    ELSIF (NEW.sla_risk, NEW.risk_warned) IS DISTINCT FROM (OLD.sla_risk, OLD.risk_warned) THEN
        NEW.risk_next_at := CASE
            WHEN NEW.sla_risk IN ('medium', 'high')
                 AND (NEW.risk_warned IS NULL OR (NEW.risk_warned = 'medium' AND NEW.sla_risk = 'high'))
                THEN '-infinity'::timestamptz
            ELSE risk_band_end(NEW.sla_risk, NEW.created_at, NEW.severity, NEW.sla_hours)
        END;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER bugs_risk_next_at BEFORE INSERT OR UPDATE ON bugs
    FOR EACH ROW EXECUTE FUNCTION bugs_risk_next_at();

UPDATE bugs SET risk_next_at = '-infinity' WHERE status IN ('open', 'in_progress');
CREATE INDEX bugs_open_risk_next ON bugs (risk_next_at) WHERE status IN ('open', 'in_progress');
-- Closed bugs whose risk `sla_risk` still has to clear: few at any time.
CREATE INDEX bugs_closed_with_risk ON bugs (id)
    WHERE sla_risk IS NOT NULL AND status IN ('resolved', 'closed');

-- Escalation levels fall due at created + 1, 2 and 4 SLA windows: the next
-- one of a bug is a function of its row, so a stored generated column.
CREATE FUNCTION escalation_due_at(created timestamptz, severity text, override integer, level integer,
                                  status text)
    RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN status IN ('open', 'in_progress') AND level < 3
                THEN created + make_interval(hours => sla_window_hours(severity, override)
                                                      * CASE WHEN level <= 0 THEN 1 WHEN level = 1 THEN 2 ELSE 4 END)
           END;
ALTER TABLE bugs ADD COLUMN escalate_at timestamptz
    GENERATED ALWAYS AS (escalation_due_at(created_at, severity, sla_hours, escalation_level, status)) STORED;
CREATE INDEX bugs_escalate_at ON bugs (escalate_at) WHERE escalate_at IS NOT NULL;

-- Follow-ups: a slot tried again within its period (issue 15; docs/architecture.md
-- §5 "Follow-ups", docs/decisions.md 64).
--
-- A run that ends with work left over asks for a follow-up of its slot:
--   retry         it failed or timed out for a transient cause, or completed
--                 with items that failed transiently; due after a back-off;
--   continuation  it stopped at its deadline with more_work; due at once.
-- The next invocation of any route (the heartbeat), or `nightshift serve`'s
-- minute tick, starts a due follow-up by calling the route's own URL
-- (BASE_URL). The attempt that takes the slot over is written in
-- `followed_by`, in the same transaction as its claim: a follow-up runs once.
ALTER TABLE job_history
    ADD COLUMN follow_up         text CHECK (follow_up IN ('retry', 'continuation')),
    -- When the follow-up is due, on the database's clock.
    ADD COLUMN follow_up_at      timestamptz,
    -- When a heartbeat last asked for it; asked again if no attempt took
    -- the slot over within two minutes (the self-call was lost).
    ADD COLUMN follow_up_sent_at timestamptz,
    -- The later attempt of the same slot that superseded this run.
    ADD COLUMN followed_by       uuid,
    ADD CONSTRAINT job_history_follow_up_due CHECK ((follow_up IS NULL) = (follow_up_at IS NULL));

-- The archive keeps the same columns in the same order (moves use SELECT *).
ALTER TABLE job_history_archive
    ADD COLUMN follow_up         text,
    ADD COLUMN follow_up_at      timestamptz,
    ADD COLUMN follow_up_sent_at timestamptz,
    ADD COLUMN followed_by       uuid;

ALTER TABLE job_history DROP CONSTRAINT job_history_trigger_check;
ALTER TABLE job_history ADD CONSTRAINT job_history_trigger_check
    CHECK (trigger IN ('cron', 'manual', 'worker', 'retry', 'continuation', 'catch_up'));

-- One run per slot, as before, except a run a later attempt superseded: a
-- completed run with more_work left lets its continuation claim the slot,
-- and nothing else.
DROP INDEX job_history_one_run_per_slot;
CREATE UNIQUE INDEX job_history_one_run_per_slot
    ON job_history (job_type, slot)
    WHERE slot IS NOT NULL AND status IN ('running', 'completed') AND followed_by IS NULL;

-- The heartbeat's question: which follow-ups are due.
CREATE INDEX job_history_follow_up_due
    ON job_history (follow_up_at)
    WHERE follow_up IS NOT NULL AND followed_by IS NULL;
CREATE INDEX job_history_slot ON job_history (job_type, slot) WHERE slot IS NOT NULL;

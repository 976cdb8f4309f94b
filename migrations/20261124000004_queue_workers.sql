-- Queue workers (`?worker=true`) run next to the scheduled run of their job
-- and next to each other: the work queue, not the ledger, keeps them apart.
ALTER TABLE job_history DROP CONSTRAINT job_history_trigger_check;
ALTER TABLE job_history ADD CONSTRAINT job_history_trigger_check
    CHECK (trigger IN ('cron', 'manual', 'worker'));

DROP INDEX job_history_one_running_per_job;
CREATE UNIQUE INDEX job_history_one_running_per_job
    ON job_history (job_type)
    WHERE status = 'running' AND trigger <> 'worker';

-- Operations: a job an operator paused stays paused, across deploys and
-- containers, until someone resumes it. One row per paused job; resuming
-- deletes the row, so "is it paused" is one primary-key lookup per call.
CREATE TABLE job_pauses (
    job_type   text PRIMARY KEY CHECK (job_type IN ('daily_sync', 'hourly_metrics', 'weekly_report')),
    paused_at  timestamptz NOT NULL,
    paused_by  text NOT NULL,
    reason     text
);

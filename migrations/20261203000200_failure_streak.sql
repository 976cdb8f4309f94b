-- One definition of a job's failure streak: its failed or timed-out runs
-- since its last completed one, among the runs started up to `p_as_of`.
-- The hourly watch (crates/nightshift-tasks/src/hourly/watch_jobs.rs) alerts
-- on it and the status page (crates/nightshift-status/src/data.rs) shows it;
-- each had its own copy of this query, and the two could disagree.
CREATE FUNCTION failure_streak(p_job_type text, p_as_of timestamptz)
RETURNS bigint
LANGUAGE sql
STABLE
AS $$
    SELECT count(*)
      FROM job_history
     WHERE job_type = p_job_type
       AND status IN ('failed', 'timeout')
       AND started_at <= p_as_of
       AND started_at > coalesce(
             (SELECT max(started_at) FROM job_history
               WHERE job_type = p_job_type AND status = 'completed' AND started_at <= p_as_of),
             '-infinity')
$$;

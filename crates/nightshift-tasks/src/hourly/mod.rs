//! Tasks of /api/cron/hourly.
pub mod watch_jobs;

//! Tasks of /api/cron/weekly.
pub mod health_check;

//! Tasks of /api/cron/weekly.
pub mod health_check;
pub mod archive;
pub mod health_system;

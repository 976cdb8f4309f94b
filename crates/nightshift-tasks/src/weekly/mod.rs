//! Tasks of /api/cron/weekly.
pub mod archive;
pub mod health_check;
pub mod health_system;
pub mod report_data;
pub mod weekly_report;

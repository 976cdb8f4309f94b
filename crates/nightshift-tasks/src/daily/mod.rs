//! Tasks of /api/cron/daily: the GitHub sync first, then what reads its data.
pub mod anomalies;
pub mod daily_metrics;
pub mod due_soon_digest;
pub mod export;
pub mod github_sync;
pub mod log_cleanup;

//! Tasks of /api/cron/daily.
pub mod prune_history;

//! Tasks of /api/cron/daily: the GitHub sync first, then what reads its data.
pub mod github_sync;
pub mod prune_history;

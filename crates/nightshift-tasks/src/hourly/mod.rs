//! Tasks of /api/cron/hourly, in the order the route runs them: the watcher
//! first, then risk before escalation, measures before the alerts that read
//! them, the dashboard after everything it shows, reminders last.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

pub mod alerts;
pub mod escalations;
pub mod refresh_dashboard;
pub mod reminders;
pub mod revenue_at_risk;
pub mod sla_risk;
pub mod velocity;
pub mod watch_jobs;
pub mod workload;

/// The hour a snapshot belongs to: re-running within the hour overwrites it.
pub fn snapshot_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now)
}

/// Rows a statement must change before the planner's picture of `bugs` is
/// refreshed at once: a first run over a backlog rewrites most open bugs'
/// `risk_next_at` and `escalate_at`, and until autovacuum's next ANALYZE the
/// stale statistics would send the next run's indexed look-ups (a handful
/// of rows) to a full scan (docs/decisions.md, "[inc]").
pub const ANALYZE_AFTER: i64 = 10_000;

/// ANALYZE bugs after a bulk change (see [`ANALYZE_AFTER`]). Without the
/// table's ownership Postgres skips it with a warning, which is harmless.
pub async fn analyze_bugs_after(pool: &sqlx::PgPool, changed: i64) -> anyhow::Result<()> {
    if changed >= ANALYZE_AFTER {
        sqlx::query!("ANALYZE bugs").execute(pool).await?;
    }
    Ok(())
}

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

//! Which scheduled slots never ran: the one definition `watch_jobs` alerts
//! on and `GET /api/metrics` counts (crates/nightshift-status/src/metrics.rs).
//! A slot is missed when it lies in the last seven days, after the first run
//! this deployment ever recorded (a new install is not "missing" a week),
//! more than `MISSED_GRACE` ago, and has no run at all, nor a call that came
//! while the job was paused (a `job_skipped` event: the operator chose it).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use nightshift_core::RouteSpec;
use sqlx::PgPool;

pub const MISSED_WINDOW: Duration = Duration::days(7);
/// How late a platform delivery may be before the slot counts as missed.
pub const MISSED_GRACE: Duration = Duration::minutes(10);
/// Enough for seven days of a cron every minute.
const MAX_SLOTS: usize = 7 * 24 * 60;

/// The slots each job has an answer for since `now - MISSED_WINDOW`, keyed
/// by job type, and the first run ever recorded: one statement for every job.
pub struct Recorded {
    pub first_seen: Option<DateTime<Utc>>,
    slots: HashMap<String, HashSet<DateTime<Utc>>>,
}

pub async fn recorded(pool: &PgPool, now: DateTime<Utc>) -> Result<Recorded, sqlx::Error> {
    let from = now - MISSED_WINDOW;
    // A run starts at or after its slot, so `started_at >= from` (indexed,
    // job_history_started) loses no run whose slot is in the window.
    let rows: Vec<(Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT job_type, slot FROM job_history WHERE started_at >= $1 AND slot >= $1
         UNION
         SELECT details->>'job_type', (details->>'slot')::timestamptz FROM sync_events
          WHERE event_type = 'job_skipped' AND details->>'slot' IS NOT NULL AND created_at >= $1
         UNION ALL
         SELECT NULL, min(started_at) FROM job_history",
    )
    .bind(from)
    .fetch_all(pool)
    .await?;
    let mut out = Recorded {
        first_seen: None,
        slots: HashMap::new(),
    };
    for (job, slot) in rows {
        match (job, slot) {
            (None, first) => out.first_seen = first,
            (Some(job), Some(slot)) => {
                out.slots.entry(job).or_default().insert(slot);
            }
            (Some(_), None) => {}
        }
    }
    Ok(out)
}

impl Recorded {
    /// The slots of `spec` missed as of `now`, oldest first.
    pub fn missed(&self, spec: &RouteSpec, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let Some(first_seen) = self.first_seen else {
            return Vec::new();
        };
        let from = (now - MISSED_WINDOW).max(first_seen);
        let seen = self.slots.get(spec.job_type);
        // A delivery the platform delays on purpose (its jitter) is not late
        // until the jitter has passed too. Local times the zone skips are no
        // slots at all (crates/nightshift-core/src/schedule/mod.rs).
        let jitter = Duration::from_std(spec.schedule.jitter()).unwrap_or_default();
        spec.schedule
            .slots_between(from, now - MISSED_GRACE - jitter, MAX_SLOTS)
            .into_iter()
            .filter(|s| !seen.is_some_and(|seen| seen.contains(s)))
            .collect()
    }
}

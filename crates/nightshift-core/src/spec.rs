//! What the rest of the system knows about a route without its tasks: its
//! name, path, job type, schedule and maxDuration, and what it does when a
//! slot's run fails, stops early or never comes. Plain data, so the ledger,
//! the follow-ups, the pause and the tasks can all name a route without
//! importing the router (docs/architecture.md §1: the import order).

use std::time::Duration;

use crate::schedule::Schedule;

/// What the rest of the system needs to know about a route, without its tasks.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub name: &'static str,
    pub path: &'static str,
    pub job_type: &'static str,
    pub schedule: Schedule,
    pub max_duration: Duration,
    /// Retries, continuations and missed slots (crate::follow_up).
    pub slots: SlotPolicy,
}

/// What a route does when a run of its slot fails, stops early, or never
/// comes. Set per route in one place: the registry
/// (crates/nightshift-tasks/src/registry.rs).
#[derive(Clone, Copy, Debug)]
pub struct SlotPolicy {
    /// Tries of a slot's work when it fails transiently: the first run and
    /// `max_attempts - 1` retries. Continuations do not count.
    pub max_attempts: u32,
    /// The back-off before retry 1, 2, …; the last one repeats.
    pub retry_delays: &'static [Duration],
    pub missed: Missed,
}

/// A slot whose cron never arrived (the platform skipped it, the
/// deployment was down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    /// Alert (`watch_jobs`) and do not replay: the next slot comes soon.
    Skip,
    /// Run the most recent missed slot once, if it is younger than `window`.
    CatchUp { window: Duration },
}

const MIN: u64 = 60;

impl SlotPolicy {
    pub const HOURLY: Self = Self {
        max_attempts: 3,
        retry_delays: &[Duration::from_secs(3 * MIN), Duration::from_secs(10 * MIN)],
        missed: Missed::Skip,
    };
    pub const DAILY: Self = Self {
        max_attempts: 3,
        retry_delays: &[Duration::from_secs(5 * MIN), Duration::from_secs(15 * MIN)],
        missed: Missed::CatchUp {
            window: Duration::from_secs(12 * 60 * MIN),
        },
    };
    pub const WEEKLY: Self = Self {
        max_attempts: 3,
        retry_delays: &[Duration::from_secs(5 * MIN), Duration::from_secs(15 * MIN)],
        missed: Missed::CatchUp {
            window: Duration::from_secs(48 * 60 * MIN),
        },
    };

    /// The back-off before retry number `n` (0 = the first retry).
    pub fn delay(&self, n: usize) -> Duration {
        self.retry_delays
            .get(n)
            .or(self.retry_delays.last())
            .copied()
            .unwrap_or_default()
    }
}

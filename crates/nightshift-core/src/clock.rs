//! Where "now" comes from. Production reads the system clock once per call;
//! tests hand in a clock they move themselves.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told otherwise.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A run's logical time: where the app's clock stood when the run started,
/// plus the real time elapsed since (docs/architecture.md §4). Times a run
/// computes late in its budget ("retry after 60 s from now") start from
/// here, not from its start. Leases and claims that other processes compare
/// are decided on the database's `now()` instead (ledger, queue, outbox).
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    start: DateTime<Utc>,
    at: tokio::time::Instant,
}

impl RunClock {
    /// A run that started at `start` (logical) at the instant `at` (real).
    pub fn new(start: DateTime<Utc>, at: tokio::time::Instant) -> Self {
        Self { start, at }
    }

    /// A run starting now, at logical time `start`.
    pub fn starting(start: DateTime<Utc>) -> Self {
        Self::new(start, tokio::time::Instant::now())
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Logical now: start plus elapsed.
    pub fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.at.elapsed()).unwrap_or_default()
    }
}

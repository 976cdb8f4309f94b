//! What a task run leaves behind: the task's own report (records, more
//! work, a warning, notable events), whether its error is worth another
//! attempt, and the runner's outcome of it. Below the runner, the task
//! trait and the follow-ups, which all read these (docs/architecture.md §1).

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, Default, Serialize)]
pub struct TaskReport {
    pub records_processed: i64,
    pub records_failed: i64,
    /// How many of `records_failed` failed for a cause another attempt could
    /// fix (a 5xx, a timeout): the run is retried within its slot's period
    /// (`crate::follow_up`). A permanent failure (a 404, a bad row) is not.
    #[serde(skip_serializing_if = "is_zero")]
    pub retryable_failures: i64,
    /// The task stopped at its deadline with work left for a later run.
    pub more_work: bool,
    /// `more_work` because time ran out (not a per-run cap, not work that
    /// is not due yet): a continuation can go on at once (`crate::follow_up`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_time: bool,
    /// A finding the task itself did not fail over (a stale job, a critical
    /// health status): its sync event is recorded as `warning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    pub details: Value,
    /// Notable events inside the task, each its own sync_events row.
    #[serde(skip)]
    pub events: Vec<TaskEvent>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Clone, Debug)]
pub struct TaskEvent {
    pub event_type: String,
    pub status: EventStatus,
    pub message: String,
    pub details: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Started,
    Success,
    Failed,
    Warning,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Warning => "warning",
        }
    }
}

/// Marks an error as worth retrying (network blip, 5xx, 429). Wrap it with
/// `anyhow::Error::new(Transient(e))` or `.context(..)` around it; errors
/// without the mark are permanent unless they are transient database errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Transient(pub anyhow::Error);

pub fn is_transient(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<Transient>()
            || cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(crate::error::is_transient)
            || cause.is::<std::io::Error>()
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Success,
    Failed,
    Timeout,
    /// Not started: the deadline came first.
    Skipped,
}

#[derive(Debug, Serialize)]
pub struct TaskOutcome {
    pub name: &'static str,
    pub status: TaskStatus,
    pub duration_ms: u64,
    pub attempts: u32,
    pub records_processed: i64,
    pub records_failed: i64,
    pub more_work: bool,
    /// Another attempt could fix what went wrong: the task failed for a
    /// transient cause or timed out, or some of its items failed transiently
    /// (`TaskReport::retryable_failures`). Decides a run-level retry
    /// (`crate::follow_up`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retryable: bool,
    /// It stopped for lack of time with work left (`TaskReport::out_of_time`),
    /// or never started: the slot is continued at once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_time: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub details: Value,
}

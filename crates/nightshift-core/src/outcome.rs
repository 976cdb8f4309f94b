//! What a call came to and how it came: types, so a typo does not compile;
//! and the answer of a route call that carries them (`RunAnswer`).
//! The JSON spelling is the snake_case of each variant, the same strings the
//! answer always had (crates/nightshift-status/openapi.json) and the
//! `job_history` columns hold.

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::report::TaskOutcome;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Failed,
    Timeout,
    SkippedDuplicate,
    SkippedRunning,
    SkippedPaused,
    DryRun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
            Self::SkippedDuplicate => "skipped_duplicate",
            Self::SkippedRunning => "skipped_running",
            Self::SkippedPaused => "skipped_paused",
            Self::DryRun => "dry_run",
        }
    }

    /// A `job_history.status` of a finished run, or an answer's `outcome`.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    pub fn http_status(self) -> StatusCode {
        match self {
            Self::Completed | Self::SkippedDuplicate | Self::SkippedPaused | Self::DryRun => {
                StatusCode::OK
            }
            Self::SkippedRunning => StatusCode::CONFLICT,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Nothing is wrong: the slot ran, or did not need to (the CLI's exit 0).
    pub fn is_fine(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::SkippedDuplicate | Self::DryRun
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The platform's scheduler (or `nightshift serve`'s).
    Cron,
    /// A person or a script.
    Manual,
    /// `?worker=true`: drains a queue beside the scheduled run.
    Worker,
    /// The heartbeat's calls (crates/nightshift-core/src/kick.rs).
    Retry,
    Continuation,
    CatchUp,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cron => "cron",
            Self::Manual => "manual",
            Self::Worker => "worker",
            Self::Retry => "retry",
            Self::Continuation => "continuation",
            Self::CatchUp => "catch_up",
        }
    }
}

impl From<crate::follow_up::FollowUpKind> for Trigger {
    fn from(kind: crate::follow_up::FollowUpKind) -> Self {
        match kind {
            crate::follow_up::FollowUpKind::Retry => Self::Retry,
            crate::follow_up::FollowUpKind::Continuation => Self::Continuation,
        }
    }
}

/// The JSON answer of a route call. `outcome` comes first so a shell script
/// can read it without a JSON parser.
#[derive(Debug, Serialize)]
pub struct RunAnswer {
    pub outcome: Outcome,
    pub run_id: Option<Uuid>,
    pub route: &'static str,
    pub job_type: &'static str,
    pub trigger: Trigger,
    pub slot: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub budget_ms: u64,
    pub more_work: bool,
    /// The slot's attempt this run is (1 for its first run; retries and
    /// continuations count on). Absent when nothing was claimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i32>,
    /// The follow-up of the slot this run asked for: `{kind, after_ms}`
    /// (crates/nightshift-core/src/follow_up.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<serde_json::Value>,
    pub swept: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_run: Option<Uuid>,
    pub tasks: Vec<TaskOutcome>,
}

impl RunAnswer {
    pub fn http_status(&self) -> StatusCode {
        self.outcome.http_status()
    }
}

impl IntoResponse for RunAnswer {
    fn into_response(self) -> Response {
        (self.http_status(), Json(self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_as_the_answer_always_was() {
        for o in [
            Outcome::Completed,
            Outcome::Failed,
            Outcome::Timeout,
            Outcome::SkippedDuplicate,
            Outcome::SkippedRunning,
            Outcome::SkippedPaused,
            Outcome::DryRun,
        ] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("running"), None);
        assert_eq!(serde_json::to_value(Trigger::CatchUp).unwrap(), "catch_up");
        assert_eq!(Trigger::CatchUp.as_str(), "catch_up");
        assert_eq!(Outcome::SkippedRunning.http_status(), StatusCode::CONFLICT);
    }
}

//! What a call came to and how it came: types, so a typo does not compile.
//! The JSON spelling is the snake_case of each variant, the same strings the
//! answer always had (crates/nightshift-status/openapi.json) and the
//! `job_history` columns hold.

use http::StatusCode;
use serde::{Deserialize, Serialize};

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

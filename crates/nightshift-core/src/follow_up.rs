//! Follow-ups: a slot tried again within its period, although the platform
//! never retries (docs/architecture.md §5, docs/decisions.md 64).
//!
//! A run that ends with work left over writes what it needs on its own
//! ledger row, in its fenced finish: a `retry` after a back-off (a transient
//! failure, a timeout, items that failed transiently) or a `continuation` at
//! once (it stopped at its deadline with `more_work`). The heartbeat
//! (`kick`: the end of every claimed run, and `nightshift serve` each minute)
//! starts due follow-ups by calling the route's own URL with the secret. The
//! attempt that answers claims the same slot and marks the run it follows,
//! in one transaction (`crate::ledger::claim`), so a follow-up runs once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::report::{TaskOutcome, TaskStatus};
use crate::spec::RouteSpec;
pub use crate::spec::{Missed, SlotPolicy};

/// A slot's catch-up waits this long for the platform's own late delivery.
pub const CATCH_UP_GRACE: chrono::Duration = chrono::Duration::minutes(10);
/// A task whose `more_work` never clears must not chain forever.
pub const MAX_CONTINUATIONS: i64 = 48;
/// A follow-up asked for and not taken over by then was lost in transit
/// (the self-call failed): the next heartbeat asks again.
pub const RESEND_AFTER_SECS: f64 = 120.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    Retry,
    Continuation,
}

impl FollowUpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Continuation => "continuation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "retry" => Some(Self::Retry),
            "continuation" => Some(Self::Continuation),
            _ => None,
        }
    }
}

/// What the outcomes of a run ask for, before limits.
#[derive(Debug, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// A task failed for a cause no attempt fixes (a config error, a 401).
    Permanent,
    Retry,
    Continuation,
}

/// The worst thing decides: a permanent failure is never retried, a
/// transient one is, and work cut short by the deadline is continued. Work
/// left by a per-run cap (`MAX_EMAILS_PER_RUN`) or not due yet (a rate
/// limit's not-before) waits for the next slot, as the cap intends.
pub fn need(outcomes: &[TaskOutcome]) -> Need {
    if outcomes
        .iter()
        .any(|o| o.status == TaskStatus::Failed && !o.retryable)
    {
        Need::Permanent
    } else if outcomes.iter().any(|o| o.retryable) {
        Need::Retry
    } else if outcomes.iter().any(|o| o.out_of_time) {
        Need::Continuation
    } else {
        Need::Nothing
    }
}

/// The first task a follow-up runs: the first that left something over.
/// The tasks after it run again too, since they may build on it; every task
/// is idempotent within its period (dedupe keys, upserts per day).
pub fn first_unfinished(outcomes: &[TaskOutcome]) -> Option<&'static str> {
    outcomes
        .iter()
        .find(|o| o.retryable || o.out_of_time || o.status != TaskStatus::Success)
        .map(|o| o.name)
}

/// What the finish writes, or why nothing follows.
#[derive(Debug, PartialEq)]
pub enum Decision {
    Nothing,
    Ask {
        kind: FollowUpKind,
        after: Duration,
    },
    /// Needed but not allowed: alerted (`alert` below).
    GiveUp {
        reason: String,
    },
}

/// Applies the route's limits to what the run needs: retries left, room
/// in the period (its end on the schedule's logical clock), the cap on
/// continuations.
pub async fn decide(
    pool: &PgPool,
    spec: &RouteSpec,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
    outcomes: &[TaskOutcome],
) -> Result<Decision, sqlx::Error> {
    let kind = match need(outcomes) {
        Need::Nothing => return Ok(Decision::Nothing),
        Need::Permanent => {
            return Ok(Decision::GiveUp {
                reason: "failed for a permanent cause (not retried)".into(),
            });
        }
        Need::Retry => FollowUpKind::Retry,
        Need::Continuation => FollowUpKind::Continuation,
    };
    let tried = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE trigger = 'retry') AS "retries!",
                  count(*) FILTER (WHERE trigger = 'continuation') AS "continuations!"
             FROM job_history WHERE job_type = $1 AND slot = $2"#,
        spec.job_type,
        slot,
    )
    .fetch_one(pool)
    .await?;
    let period_end = spec.schedule.next_after(slot).unwrap_or(slot);
    let after = match kind {
        FollowUpKind::Retry => spec.slots.delay(tried.retries as usize),
        FollowUpKind::Continuation => Duration::ZERO,
    };
    let due = now + chrono::Duration::from_std(after).unwrap_or_default();
    let limit = match kind {
        FollowUpKind::Retry if tried.retries + 1 >= i64::from(spec.slots.max_attempts) => Some(
            format!("gave up after {} attempts", spec.slots.max_attempts),
        ),
        FollowUpKind::Continuation if tried.continuations >= MAX_CONTINUATIONS => Some(format!(
            "still unfinished after {MAX_CONTINUATIONS} continuations"
        )),
        _ if due >= period_end => Some(format!(
            "the slot's period ends at {} before a {} could start; the next slot takes over",
            period_end.to_rfc3339(),
            kind.as_str()
        )),
        _ => None,
    };
    Ok(match limit {
        // Work left at the period's end is the next slot's anyway: only a
        // failure that could not be retried is worth an alert.
        Some(_) if kind == FollowUpKind::Continuation && due >= period_end => Decision::Nothing,
        Some(reason) => Decision::GiveUp { reason },
        None => Decision::Ask { kind, after },
    })
}

/// One open alert per job while its slot cannot be healed: raised when a
/// run gives up, resolved by the next run that needs nothing. The hourly
/// `alerts` task tells people about it (crates/nightshift-tasks/src/hourly/alerts.rs).
pub async fn alert(
    pool: &PgPool,
    job_type: &str,
    run_id: Uuid,
    decision: &Decision,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let key = format!("ledger:slot_not_healed:{job_type}");
    match decision {
        Decision::GiveUp { reason } => {
            let title = format!("{job_type} {reason}");
            sqlx::query!(
                r#"INSERT INTO alerts (dedupe_key, source, kind, severity, title, message, details,
                                      status, raised_at, last_seen_at)
                   VALUES ($1, 'ledger', 'slot_not_healed', 'critical', $2, $3,
                           jsonb_build_object('run_id', $4::uuid), 'open', $5, $5)
                   ON CONFLICT (dedupe_key) WHERE status = 'open'
                   DO UPDATE SET title = $2, message = $3, details = EXCLUDED.details, last_seen_at = $5"#,
                key,
                title,
                error.unwrap_or("see the run's events"),
                run_id,
                now,
            )
            .execute(pool)
            .await?;
        }
        Decision::Nothing => {
            sqlx::query!(
                "UPDATE alerts SET status = 'resolved', resolved_at = $2
                  WHERE dedupe_key = $1 AND status = 'open'",
                key,
                now,
            )
            .execute(pool)
            .await?;
        }
        Decision::Ask { .. } => {}
    }
    Ok(())
}

//! Which slot a call stands for, and why: the platform's cron (the slot of
//! now, or of the event's scheduled time), a follow-up the heartbeat started
//! (`?follow_up=<run>`: the slot of that run) or a catch-up
//! (`?catch_up=<slot>`). See crates/nightshift-core/src/kick.rs.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::HandleError;
use crate::follow_up::FollowUpKind;
use crate::options::RunOptions;
use crate::outcome::Trigger;
use crate::spec::RouteSpec;

/// A heartbeat's call: the slot it stands for and what it follows.
#[derive(Debug)]
pub struct SlotCall {
    pub slot: DateTime<Utc>,
    pub trigger: Trigger,
    /// The run this follows up; None for a catch-up.
    pub follows: Option<Uuid>,
    pub kind: Option<FollowUpKind>,
    /// The first task to run; the earlier ones finished in the run followed.
    pub from_task: Option<String>,
}

/// None for a call that is neither a follow-up nor a catch-up.
pub async fn resolve(
    pool: &PgPool,
    spec: &RouteSpec,
    opts: &RunOptions,
    now: DateTime<Utc>,
) -> Result<Option<SlotCall>, HandleError> {
    if let Some(slot) = opts.catch_up {
        if spec.schedule.slot_at(slot) != slot || slot > now {
            return Err(HandleError::BadRequest(format!(
                "catch_up={} is not a past slot of {} (cron {})",
                slot.to_rfc3339(),
                spec.path,
                spec.schedule.expr()
            )));
        }
        return Ok(Some(SlotCall {
            slot,
            trigger: Trigger::CatchUp,
            follows: None,
            kind: None,
            from_task: None,
        }));
    }
    let Some(id) = opts.follow_up else {
        return Ok(None);
    };
    let run = sqlx::query!(
        r#"SELECT job_type, slot, follow_up,
                  result -> 'follow_up' ->> 'from_task' AS from_task
             FROM job_history WHERE id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await
    .map_err(HandleError::from_db)?;
    let Some(run) = run.filter(|r| r.job_type == spec.job_type) else {
        return Err(HandleError::BadRequest(format!(
            "follow_up={id} names no run of {}",
            spec.path
        )));
    };
    let Some(slot) = run.slot else {
        return Err(HandleError::BadRequest(format!(
            "follow_up={id} names a run without a slot (forced or partial); only scheduled runs are followed up"
        )));
    };
    // A stale call for a follow-up already taken (or expired) reaches the
    // claim, which answers it as a duplicate of the slot.
    // A run that asked for nothing (or for a kind this build does not know)
    // is followed up as a retry, the one default.
    let kind = run
        .follow_up
        .as_deref()
        .and_then(FollowUpKind::parse)
        .unwrap_or(FollowUpKind::Retry);
    Ok(Some(SlotCall {
        slot,
        trigger: kind.into(),
        follows: Some(id),
        kind: Some(kind),
        from_task: run.from_task,
    }))
}

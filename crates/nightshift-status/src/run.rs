//! One run as `GET /api/status/runs/{id}`, its page and `nightshift runs
//! show` tell it: how it came (trigger, attempt, slot), each task's outcome
//! from `job_history.result` (crates/nightshift-core/src/invoke/execute.rs
//! writes it), the follow-up it asked for, and the runs before and after it
//! in its slot. Errors go through `Redactor` on the way out.

use chrono::{DateTime, Utc};
use nightshift_core::RouteSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::redact::Redactor;

#[derive(Debug, Serialize)]
pub struct RunDetail {
    pub id: Uuid,
    pub job_type: String,
    pub route: String,
    pub status: String,
    pub trigger: String,
    pub attempt: i32,
    pub max_attempts: i32,
    pub slot: Option<DateTime<Utc>>,
    /// The slot as the route's schedule reads it (`slot_in_zone`).
    pub slot_local: Option<SlotLocal>,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub error_message: Option<String>,
    /// Null while the run has no result (running, or swept as timeout).
    pub more_work: Option<bool>,
    pub tasks: Vec<TaskLine>,
    pub follow_up: Option<FollowUp>,
    /// The later attempt of the same slot that took over from this run.
    pub followed_by: Option<RunRef>,
    /// The earlier attempt of the same slot this run took over from.
    pub follows: Option<RunRef>,
}

#[derive(Debug, Serialize)]
pub struct SlotLocal {
    pub zone: String,
    pub local: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TaskLine {
    pub name: String,
    pub status: String,
    pub duration_ms: u64,
    pub attempts: u32,
    pub records_processed: i64,
    pub records_failed: i64,
    pub more_work: bool,
    pub error: Option<String>,
    pub warning: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FollowUp {
    /// retry or continuation.
    pub kind: String,
    /// due (asked for, not started), taken (`followed_by` ran it) or
    /// expired (its slot's period ended first).
    pub state: &'static str,
    pub due_at: Option<DateTime<Utc>>,
    pub from_task: Option<String>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct RunRef {
    pub id: Uuid,
    pub status: String,
    pub trigger: String,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    job_type: String,
    route: String,
    status: String,
    trigger: String,
    attempt: i32,
    max_attempts: i32,
    slot: Option<DateTime<Utc>>,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    execution_time_ms: Option<i64>,
    error_message: Option<String>,
    result: Option<Value>,
    follow_up: Option<String>,
    follow_up_at: Option<DateTime<Utc>>,
    followed_by: Option<Uuid>,
    follows: Option<Uuid>,
}

/// A run id from a path: a UUID, or a 400 naming the format.
pub fn parse_id(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text).map_err(|_| {
        format!(
            "run id {:?} is not a UUID; expected the form 123e4567-e89b-12d3-a456-426614174000",
            text.chars().take(60).collect::<String>()
        )
    })
}

/// The slot on its schedule's wall clock, UTC beside it ("2027-03-29 02:30
/// CEST (00:30 UTC)"); UTC for a run of a route this deployment no longer has.
pub fn slot_in_zone(slot: DateTime<Utc>, spec: Option<&RouteSpec>) -> SlotLocal {
    match spec {
        Some(spec) => SlotLocal {
            zone: spec.schedule.timezone().name().into(),
            local: spec.schedule.show(slot),
        },
        None => SlotLocal {
            zone: "UTC".into(),
            local: slot.format("%Y-%m-%d %H:%M UTC").to_string(),
        },
    }
}

pub async fn fetch(
    pool: &PgPool,
    routes: &[RouteSpec],
    id: Uuid,
    redactor: &Redactor,
) -> Result<Option<RunDetail>, sqlx::Error> {
    // The run before this one in its slot is found through job_history_slot.
    let row: Option<Row> = sqlx::query_as(
        "SELECT h.id, h.job_type, h.route, h.status, h.trigger, h.attempt, h.max_attempts,
                h.slot, h.started_at, h.completed_at, h.execution_time_ms, h.error_message,
                h.result, h.follow_up, h.follow_up_at, h.followed_by,
                (SELECT p.id FROM job_history p
                  WHERE p.job_type = h.job_type AND p.slot = h.slot AND p.followed_by = h.id
                  LIMIT 1) AS follows
           FROM job_history h WHERE h.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let neighbours: Vec<Uuid> = row.followed_by.into_iter().chain(row.follows).collect();
    let refs: Vec<RunRef> = sqlx::query_as(
        "SELECT id, status, trigger, attempt, started_at FROM job_history WHERE id = ANY($1)",
    )
    .bind(&neighbours)
    .fetch_all(pool)
    .await?;
    let take = |id: Option<Uuid>| id.and_then(|id| refs.iter().find(|r| r.id == id).cloned());
    let result = row.result.unwrap_or(Value::Null);
    let mut tasks: Vec<TaskLine> = match result.get("tasks") {
        Some(t) => serde_json::from_value(t.clone()).unwrap_or_default(),
        None => Vec::new(),
    };
    for t in &mut tasks {
        t.error = t.error.as_deref().map(|e| redactor.apply(e));
        t.warning = t.warning.as_deref().map(|w| redactor.apply(w));
    }
    let asked = result.get("follow_up").filter(|f| !f.is_null());
    let kind = row
        .follow_up
        .clone()
        .or_else(|| asked.and_then(|f| f["kind"].as_str().map(str::to_owned)));
    let follow_up = kind.map(|kind| FollowUp {
        kind,
        state: if row.followed_by.is_some() {
            "taken"
        } else if row.follow_up_at.is_some() {
            "due"
        } else {
            "expired"
        },
        due_at: row.follow_up_at,
        from_task: asked.and_then(|f| f["from_task"].as_str().map(str::to_owned)),
    });
    let spec = routes.iter().find(|r| r.job_type == row.job_type);
    Ok(Some(RunDetail {
        id: row.id,
        slot_local: row.slot.map(|s| slot_in_zone(s, spec)),
        job_type: row.job_type,
        route: row.route,
        status: row.status,
        trigger: row.trigger,
        attempt: row.attempt,
        max_attempts: row.max_attempts,
        slot: row.slot,
        started_at: row.started_at,
        completed_at: row.completed_at,
        duration_ms: row.execution_time_ms,
        error_message: row.error_message.as_deref().map(|e| redactor.apply(e)),
        more_work: result.get("more_work").and_then(Value::as_bool),
        tasks,
        follow_up,
        followed_by: take(row.followed_by),
        follows: take(row.follows),
    }))
}

//! Pausing a job: an operator's switch, kept in `job_pauses`. A paused job's
//! route still authenticates its callers, then answers `skipped_paused` without
//! claiming a slot, and says so in `sync_events`. The claim statement itself
//! checks the pause too (`ledger::claim`), so a pause that lands while a call
//! is being admitted still stops it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::error::HandleError;
use crate::spec::RouteSpec;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Pause {
    pub job_type: String,
    pub paused_at: DateTime<Utc>,
    pub paused_by: String,
    pub reason: Option<String>,
}

/// The job a name stands for: a job type (`hourly_metrics`) or a route name
/// (`hourly`). Anything else is a 400 naming the valid ones.
pub fn resolve<'a>(routes: &'a [RouteSpec], name: &str) -> Result<&'a RouteSpec, HandleError> {
    routes
        .iter()
        .find(|r| r.job_type == name || r.name == name)
        .ok_or_else(|| {
            let valid: Vec<String> = routes
                .iter()
                .map(|r| format!("{} ({})", r.name, r.job_type))
                .collect();
            HandleError::BadRequest(format!(
                "unknown job {name:?}; valid jobs: {}",
                valid.join(", ")
            ))
        })
}

/// The longest reason a pause keeps; the dashboard shows it on one line.
pub const MAX_REASON_CHARS: usize = 500;

/// A pause's reason is a line of text for the dashboard: no control
/// characters (Postgres `text` cannot hold a NUL at all, so without this a
/// NUL in a form answered 500), at most [`MAX_REASON_CHARS`]. The error says
/// which, for a 400.
pub fn check_reason(reason: &str) -> Result<(), String> {
    if let Some(c) = reason.chars().find(|c| c.is_control()) {
        return Err(format!(
            "reason must be plain text; it holds the control character {c:?}"
        ));
    }
    let n = reason.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(format!(
            "reason is {n} characters; at most {MAX_REASON_CHARS}"
        ));
    }
    Ok(())
}

pub async fn pause_of(pool: &PgPool, job_type: &str) -> Result<Option<Pause>, sqlx::Error> {
    sqlx::query_as!(
        Pause,
        "SELECT job_type, paused_at, paused_by, reason FROM job_pauses WHERE job_type = $1",
        job_type,
    )
    .fetch_optional(pool)
    .await
}

pub async fn pauses(pool: &PgPool) -> Result<Vec<Pause>, sqlx::Error> {
    sqlx::query_as!(
        Pause,
        "SELECT job_type, paused_at, paused_by, reason FROM job_pauses ORDER BY job_type"
    )
    .fetch_all(pool)
    .await
}

/// Idempotent: pausing a paused job keeps the first pause (who and when).
/// Returns the pause in force and whether this call made it.
pub async fn pause(
    pool: &PgPool,
    job_type: &str,
    by: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Pause, bool), sqlx::Error> {
    let inserted = sqlx::query_as!(
        Pause,
        "INSERT INTO job_pauses (job_type, paused_at, paused_by, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (job_type) DO NOTHING RETURNING job_type, paused_at, paused_by, reason",
        job_type,
        now,
        by,
        reason,
    )
    .fetch_optional(pool)
    .await?;
    if let Some(p) = inserted {
        record(
            pool,
            job_type,
            "job_paused",
            &format!("{job_type} paused by {by}"),
            now,
        )
        .await?;
        return Ok((p, true));
    }
    let current = pause_of(pool, job_type)
        .await?
        .ok_or_else(|| sqlx::Error::Protocol("pause vanished while pausing".into()))?;
    Ok((current, false))
}

/// Idempotent: resuming a running job changes nothing. Returns whether it was paused.
pub async fn resume(
    pool: &PgPool,
    job_type: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("DELETE FROM job_pauses WHERE job_type = $1", job_type)
        .execute(pool)
        .await?;
    let resumed = done.rows_affected() == 1;
    if resumed {
        record(
            pool,
            job_type,
            "job_resumed",
            &format!("{job_type} resumed by {by}"),
            now,
        )
        .await?;
    }
    Ok(resumed)
}

async fn record(
    pool: &PgPool,
    job_type: &str,
    event_type: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sync_events (event_type, source, status, message, details, created_at)
         VALUES ($1, 'operator', 'success', $2, jsonb_build_object('job_type', $3::text), $4)",
        event_type,
        message,
        job_type,
        now,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The event a skipped call leaves behind, so the history shows why the
/// scheduled slot has no run (and `watch_jobs` does not call it missed).
pub async fn record_skip(
    pool: &PgPool,
    p: &Pause,
    call: &SkippedCall<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sync_events (event_type, source, status, message, details, created_at)
         VALUES ('job_skipped', 'ledger', 'warning', $1,
                 jsonb_build_object('job_type', $2::text, 'route', $3::text, 'trigger', $4::text,
                                    'slot', $5::timestamptz, 'paused_at', $6::timestamptz,
                                    'paused_by', $7::text), $8)",
        skip_message(p),
        p.job_type,
        call.route,
        call.trigger,
        call.slot,
        p.paused_at,
        p.paused_by,
        call.now,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub struct SkippedCall<'a> {
    pub route: &'a str,
    pub trigger: &'a str,
    /// The slot the call stood for; None for forced and partial calls.
    pub slot: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub fn skip_message(p: &Pause) -> String {
    let mut msg = format!(
        "{} is paused (since {} by {}",
        p.job_type,
        p.paused_at.format("%Y-%m-%d %H:%M UTC"),
        p.paused_by
    );
    if let Some(r) = p.reason.as_deref().filter(|r| !r.is_empty()) {
        msg.push_str(&format!(": {r}"));
    }
    msg.push_str("); resume it to run");
    msg
}

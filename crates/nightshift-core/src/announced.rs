//! The schedule the platform says it is calling on. Vercel sends the cron
//! expression it fired in `x-vercel-cron-schedule`; when that is not the
//! schedule this deployment was built with (a schedule edited in Vercel's
//! dashboard, a deployment built from another vercel.json), the run still
//! claims the deployed schedule's slot, so a slot is never silently wrong
//! and no run is dropped, and the difference is told: a `schedule_mismatch`
//! event and an open alert, resolved by the first delivery that agrees
//! (docs/decisions.md 81).

use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde_json::json;
use sqlx::PgPool;

use crate::spec::RouteSpec;

pub const HEADER: &str = "x-vercel-cron-schedule";

/// The announced expression, when it differs from the deployed one
/// (whitespace aside). None without the header or when they agree.
pub fn mismatch(spec: &RouteSpec, headers: &HeaderMap) -> Option<Option<String>> {
    let announced = headers.get(HEADER)?.to_str().ok()?;
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let announced = words(announced);
    Some((announced != words(spec.schedule.expr())).then_some(announced))
}

/// Records what `mismatch` found: an event and an alert when they differ,
/// the alert resolved when they agree. Nothing without the header.
pub async fn record(
    pool: &PgPool,
    spec: &RouteSpec,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    let Some(found) = mismatch(spec, headers) else {
        return Ok(None);
    };
    let key = format!("ledger:schedule_mismatch:{}", spec.job_type);
    let Some(announced) = found else {
        sqlx::query(
            "UPDATE alerts SET status = 'resolved', resolved_at = $2
              WHERE dedupe_key = $1 AND status = 'open'",
        )
        .bind(&key)
        .bind(now)
        .execute(pool)
        .await?;
        return Ok(None);
    };
    // Bounded: the header is the caller's text.
    let announced: String = announced.chars().take(100).collect();
    let message = format!(
        "the platform called {} for schedule {announced:?}, but this deployment runs {:?}; \
         the run claimed the deployed schedule's slot. Redeploy, or make vercel.json and the \
         platform's schedule agree",
        spec.path,
        spec.schedule.describe(),
    );
    let details = json!({
        "job_type": spec.job_type,
        "announced": announced,
        "deployed": spec.schedule.expr(),
        "timezone": spec.schedule.timezone().name(),
    });
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO sync_events (event_type, source, status, message, details, created_at)
         VALUES ('schedule_mismatch', 'ledger', 'warning', $1, $2, $3)",
    )
    .bind(&message)
    .bind(&details)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO alerts (dedupe_key, source, kind, severity, title, message, details,
                             status, raised_at, last_seen_at)
         VALUES ($1, 'ledger', 'schedule_mismatch', 'warning', $2, $3, $4, 'open', $5, $5)
         ON CONFLICT (dedupe_key) WHERE status = 'open'
         DO UPDATE SET message = $3, details = EXCLUDED.details, last_seen_at = $5",
    )
    .bind(&key)
    .bind(format!(
        "{} is called on a schedule it was not deployed with",
        spec.job_type
    ))
    .bind(&message)
    .bind(&details)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::warn!(job_type = spec.job_type, %announced, deployed = spec.schedule.expr(), "schedule mismatch");
    Ok(Some(message))
}

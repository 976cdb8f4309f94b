//! The facts behind `GET /api/status`, `nightshift status` and the dashboard:
//! per job, its runs, rates, durations and pause; for the system, the health
//! verdict of `health_check::assess`, open alerts, outbox and work queue.
//! All times are relative to the caller's `now`, so tests plant history.

use chrono::{DateTime, Duration, Utc};
use nightshift_core::RouteSpec;
use nightshift_core::pause::{self, Pause};
use nightshift_mail::DeliveryConfig;
use nightshift_tasks::weekly::health_check::{self, Level};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// A run longer than this is "slow" on the status page.
pub const SLOW_RUN: Duration = Duration::minutes(5);
const RECENT_RUNS: i64 = 10;

#[derive(Debug, Serialize)]
pub struct Status {
    pub generated_at: DateTime<Utc>,
    pub health: Health,
    pub jobs: Vec<JobStatus>,
    pub open_alerts: Vec<Alert>,
    pub outbox: Outbox,
    pub work_queue: WorkQueue,
    pub latest_report: Option<ReportRef>,
}

#[derive(Debug, Serialize)]
pub struct Health {
    /// healthy, degraded or critical.
    pub status: &'static str,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct JobStatus {
    pub job_type: &'static str,
    pub route: &'static str,
    pub name: &'static str,
    /// The cron expression, read on `timezone`'s wall clock.
    pub schedule: String,
    /// The schedule's IANA time zone (UTC for vercel.json's legacy `crons`).
    pub timezone: String,
    /// How late the platform may deliver on purpose, in minutes.
    pub jitter_minutes: u64,
    pub next_run_at: Option<DateTime<Utc>>,
    /// `next_run_at` on the schedule's wall clock, with its offset.
    pub next_run_local: Option<String>,
    /// Local times in the next 35 days the schedule names but the zone
    /// skips (spring forward): those runs will not happen.
    pub skipped_soon: Vec<String>,
    pub paused: Option<Pause>,
    pub last_run: Option<Run>,
    pub running_now: Option<Run>,
    pub stats_7d: Stats,
    pub stats_30d: Stats,
    pub consecutive_failures: i64,
    pub recent_failures: Vec<Run>,
    pub slow_runs: Vec<Run>,
    pub recent_runs: Vec<Run>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Run {
    pub id: Uuid,
    pub status: String,
    pub trigger: String,
    pub slot: Option<DateTime<Utc>>,
    /// The slot's attempt: retries and continuations of a slot count on
    /// (crates/nightshift-core/src/follow_up.rs).
    pub attempt: i32,
    /// A follow-up this run asked for and nobody has started yet.
    pub follow_up: Option<String>,
    pub follow_up_at: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub error_message: Option<String>,
}

#[derive(Debug, Default, Serialize, sqlx::FromRow)]
pub struct Stats {
    /// Finished runs (completed, failed, timeout) started in the window.
    pub runs: i64,
    pub completed: i64,
    /// completed / runs; null without runs.
    pub success_rate: Option<f64>,
    pub avg_duration_ms: Option<f64>,
    pub p95_duration_ms: Option<f64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Alert {
    pub id: i64,
    pub severity: String,
    pub source: String,
    pub title: String,
    pub message: String,
    pub raised_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct Outbox {
    /// pending + sending.
    pub depth: i64,
    pub dead: i64,
}

#[derive(Debug, Serialize)]
pub struct WorkQueue {
    pub pending: i64,
    pub running: i64,
    pub failed: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ReportRef {
    pub id: i64,
    pub iso_week: String,
    pub subject: String,
    pub generated_at: DateTime<Utc>,
}

const RUN_COLUMNS: &str = "id, status, trigger, slot, attempt, \
                           CASE WHEN followed_by IS NULL THEN follow_up END AS follow_up, \
                           CASE WHEN followed_by IS NULL THEN follow_up_at END AS follow_up_at, \
                           started_at, completed_at, \
                           execution_time_ms AS duration_ms, error_message";

pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Healthy => "healthy",
        Level::Warning => "degraded",
        Level::Critical => "critical",
    }
}

pub async fn collect(
    pool: &PgPool,
    routes: &[RouteSpec],
    delivery: &DeliveryConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<Status> {
    let verdict = health_check::assess(pool, routes, now, delivery).await?;
    let pauses = pause::pauses(pool).await?;
    let mut jobs = Vec::with_capacity(routes.len());
    for spec in routes {
        jobs.push(job_status(pool, spec, &pauses, now).await?);
    }
    let open_alerts = sqlx::query_as!(
        Alert,
        "SELECT id, severity, source, title, message, raised_at FROM alerts WHERE status = 'open'
          ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                   raised_at DESC LIMIT 50",
    )
    .fetch_all(pool)
    .await?;
    let latest_report = sqlx::query_as!(
        ReportRef,
        "SELECT id, iso_week, subject, generated_at FROM reports ORDER BY generated_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    let sys = &verdict.system;
    Ok(Status {
        generated_at: now,
        health: Health {
            status: level_name(verdict.status),
            reasons: verdict.reasons,
        },
        jobs,
        open_alerts,
        outbox: Outbox {
            depth: sys.outbox_pending,
            dead: sys.outbox_dead,
        },
        work_queue: WorkQueue {
            pending: sys.queue_pending,
            running: sys.queue_running,
            failed: sys.queue_failed,
        },
        latest_report,
    })
}

async fn job_status(
    pool: &PgPool,
    spec: &RouteSpec,
    pauses: &[Pause],
    now: DateTime<Utc>,
) -> anyhow::Result<JobStatus> {
    // Runtime SQL, on purpose: one column list and order for four filters,
    // and only literal filters from this function go in; values are bound.
    let runs = |filter: &'static str, limit: i64| {
        sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM job_history WHERE job_type = $1 AND {filter}
              ORDER BY started_at DESC LIMIT {limit}"
        ))
    };
    let recent_runs: Vec<Run> = sqlx::query_as(runs("started_at <= $2", RECENT_RUNS))
        .bind(spec.job_type)
        .bind(now)
        .fetch_all(pool)
        .await?;
    let running_now: Option<Run> = sqlx::query_as(runs("status = 'running'", 1))
        .bind(spec.job_type)
        .fetch_optional(pool)
        .await?;
    let recent_failures: Vec<Run> = sqlx::query_as(runs(
        "status IN ('failed', 'timeout') AND started_at > $2",
        RECENT_RUNS,
    ))
    .bind(spec.job_type)
    .bind(now - Duration::days(7))
    .fetch_all(pool)
    .await?;
    let slow_runs: Vec<Run> = sqlx::query_as(runs(
        "started_at > $2 AND execution_time_ms > $3",
        RECENT_RUNS,
    ))
    .bind(spec.job_type)
    .bind(now - Duration::days(7))
    .bind(SLOW_RUN.num_milliseconds())
    .fetch_all(pool)
    .await?;
    // The watch's definition too (migrations/20261203000200_failure_streak.sql).
    let consecutive_failures = sqlx::query_scalar!(
        r#"SELECT failure_streak($1, $2) AS "n!""#,
        spec.job_type,
        now,
    )
    .fetch_one(pool)
    .await?;
    let next_run_at = spec.schedule.next_after(now);
    Ok(JobStatus {
        job_type: spec.job_type,
        route: spec.path,
        name: spec.name,
        schedule: spec.schedule.expr().to_owned(),
        timezone: spec.schedule.timezone().name().to_owned(),
        jitter_minutes: spec.schedule.jitter().as_secs() / 60,
        next_run_at,
        next_run_local: next_run_at.map(|t| spec.schedule.local(t).to_rfc3339()),
        skipped_soon: spec
            .schedule
            .skipped_between(now, now + Duration::days(35), 10)
            .iter()
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .collect(),
        paused: pauses.iter().find(|p| p.job_type == spec.job_type).cloned(),
        last_run: recent_runs.iter().find(|r| r.status != "running").cloned(),
        running_now,
        stats_7d: stats(pool, spec.job_type, now - Duration::days(7), now).await?,
        stats_30d: stats(pool, spec.job_type, now - Duration::days(30), now).await?,
        consecutive_failures,
        recent_failures,
        slow_runs,
        recent_runs,
    })
}

async fn stats(
    pool: &PgPool,
    job_type: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Stats> {
    Ok(sqlx::query_as!(
        Stats,
        r#"SELECT count(*) AS "runs!",
                count(*) FILTER (WHERE status = 'completed') AS "completed!",
                (count(*) FILTER (WHERE status = 'completed'))::float8 / nullif(count(*), 0)
                    AS success_rate,
                avg(execution_time_ms)::float8 AS avg_duration_ms,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY execution_time_ms)
                    AS p95_duration_ms
           FROM job_history
          WHERE job_type = $1 AND status IN ('completed', 'failed', 'timeout')
            AND started_at > $2 AND started_at <= $3"#,
        job_type,
        from,
        to,
    )
    .fetch_one(pool)
    .await?)
}

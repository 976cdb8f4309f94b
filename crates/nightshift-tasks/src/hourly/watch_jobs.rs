//! `watch_jobs`: the cron system watching itself. Finds stuck runs, runs over
//! eight minutes, three or more failures in a row, and scheduled slots that
//! never ran in the last seven days; each is an alert (raised once while it
//! lasts, resolved when it clears) and a warning event.

use crate::TasksConfig;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use nightshift_core::{RouteSpec, Task, TaskContext, TaskReport};
use serde_json::json;
use sqlx::PgPool;

use super::missed_slots::{self, Recorded};
use crate::alerts::{self, Finding};

pub const SOURCE: &str = "watch_jobs";
/// A run this long is worth a look even when it finishes: Vercel Pro allows
/// about thirteen minutes, and a route that creeps towards it will be killed.
pub const LONG_RUN: Duration = Duration::minutes(8);
pub const FAILURE_STREAK: i64 = 3;
pub use super::missed_slots::{MISSED_GRACE, MISSED_WINDOW};

pub struct WatchJobs;

#[async_trait::async_trait]
impl Task<TasksConfig> for WatchJobs {
    fn name(&self) -> &'static str {
        SOURCE
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let recorded = missed_slots::recorded(&ctx.pool, ctx.now)
            .await
            .context("reading recorded slots")?;
        let mut findings = Vec::new();
        for spec in ctx.routes.iter() {
            findings.extend(latest_run_findings(ctx, spec).await?);
            findings.extend(failure_streak(&ctx.pool, spec, ctx.now).await?);
            findings.extend(missed_finding(&recorded, spec, ctx.now));
        }
        let sync = alerts::sync(&ctx.pool, SOURCE, ctx.now, &findings)
            .await
            .context("recording watch_jobs alerts")?;
        let keys: Vec<&str> = findings.iter().map(|f| f.dedupe_key.as_str()).collect();
        Ok(TaskReport {
            records_processed: ctx.routes.len() as i64,
            warning: (!findings.is_empty())
                .then(|| format!("{} job problem(s): {}", findings.len(), keys.join(", "))),
            details: json!({
                "findings": keys,
                "raised": sync.raised,
                "resolved": sync.resolved,
            }),
            events: sync.events(&findings),
            ..TaskReport::default()
        })
    }
}

/// Stuck and long runs, judged on the newest run of the job (other than the
/// run doing the watching): they clear as soon as a healthy run follows.
async fn latest_run_findings(
    ctx: &TaskContext<TasksConfig>,
    spec: &RouteSpec,
) -> anyhow::Result<Vec<Finding>> {
    let latest = sqlx::query!(
        r#"
        SELECT id, status, started_at, execution_time_ms, error_message,
               -- On the database's clock, as the sweep decides it.
               (status = 'running' AND lease_expires_at < now()) AS "lease_lost!"
          FROM job_history
         WHERE job_type = $1 AND id <> $2
         ORDER BY started_at DESC
         LIMIT 1
        "#,
        spec.job_type,
        ctx.run_id,
    )
    .fetch_optional(&ctx.pool)
    .await
    .context("reading the latest run")?;
    let Some(run) = latest else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let lease_lost = run.lease_lost;
    let swept = run.status == "timeout"
        && run
            .error_message
            .as_deref()
            .is_some_and(|m| m.starts_with("lease expired"));
    if lease_lost || swept {
        out.push(Finding {
            dedupe_key: format!("{SOURCE}:stuck_run:{}", spec.job_type),
            kind: "stuck_run",
            severity: "warning",
            title: format!("{} run {} stopped without finishing", spec.job_type, run.id),
            message: "its lease expired: the process was killed, crashed or froze".into(),
            details: json!({ "run_id": run.id, "started_at": run.started_at }),
            project_id: None,
        });
    }
    let lasted = match run.status.as_str() {
        "running" => ctx.now - run.started_at,
        _ => Duration::milliseconds(run.execution_time_ms.unwrap_or(0)),
    };
    if lasted > LONG_RUN {
        out.push(Finding {
            dedupe_key: format!("{SOURCE}:long_run:{}", spec.job_type),
            kind: "long_run",
            severity: "warning",
            title: format!("{} run {} took over {} minutes", spec.job_type, run.id, LONG_RUN.num_minutes()),
            message: format!("{} s, status {}", lasted.num_seconds(), run.status),
            details: json!({ "run_id": run.id, "seconds": lasted.num_seconds(), "status": run.status }),
            project_id: None,
        });
    }
    Ok(out)
}

/// Failed or timed-out runs since the last completed one, as of the run's
/// start: the SQL function `failure_streak` (migrations/20261203000200_failure_streak.sql),
/// the same count the status page shows.
async fn failure_streak(
    pool: &PgPool,
    spec: &RouteSpec,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Finding>> {
    let streak = sqlx::query_scalar!(
        r#"SELECT failure_streak($1, $2) AS "n!""#,
        spec.job_type,
        now,
    )
    .fetch_one(pool)
    .await
    .context("counting consecutive failures")?;
    Ok((streak >= FAILURE_STREAK).then(|| Finding {
        dedupe_key: format!("{SOURCE}:consecutive_failures:{}", spec.job_type),
        kind: "consecutive_failures",
        severity: "critical",
        title: format!("{} failed {streak} times in a row", spec.job_type),
        message: "no run has completed since; see the runs' error messages".into(),
        details: json!({ "failures": streak }),
        project_id: None,
    }))
}

/// The slots of the last seven days that never ran (`missed_slots`, the
/// definition the metrics count too).
fn missed_finding(recorded: &Recorded, spec: &RouteSpec, now: DateTime<Utc>) -> Option<Finding> {
    let missed = recorded.missed(spec, now);
    (!missed.is_empty()).then(|| Finding {
        dedupe_key: format!("{SOURCE}:missed_cron:{}", spec.job_type),
        kind: "missed_cron",
        severity: "warning",
        title: format!("{} missed {} scheduled run(s) in the last 7 days", spec.job_type, missed.len()),
        message: format!("schedule {} on {}; latest missed slot {}", spec.schedule.describe(), spec.path,
                         missed.last().map(|s| spec.schedule.show(*s)).unwrap_or_default()),
        details: json!({ "missed": missed.iter().rev().take(50).collect::<Vec<_>>(), "count": missed.len() }),
        project_id: None,
    })
}

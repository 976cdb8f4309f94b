//! `health_check`: one verdict for the whole system (healthy, warning or
//! critical) with the reasons behind it: stale routes, failure rates, stuck
//! runs, open alerts, the outbox, the work queue, sync errors and the
//! database's size.

use crate::TasksConfig;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use nightshift_core::{RouteSpec, Task, TaskContext, TaskReport};
use nightshift_mail::DeliveryConfig;
use serde::Serialize;
use sqlx::PgPool;

use super::health_system::{SystemHealth, assess_system};

const GRACE: Duration = Duration::minutes(15);
const FAILURE_WINDOW: Duration = Duration::days(7);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Healthy,
    Warning,
    Critical,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: Level,
    pub reasons: Vec<String>,
    pub jobs: Vec<JobHealth>,
    pub open_alerts: i64,
    pub system: SystemHealth,
}

#[derive(Debug, Serialize)]
pub struct JobHealth {
    pub job_type: &'static str,
    pub last_completed_at: Option<DateTime<Utc>>,
    pub runs_7d: i64,
    pub failures_7d: i64,
    pub stuck_24h: i64,
}

pub struct HealthCheck;

#[async_trait::async_trait]
impl Task<TasksConfig> for HealthCheck {
    fn name(&self) -> &'static str {
        "health_check"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let health = assess(&ctx.pool, &ctx.routes, ctx.now, &ctx.env.delivery).await?;
        Ok(TaskReport {
            records_processed: health.jobs.len() as i64,
            warning: (health.status != Level::Healthy).then(|| {
                format!("{:?}: {}", health.status, health.reasons.join("; ")).to_lowercase()
            }),
            details: serde_json::to_value(&health)?,
            ..TaskReport::default()
        })
    }
}

pub async fn assess(
    pool: &PgPool,
    routes: &[RouteSpec],
    now: DateTime<Utc>,
    delivery: &DeliveryConfig,
) -> anyhow::Result<Health> {
    let mut status = Level::Healthy;
    let mut reasons = Vec::new();
    let mut note = |level: Level, reason: String| {
        status = status.max(level);
        reasons.push(reason);
    };
    let first_seen = sqlx::query_scalar!("SELECT min(started_at) FROM job_history")
        .fetch_one(pool)
        .await
        .context("reading the first run")?;
    let mut jobs = Vec::new();
    for spec in routes {
        let row = sqlx::query!(
            r#"
            SELECT max(started_at) FILTER (WHERE status = 'completed') AS last_completed,
                   count(*) FILTER (WHERE status IN ('completed', 'failed', 'timeout')
                                      AND started_at > $2) AS "runs!",
                   count(*) FILTER (WHERE status IN ('failed', 'timeout') AND started_at > $2) AS "failures!",
                   count(*) FILTER (WHERE (status = 'timeout' AND error_message LIKE 'lease expired%'
                                           AND completed_at > $3)
                                       OR (status = 'running' AND lease_expires_at < now())) AS "stuck!"
              FROM job_history WHERE job_type = $1
            "#,
            spec.job_type,
            now - FAILURE_WINDOW,
            now - Duration::hours(24),
        )
        .fetch_one(pool)
        .await
        .with_context(|| format!("reading the runs of {}", spec.job_type))?;

        let period = spec.schedule.period_at(now);
        match row.last_completed {
            Some(last) => {
                let age = now - last;
                let level = if age > period * 4 + GRACE {
                    Level::Critical
                } else if age > period * 2 + GRACE {
                    Level::Warning
                } else {
                    Level::Healthy
                };
                if level != Level::Healthy {
                    note(
                        level,
                        format!(
                            "{}: last completed run {} ago, scheduled every {}",
                            spec.job_type,
                            human(age),
                            human(period)
                        ),
                    );
                }
            }
            None if first_seen.is_some_and(|f| now - f > period + GRACE) => {
                note(
                    Level::Warning,
                    format!(
                        "{}: never completed (scheduled every {})",
                        spec.job_type,
                        human(period)
                    ),
                );
            }
            None => {}
        }
        if row.failures > 0 {
            let rate = row.failures as f64 / row.runs.max(1) as f64;
            let level = if rate >= 0.5 && row.failures >= 2 {
                Level::Critical
            } else if rate >= 0.2 {
                Level::Warning
            } else {
                Level::Healthy
            };
            if level != Level::Healthy {
                note(
                    level,
                    format!(
                        "{}: {} of {} runs failed in 7 days ({:.0}%)",
                        spec.job_type,
                        row.failures,
                        row.runs,
                        rate * 100.0
                    ),
                );
            }
        }
        if row.stuck > 0 {
            note(
                Level::Warning,
                format!("{}: {} stuck run(s) in 24 hours", spec.job_type, row.stuck),
            );
        }
        jobs.push(JobHealth {
            job_type: spec.job_type,
            last_completed_at: row.last_completed,
            runs_7d: row.runs,
            failures_7d: row.failures,
            stuck_24h: row.stuck,
        });
    }
    let alerts = sqlx::query!(
        r#"SELECT count(*) AS "open!", count(*) FILTER (WHERE severity = 'critical') AS "critical!"
             FROM alerts WHERE status = 'open'"#
    )
    .fetch_one(pool)
    .await
    .context("counting open alerts")?;
    if alerts.critical > 0 {
        note(
            Level::Critical,
            format!("{} open critical alert(s)", alerts.critical),
        );
    }
    if alerts.open > alerts.critical {
        note(
            Level::Warning,
            format!("{} open warning alert(s)", alerts.open - alerts.critical),
        );
    }
    let system = assess_system(pool, now, delivery, &mut note).await?;
    Ok(Health {
        status,
        reasons,
        jobs,
        open_alerts: alerts.open,
        system,
    })
}

fn human(d: Duration) -> String {
    match d.num_minutes() {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

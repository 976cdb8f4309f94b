//! `daily_metrics`: one `project_metrics` row per project for the run's date
//! (UTC), upserted, with a health score from 0 to 100:
//!
//! ```text
//! score = clamp(round(100 - B - R - C - T), 0, 100)
//! B = min(40, 8 × critical bugs past SLA + 3 × other bugs past SLA)   breaches
//! R = 25 × revenue / (revenue + ALERT_REVENUE_THRESHOLD)              money at risk, half at the threshold
//! C = min(15, 5 × open critical bugs)                                 exposure
//! T = clamp(20 × (open − open 7 days ago) / max(open 7 days ago, 1), −10, 10)   trend
//! ```
//! A backlog that shrinks earns up to 10 points back; one that grows costs up
//! to 10. Without a row from 7 days ago the trend term is 0.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

pub struct DailyMetrics;

#[async_trait::async_trait]
impl Task<TasksConfig> for DailyMetrics {
    fn name(&self) -> &'static str {
        "daily_metrics"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let day = ctx.now.date_naive();
        let row = sqlx::query!(
            r#"
            WITH counts AS (
                SELECT p.id AS project_id,
                       count(b.id) FILTER (WHERE b.status IN ('open', 'in_progress')) AS open_bugs,
                       count(b.id) FILTER (WHERE b.status IN ('open', 'in_progress') AND b.severity = 'critical') AS critical_bugs,
                       count(b.id) FILTER (WHERE b.status IN ('open', 'in_progress') AND b.is_blocker) AS blockers,
                       count(b.id) FILTER (WHERE b.resolved_at >= $2::date - 1 AND b.resolved_at < $2::date) AS resolved,
                       COALESCE(sum(b.revenue_impact_daily) FILTER (WHERE b.status IN ('open', 'in_progress')), 0) AS revenue,
                       count(b.id) FILTER (WHERE b.status IN ('open', 'in_progress') AND b.sla_deadline <= $1) AS breaches,
                       count(b.id) FILTER (WHERE b.status IN ('open', 'in_progress') AND b.sla_deadline <= $1
                                             AND b.severity = 'critical') AS critical_breaches
                  FROM projects p
                  LEFT JOIN bugs b ON b.project_id = p.id
                 WHERE p.status = 'active'
                 GROUP BY p.id
            ), merged AS (
                SELECT project_id, count(*) AS n FROM pull_requests
                 WHERE merged_at >= $2::date - 1 AND merged_at < $2::date GROUP BY project_id
            ), scored AS (
                SELECT c.*, COALESCE(m.n, 0) AS prs_merged,
                       least(40, 8 * c.critical_breaches + 3 * (c.breaches - c.critical_breaches)) AS b,
                       25 * c.revenue / (c.revenue + greatest($3::float8, 1)::numeric) AS r,
                       least(15, 5 * c.critical_bugs) AS cc,
                       CASE WHEN w.open_bugs IS NULL THEN 0
                            ELSE greatest(-10, least(10, 20.0 * (c.open_bugs - w.open_bugs) / greatest(w.open_bugs, 1)))
                       END AS t
                  FROM counts c
                  LEFT JOIN merged m ON m.project_id = c.project_id
                  LEFT JOIN project_metrics w ON w.project_id = c.project_id AND w.date = $2::date - 7
            ), upserted AS (
                INSERT INTO project_metrics (project_id, date, open_bugs, critical_bugs, blockers, resolved,
                                             prs_merged, revenue_at_risk, sla_breaches, health_score)
                SELECT project_id, $2, open_bugs, critical_bugs, blockers, resolved, prs_merged, revenue,
                       breaches, greatest(0, least(100, round(100 - b - r - cc - t)))::int
                  FROM scored
                ON CONFLICT (project_id, date) DO UPDATE
                   SET open_bugs = EXCLUDED.open_bugs, critical_bugs = EXCLUDED.critical_bugs,
                       blockers = EXCLUDED.blockers, resolved = EXCLUDED.resolved,
                       prs_merged = EXCLUDED.prs_merged, revenue_at_risk = EXCLUDED.revenue_at_risk,
                       sla_breaches = EXCLUDED.sla_breaches, health_score = EXCLUDED.health_score
                RETURNING health_score
            )
            SELECT count(*) AS "projects!", avg(health_score)::float8 AS avg_score, min(health_score) AS min_score
              FROM upserted
            "#,
            ctx.now,
            day,
            ctx.env.alert_revenue_threshold,
        )
        .fetch_one(&ctx.pool)
        .await
        .context("computing daily metrics")?;
        Ok(TaskReport {
            records_processed: row.projects,
            details: json!({ "date": day, "projects": row.projects,
                             "average_health": row.avg_score.map(|s| (s * 10.0).round() / 10.0),
                             "lowest_health": row.min_score }),
            ..TaskReport::default()
        })
    }
}

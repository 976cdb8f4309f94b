//! `anomalies`: each metric of today's project snapshot against the same
//! project's trailing 14 days, scored robustly (median and median absolute
//! deviation, so one past outlier does not hide the next):
//! `z = 0.6745 × (x − median) / MAD`, anomalous when |z| > 3.5 with at least 7
//! days of history. When the history is flat (MAD = 0) any change counts.
//! Each anomaly is an alert (dedupe key per project and metric) that resolves
//! once the metric is back in range.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use crate::alerts::{self, Finding};

pub const SOURCE: &str = "anomalies";
pub const THRESHOLD: f64 = 3.5;
pub const MIN_HISTORY: i64 = 7;

pub struct Anomalies;

#[async_trait::async_trait]
impl Task<TasksConfig> for Anomalies {
    fn name(&self) -> &'static str {
        SOURCE
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let day = ctx.now.date_naive();
        let rows = sqlx::query!(
            r#"
            WITH long AS (
                SELECT m.project_id, m.date, v.metric, v.value
                  FROM project_metrics m
                 CROSS JOIN LATERAL (VALUES
                     ('open_bugs', m.open_bugs::float8), ('critical_bugs', m.critical_bugs::float8),
                     ('blockers', m.blockers::float8), ('resolved', m.resolved::float8),
                     ('prs_merged', m.prs_merged::float8), ('revenue_at_risk', m.revenue_at_risk::float8),
                     ('sla_breaches', m.sla_breaches::float8), ('health_score', m.health_score::float8)
                 ) AS v(metric, value)
                 WHERE m.date BETWEEN $1::date - 14 AND $1::date
            ), hist AS (
                SELECT project_id, metric, count(*) AS days,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median
                  FROM long WHERE date < $1::date GROUP BY project_id, metric
            ), mad AS (
                SELECT h.project_id, h.metric,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(l.value - h.median)) AS mad
                  FROM hist h JOIN long l USING (project_id, metric)
                 WHERE l.date < $1::date
                 GROUP BY h.project_id, h.metric
            )
            SELECT t.project_id AS "project_id!", p.name AS "project!", t.metric AS "metric!",
                   t.value AS "value!", h.median AS "median!", d.mad AS "mad!", h.days AS "days!"
              FROM long t
              JOIN hist h USING (project_id, metric)
              JOIN mad d USING (project_id, metric)
              JOIN projects p ON p.id = t.project_id
             WHERE t.date = $1::date AND h.days >= $2
               AND CASE WHEN d.mad = 0 THEN t.value <> h.median
                        ELSE abs(0.6745 * (t.value - h.median) / d.mad) > $3 END
            "#,
            day,
            MIN_HISTORY,
            THRESHOLD,
        )
        .fetch_all(&ctx.pool)
        .await
        .context("scoring today's metrics")?;
        let findings: Vec<Finding> = rows
            .iter()
            .map(|r| {
                let z = (r.mad > 0.0).then(|| 0.6745 * (r.value - r.median) / r.mad);
                Finding {
                    dedupe_key: format!("{SOURCE}:{}:{}", r.project_id, r.metric),
                    kind: "anomaly",
                    severity: "warning",
                    title: format!(
                        "{}: {} is {} (14-day median {})",
                        r.project, r.metric, r.value, r.median
                    ),
                    message: match z {
                        Some(z) => format!("robust z-score {z:.1} over {} days", r.days),
                        None => format!("the last {} days never moved from {}", r.days, r.median),
                    },
                    details: json!({ "metric": r.metric, "value": r.value, "median": r.median,
                                     "mad": r.mad, "z": z, "days": r.days }),
                    project_id: Some(r.project_id),
                }
            })
            .collect();
        let sync = alerts::sync(&ctx.pool, SOURCE, ctx.now, &findings)
            .await
            .context("recording anomalies")?;
        Ok(TaskReport {
            records_processed: findings.len() as i64,
            warning: (!findings.is_empty()).then(|| format!("{} anomalies", findings.len())),
            details: json!({ "date": day, "anomalies": findings.iter().map(|f| &f.dedupe_key).collect::<Vec<_>>(),
                             "raised": sync.raised.len(), "resolved": sync.resolved.len() }),
            events: sync.events(&findings),
            ..TaskReport::default()
        })
    }
}

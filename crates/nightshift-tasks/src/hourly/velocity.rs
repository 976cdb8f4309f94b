//! `velocity`: bugs resolved per week per project over the trailing four weeks
//! (week 1 oldest, week 4 the last seven days), with the trend: the last two
//! weeks against the two before, `up` or `down` beyond ±10%, else `flat`.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::snapshot_hour;

pub struct Velocity;

#[async_trait::async_trait]
impl Task<TasksConfig> for Velocity {
    fn name(&self) -> &'static str {
        "velocity"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        // Weeks of 7 × 24 h before the run's clock, as `interval '7 days'`
        // is in the UTC sessions sqlx opens.
        let weeks_ago = |n: i64| ctx.now - chrono::TimeDelta::days(7 * n);
        let data = sqlx::query_scalar!(
            r#"
            -- Counting resolved_at (never NULL for a joined row), not id, lets
            -- the scan stay inside bugs_resolved (project_id, resolved_at).
            -- The week bounds arrive as parameters: written as `$2 - interval`
            -- inside the FILTERs they were computed again for every row, half
            -- the statement's time at 200k bugs (docs/decisions.md, 70).
            WITH weekly AS (
                SELECT p.id, p.name,
                       ARRAY[count(b.resolved_at) FILTER (WHERE b.resolved_at <= $4),
                             count(b.resolved_at) FILTER (WHERE b.resolved_at > $4 AND b.resolved_at <= $5),
                             count(b.resolved_at) FILTER (WHERE b.resolved_at > $5 AND b.resolved_at <= $6),
                             count(b.resolved_at) FILTER (WHERE b.resolved_at > $6)] AS weeks
                  FROM projects p
                  LEFT JOIN bugs b ON b.project_id = p.id
                                  AND b.resolved_at > $3 AND b.resolved_at <= $2
                 WHERE p.status = 'active'
                 GROUP BY p.id, p.name
            ), trended AS (
                SELECT *, weeks[1] + weeks[2] AS earlier, weeks[3] + weeks[4] AS recent FROM weekly
            ), rated AS (
                SELECT *,
                       CASE WHEN recent * 10 > earlier * 11 THEN 'up'
                            WHEN recent * 10 < earlier * 9 THEN 'down'
                            ELSE 'flat' END AS trend,
                       CASE WHEN earlier > 0 THEN round((recent - earlier) * 100.0 / earlier, 1) END AS change_pct
                  FROM trended
            )
            SELECT put_snapshot($1, 'velocity',
                   jsonb_build_object(
                       'resolved_4w', (SELECT COALESCE(sum(earlier + recent), 0) FROM rated),
                       'trend_counts', COALESCE((SELECT jsonb_object_agg(trend, n)
                                                   FROM (SELECT trend, count(*) AS n FROM rated GROUP BY trend) t), '{}'),
                       'projects', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                                 'project_id', id, 'name', name, 'weeks', weeks,
                                                 'per_week', round((earlier + recent) / 4.0, 2),
                                                 'trend', trend, 'change_pct', change_pct) ORDER BY id)
                                               FROM rated), '[]')),
                   $2) AS "data!"
            "#,
            snapshot_hour(ctx.now),
            ctx.now,
            weeks_ago(4),
            weeks_ago(3),
            weeks_ago(2),
            weeks_ago(1),
        )
        .fetch_one(&ctx.pool)
        .await
        .context("measuring velocity")?;
        Ok(TaskReport {
            records_processed: data["projects"].as_array().map_or(0, |p| p.len() as i64),
            details: json!({ "resolved_4w": data["resolved_4w"], "trend_counts": data["trend_counts"] }),
            ..TaskReport::default()
        })
    }
}

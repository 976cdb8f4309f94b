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
        let row = sqlx::query!(
            r#"
            -- Per project, one index-only range scan of bugs_resolved
            -- (project_id, resolved_at) under a LATERAL aggregate: joined as a
            -- whole, the planner read the 4 weeks' rows from the heap and
            -- hashed them, 4 times the time at 200k bugs (docs/decisions.md,
            -- 75). The week bounds arrive as parameters: written as
            -- `$2 - interval` inside the FILTERs they were computed again for
            -- every row (decision 70). An aggregate without GROUP BY yields a
            -- row of zeros for a project with no resolutions, as the LEFT
            -- JOIN did.
            WITH weekly AS (
                SELECT p.id, p.name, w.weeks
                  FROM projects p
                 CROSS JOIN LATERAL (
                       SELECT ARRAY[count(*) FILTER (WHERE b.resolved_at <= $4),
                                    count(*) FILTER (WHERE b.resolved_at > $4 AND b.resolved_at <= $5),
                                    count(*) FILTER (WHERE b.resolved_at > $5 AND b.resolved_at <= $6),
                                    count(*) FILTER (WHERE b.resolved_at > $6)] AS weeks
                         FROM bugs b
                        WHERE b.project_id = p.id AND b.resolved_at > $3 AND b.resolved_at <= $2) w
                 WHERE p.status = 'active'
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
            -- The per-project list stays in the snapshot; only the summary
            -- comes back (decision 75).
            SELECT d - 'projects' AS "data!",
                   jsonb_array_length(d -> 'projects')::int8 AS "projects!"
              FROM put_snapshot($1, 'velocity',
                   jsonb_build_object(
                       'resolved_4w', (SELECT COALESCE(sum(earlier + recent), 0) FROM rated),
                       'trend_counts', COALESCE((SELECT jsonb_object_agg(trend, n)
                                                   FROM (SELECT trend, count(*) AS n FROM rated GROUP BY trend) t), '{}'),
                       'projects', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                                 'project_id', id, 'name', name, 'weeks', weeks,
                                                 'per_week', round((earlier + recent) / 4.0, 2),
                                                 'trend', trend, 'change_pct', change_pct) ORDER BY id)
                                               FROM rated), '[]')),
                   $2) AS d
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
            records_processed: row.projects,
            details: json!({ "resolved_4w": row.data["resolved_4w"], "trend_counts": row.data["trend_counts"] }),
            ..TaskReport::default()
        })
    }
}

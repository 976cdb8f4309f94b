//! `workload`: each person's weighted open load and its level. Weights and
//! thresholds live in SQL functions shared with the dashboard view:
//! critical 8, high 4, medium 2, low 1, +2 for a blocker; LOW under 10,
//! MODERATE from 10, HIGH from 20, CRITICAL from 35.

use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::snapshot_hour;

pub struct Workload;

#[async_trait::async_trait]
impl Task for Workload {
    fn name(&self) -> &'static str {
        "workload"
    }

    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        let data = sqlx::query_scalar!(
            r#"
            WITH loads AS (
                SELECT u.id, u.name,
                       COALESCE(sum(bug_weight(b.severity, b.is_blocker)), 0) AS load,
                       count(b.id) AS open_bugs,
                       count(b.id) FILTER (WHERE b.severity = 'critical') AS critical
                  FROM users u
                  LEFT JOIN bugs b ON b.assignee_id = u.id AND b.status IN ('open', 'in_progress')
                 WHERE u.role = 'engineer' OR b.id IS NOT NULL
                 GROUP BY u.id, u.name
            ), leveled AS (
                SELECT *, workload_level(load) AS level FROM loads
            )
            SELECT put_snapshot($1, 'workload',
                   jsonb_build_object(
                       'people', (SELECT count(*) FROM leveled),
                       'levels', jsonb_build_object(
                           'LOW', (SELECT count(*) FROM leveled WHERE level = 'LOW'),
                           'MODERATE', (SELECT count(*) FROM leveled WHERE level = 'MODERATE'),
                           'HIGH', (SELECT count(*) FROM leveled WHERE level = 'HIGH'),
                           'CRITICAL', (SELECT count(*) FROM leveled WHERE level = 'CRITICAL')),
                       'hotspots', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                                 'user_id', id, 'name', name, 'load', load, 'level', level,
                                                 'open_bugs', open_bugs, 'critical', critical)
                                             ORDER BY load DESC, id)
                                               FROM leveled WHERE level IN ('HIGH', 'CRITICAL')), '[]')),
                   $2) AS "data!"
            "#,
            snapshot_hour(ctx.now),
            ctx.now,
        )
        .fetch_one(&ctx.pool)
        .await
        .context("measuring workload")?;
        Ok(TaskReport {
            records_processed: data["people"].as_i64().unwrap_or(0),
            details: json!({ "levels": data["levels"] }),
            ..TaskReport::default()
        })
    }
}

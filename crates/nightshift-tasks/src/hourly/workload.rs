//! `workload`: each person's weighted open load and its level. Weights and
//! thresholds live in SQL functions shared with the dashboard table:
//! critical 8, high 4, medium 2, low 1, +2 for a blocker; LOW under 10,
//! MODERATE from 10, HIGH from 20, CRITICAL from 35. Loads come from the
//! per-assignee totals that triggers keep (`open_bugs_by_assignee`,
//! migrations/20261203000300_open_bug_rollups.sql), not from every open bug.
//! An hour whose people and totals are those of the latest snapshot (same
//! digest, `snapshot_inputs`) takes that snapshot instead of rebuilding it.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::{reuse_or_compute, snapshot_hour};

pub struct Workload;

#[async_trait::async_trait]
impl Task<TasksConfig> for Workload {
    fn name(&self) -> &'static str {
        "workload"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        // A quiet hour moved no one's load: the latest snapshot is this
        // hour's too.
        let (data, reused) = reuse_or_compute(ctx, "workload", "hotspots", compute(ctx)).await?;
        Ok(TaskReport {
            records_processed: data["people"].as_i64().unwrap_or(0),
            details: json!({ "levels": data["levels"], "reused": reused }),
            ..TaskReport::default()
        })
    }
}

/// Every person's load and level, stored with the digest of the inputs read
/// in the same statement.
async fn compute(ctx: &TaskContext<TasksConfig>) -> anyhow::Result<serde_json::Value> {
    sqlx::query_scalar!(
            r#"
            WITH loads AS (
                SELECT u.id, u.name,
                       COALESCE(t.load, 0)::bigint AS load,
                       COALESCE(t.open_bugs, 0)::bigint AS open_bugs,
                       COALESCE(t.critical_bugs, 0)::bigint AS critical
                  FROM users u
                  LEFT JOIN open_bugs_by_assignee t ON t.assignee_id = u.id AND t.open_bugs > 0
                 WHERE u.role = 'engineer' OR t.assignee_id IS NOT NULL
            ), leveled AS (
                SELECT *, workload_level(load) AS level FROM loads
            )
            -- Only the counts come back; the hotspots stay in the snapshot.
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
                   $2, snapshot_inputs('workload')) - 'hotspots' AS "data!"
            "#,
            snapshot_hour(ctx.now),
            ctx.now,
        )
        .fetch_one(&ctx.pool)
        .await
        .context("measuring workload")
}

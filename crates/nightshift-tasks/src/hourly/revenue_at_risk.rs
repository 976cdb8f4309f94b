//! `revenue_at_risk`: what open bugs cost per day, per project and in total,
//! with blockers counted apart. Amounts stay numeric end to end (money is
//! never a float); the hour's snapshot holds the breakdown. It reads the
//! per-project totals that triggers keep (`open_bugs_by_project`,
//! migrations/20261203000300_open_bug_rollups.sql), not every open bug.
//! An hour whose projects and totals are those of the latest snapshot (same
//! digest, `snapshot_inputs`) takes that snapshot instead of rebuilding it.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::{reuse_or_compute, snapshot_hour};

pub struct RevenueAtRisk;

#[async_trait::async_trait]
impl Task<TasksConfig> for RevenueAtRisk {
    fn name(&self) -> &'static str {
        "revenue_at_risk"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let (data, reused) =
            reuse_or_compute(ctx, "revenue_at_risk", "projects", compute(ctx)).await?;
        Ok(TaskReport {
            records_processed: data["projects_at_risk"].as_i64().unwrap_or(0),
            details: json!({ "total": data["total"], "blockers": data["blockers"],
                             "projects_at_risk": data["projects_at_risk"], "reused": reused }),
            ..TaskReport::default()
        })
    }
}

/// Every project's revenue at risk, stored with the digest of the inputs
/// read in the same statement.
async fn compute(ctx: &TaskContext<TasksConfig>) -> anyhow::Result<serde_json::Value> {
    sqlx::query_scalar!(
            r#"
            WITH per_project AS (
                -- A project with no blocker at risk says 0, not 0.00, as
                -- the sum over no bugs always did.
                SELECT p.id, p.name,
                       t.revenue AS total,
                       CASE WHEN t.blocker_revenue = 0 THEN 0 ELSE t.blocker_revenue END AS blockers,
                       t.revenue_bugs AS bugs
                  FROM open_bugs_by_project t
                  JOIN projects p ON p.id = t.project_id
                 WHERE t.revenue_bugs > 0
            )
            -- Only the summary comes back; the list stays in the snapshot.
            SELECT put_snapshot($1, 'revenue_at_risk',
                   jsonb_build_object(
                       'total', (SELECT COALESCE(sum(total), 0) FROM per_project),
                       'blockers', (SELECT COALESCE(sum(blockers), 0) FROM per_project),
                       'projects_at_risk', (SELECT count(*) FROM per_project),
                       'projects', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                                 'project_id', id, 'name', name, 'total', total,
                                                 'blockers', blockers, 'bugs', bugs)
                                             ORDER BY total DESC, id)
                                               FROM per_project), '[]')),
                   $2, snapshot_inputs('revenue_at_risk')) - 'projects' AS "data!"
            "#,
            snapshot_hour(ctx.now),
            ctx.now,
        )
        .fetch_one(&ctx.pool)
        .await
        .context("measuring revenue at risk")
}

//! `refresh_dashboard`: brings the one-row-per-project dashboard table up to
//! the run's clock. Only rows whose figures changed are written
//! (`refresh_dashboard_projects`, migrations/20261203000301_dashboard_table.sql),
//! so a quiet hour writes nothing and the dashboard never reads a half-built
//! table.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

pub struct RefreshDashboard;

#[async_trait::async_trait]
impl Task<TasksConfig> for RefreshDashboard {
    fn name(&self) -> &'static str {
        "refresh_dashboard"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let changed = sqlx::query_scalar!(
            r#"SELECT refresh_dashboard_projects($1) AS "changed!""#,
            ctx.now
        )
        .fetch_one(&ctx.pool)
        .await
        .context("refreshing dashboard_projects")?;
        let rows = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM dashboard_projects"#)
            .fetch_one(&ctx.pool)
            .await?;
        Ok(TaskReport {
            records_processed: rows,
            details: json!({ "projects": rows, "changed": changed }),
            ..TaskReport::default()
        })
    }
}

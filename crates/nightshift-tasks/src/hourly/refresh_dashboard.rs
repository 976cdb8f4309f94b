//! `refresh_dashboard`: rebuilds the one-row-per-project dashboard view.
//! CONCURRENTLY, so the dashboard keeps reading the old rows meanwhile.

use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

pub struct RefreshDashboard;

#[async_trait::async_trait]
impl Task for RefreshDashboard {
    fn name(&self) -> &'static str {
        "refresh_dashboard"
    }

    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        sqlx::query!("REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard_projects")
            .execute(&ctx.pool)
            .await
            .context("refreshing dashboard_projects")?;
        let rows = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM dashboard_projects"#)
            .fetch_one(&ctx.pool)
            .await?;
        Ok(TaskReport {
            records_processed: rows,
            details: json!({ "projects": rows }),
            ..TaskReport::default()
        })
    }
}

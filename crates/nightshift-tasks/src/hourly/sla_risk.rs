//! `sla_risk`: every open bug's SLA risk, from its deadline (created + its SLA
//! window) and the run's clock: `breached` at or past the deadline, `high` with
//! under 10% of the window left, `medium` under 25%, else `low`. Counts per
//! severity and risk go into the hour's snapshot.

use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::snapshot_hour;

pub struct SlaRisk;

#[async_trait::async_trait]
impl Task for SlaRisk {
    fn name(&self) -> &'static str {
        "sla_risk"
    }

    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        let mut tx = ctx.pool.begin().await?;
        // Seconds are compared as exact numerics, so "exactly 10% left" is
        // exactly 10%, not a float's idea of it. Only changed rows are written.
        let changed = sqlx::query!(
            r#"
            WITH assessed AS (
                SELECT id,
                       CASE WHEN $1 >= sla_deadline THEN 'breached'
                            WHEN extract(epoch FROM sla_deadline - $1) * 10 < sla_window_hours * 3600 THEN 'high'
                            WHEN extract(epoch FROM sla_deadline - $1) * 4 < sla_window_hours * 3600 THEN 'medium'
                            ELSE 'low'
                       END AS risk
                  FROM bugs
                 WHERE status IN ('open', 'in_progress')
            ), updated AS (
                UPDATE bugs SET sla_risk = a.risk
                  FROM assessed a
                 WHERE bugs.id = a.id AND bugs.sla_risk IS DISTINCT FROM a.risk
                RETURNING 1
            ), cleared AS (
                UPDATE bugs SET sla_risk = NULL
                 WHERE status IN ('resolved', 'closed') AND sla_risk IS NOT NULL
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM assessed) AS "open!",
                   (SELECT count(*) FROM updated) AS "updated!",
                   (SELECT count(*) FROM cleared) AS "cleared!"
            "#,
            ctx.now,
        )
        .fetch_one(&mut *tx)
        .await
        .context("assessing SLA risk")?;

        let counts = sqlx::query_scalar!(
            r#"
            WITH c AS (
                SELECT severity, sla_risk, count(*) AS n
                  FROM bugs WHERE status IN ('open', 'in_progress')
                 GROUP BY severity, sla_risk
            ), s AS (
                SELECT severity, jsonb_object_agg(COALESCE(sla_risk, 'unassessed'), n) AS risks
                  FROM c GROUP BY severity
            )
            INSERT INTO hourly_snapshots (hour, kind, data, updated_at)
            SELECT $1, 'sla_risk',
                   jsonb_build_object(
                       'open', (SELECT COALESCE(sum(n), 0) FROM c),
                       'breached', (SELECT COALESCE(sum(n), 0) FROM c WHERE sla_risk = 'breached'),
                       'by_severity', COALESCE((SELECT jsonb_object_agg(severity, risks) FROM s), '{}')),
                   $2
            ON CONFLICT (hour, kind) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
            RETURNING data
            "#,
            snapshot_hour(ctx.now),
            ctx.now,
        )
        .fetch_one(&mut *tx)
        .await
        .context("storing the SLA snapshot")?;
        tx.commit().await?;
        Ok(TaskReport {
            records_processed: changed.open,
            details: json!({ "changed": changed.updated, "cleared": changed.cleared, "snapshot": counts }),
            ..TaskReport::default()
        })
    }
}

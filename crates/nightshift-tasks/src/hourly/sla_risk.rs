//! `sla_risk`: every open bug's SLA risk, from its deadline (created + its SLA
//! window) and the run's clock: `breached` at or past the deadline, `high` with
//! under 10% of the window left, `medium` under 25%, else `low`. Counts per
//! severity and risk go into the hour's snapshot. A bug entering medium and
//! again high risk warns its creator, assignee, followers and team leads
//! (the SQL function `bug_audience`), once per bug and level.
//!
//! Incremental (issue 19): a band changes only at known instants, so each
//! open bug stores when its band ends (`risk_next_at`, kept by a trigger,
//! migrations/20261203000100_incremental_hourly.sql) and a run assesses only
//! the bugs whose instant has come, through an index. What changed since the
//! last run (new, reopened, deadline moved, warning owed) is '-infinity' and
//! comes first. New bugs get their band when they are written, at the
//! writer's clock (migrations/20261203000400_bands_at_write.sql), so a first
//! run over a backlog assesses only the bugs that owe a warning. A clock
//! behind the last run's or the last writer's (a test, a replay) assesses
//! every open bug, as before.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::snapshot_hour;
use crate::notices;

pub struct SlaRisk;

#[async_trait::async_trait]
impl Task<TasksConfig> for SlaRisk {
    fn name(&self) -> &'static str {
        "sla_risk"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let mut tx = ctx.pool.begin().await?;
        // Bands only move forward in time: a run before the last one cannot
        // trust the stored instants, so it looks at everything.
        let behind = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM hourly_snapshots
                               WHERE kind = 'sla_risk' AND hour >= $2 AND updated_at > $1)
                      OR $1 < (SELECT upto FROM risk_assessed_upto) AS "behind!""#,
            ctx.now,
            snapshot_hour(ctx.now),
        )
        .fetch_one(&mut *tx)
        .await?;
        let upto = (!behind).then_some(ctx.now);
        // `risk_band_at` compares seconds as exact numerics, so "exactly 10%
        // left" is exactly 10%, not a float's idea of it. Only changed rows
        // are written.
        // Entering medium, then high, warns the bug's audience once per
        // level (`risk_warned`), in the same statement as the change; in a
        // project nobody watched yet the level is recorded silently and the
        // backlog summary of `escalations` tells it instead.
        let changed = sqlx::query!(
            r#"
            WITH assessed AS (
                SELECT b.id, r.risk, b.sla_risk IS DISTINCT FROM r.risk AS changed,
                       risk_band_end(r.risk, b.created_at, b.severity, b.sla_hours) AS next_at,
                       b.risk_next_at,
                       r.risk IN ('medium', 'high')
                           AND (b.risk_warned IS NULL OR (b.risk_warned = 'medium' AND r.risk = 'high')) AS warn
                  FROM bugs b
                 CROSS JOIN LATERAL (
                       SELECT risk_band_at($1, b.sla_deadline, b.sla_window_hours) AS risk) r
                 WHERE b.status IN ('open', 'in_progress') AND b.risk_next_at <= COALESCE($5::timestamptz, 'infinity')
            ), updated AS (
                UPDATE bugs SET sla_risk = a.risk,
                                risk_warned = CASE WHEN a.warn THEN a.risk ELSE bugs.risk_warned END,
                                risk_next_at = a.next_at
                  FROM assessed a
                 WHERE bugs.id = a.id AND (a.changed OR a.warn OR a.risk_next_at IS DISTINCT FROM a.next_at)
                RETURNING bugs.id, bugs.project_id, a.risk, a.warn, a.changed, bugs.severity,
                          bugs.title, bugs.sla_deadline
            ), cleared AS (
                UPDATE bugs SET sla_risk = NULL
                 WHERE status IN ('resolved', 'closed') AND sla_risk IS NOT NULL
                RETURNING 1
            ), warned AS (
                SELECT u.*, p.name AS project,
                       floor(extract(epoch FROM u.sla_deadline - $1) / 60)::int AS minutes_left
                  FROM updated u JOIN projects p ON p.id = u.project_id
                 WHERE u.warn AND p.watched_since IS NOT NULL
            ), told AS (
                INSERT INTO notices (user_id, channel, kind, urgency, bug_id, headline, details,
                                     dedupe_key, run_id, created_at)
                SELECT a.user_id, 'email', 'risk',
                       CASE w.risk WHEN 'high' THEN $3::int4 ELSE $4::int4 END + severity_rank(w.severity),
                       w.id,
                       format('[%s risk] %s bug #%s in %s: %s', w.risk, w.severity, w.id, w.project,
                              left(w.title, 120)),
                       format('Its SLA deadline is %s UTC, %sh%s from now. You are its %s.',
                              to_char(w.sla_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                              w.minutes_left / 60, lpad((w.minutes_left % 60)::text, 2, '0'), a.roles),
                       format('risk:%s:%s:%s', w.id, w.risk, a.user_id), $2, $1
                  FROM warned w
                 CROSS JOIN LATERAL bug_audience(w.id) a
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM assessed) AS "assessed!",
                   (SELECT count(*) FROM updated WHERE changed) AS "updated!",
                   (SELECT count(*) FROM updated WHERE warn) AS "warned!",
                   (SELECT count(*) FROM told) AS "notices!",
                   (SELECT count(*) FROM cleared) AS "cleared!"
            "#,
            ctx.now,
            ctx.run_id,
            notices::RISK_HIGH,
            notices::RISK_MEDIUM,
            upto,
        )
        .fetch_one(&mut *tx)
        .await
        .context("assessing SLA risk")?;

        let counts = sqlx::query_scalar!(
            r#"
            -- Counts kept by the triggers on `bugs`
            -- (migrations/20261203000300_open_bug_rollups.sql), as of the
            -- statement above.
            WITH c AS (
                SELECT severity, sla_risk, open_bugs AS n
                  FROM open_bugs_by_risk WHERE open_bugs > 0
            ), s AS (
                SELECT severity, jsonb_object_agg(COALESCE(sla_risk, 'unassessed'), n) AS risks
                  FROM c GROUP BY severity
            )
            SELECT put_snapshot($1, 'sla_risk',
                   jsonb_build_object(
                       'open', (SELECT COALESCE(sum(n), 0) FROM c),
                       'breached', (SELECT COALESCE(sum(n), 0) FROM c WHERE sla_risk = 'breached'),
                       'by_severity', COALESCE((SELECT jsonb_object_agg(severity, risks) FROM s), '{}')),
                   $2) AS "data!"
            "#,
            snapshot_hour(ctx.now),
            ctx.now,
        )
        .fetch_one(&mut *tx)
        .await
        .context("storing the SLA snapshot")?;
        tx.commit().await?;
        super::vacuum_bugs_after(&ctx.pool, changed.updated).await?;
        Ok(TaskReport {
            records_processed: changed.assessed,
            details: json!({ "assessed": changed.assessed, "full": behind, "changed": changed.updated, "cleared": changed.cleared,
                             "warned": changed.warned, "notices": changed.notices,
                             "snapshot": counts }),
            ..TaskReport::default()
        })
    }
}

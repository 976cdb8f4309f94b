//! `alerts`: conditions worth a person's attention, per project: critical bugs
//! nobody owns, critical bugs past their SLA, and daily revenue at risk above
//! ALERT_REVENUE_THRESHOLD. Each is an alert with a dedupe key (raised once,
//! resolved when it clears, raised anew when it returns). Every alert not yet
//! announced — these and `watch_jobs`' — becomes a notice for the project
//! owner, ALERT_EMAILS and the Slack channel; a critical one leads its digest.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use crate::alerts::{self, Finding};
use crate::notices;

pub const SOURCE: &str = "alerts";

pub struct Alerts;

#[async_trait::async_trait]
impl Task<TasksConfig> for Alerts {
    fn name(&self) -> &'static str {
        SOURCE
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let findings = findings(ctx).await?;
        let sync = alerts::sync(&ctx.pool, SOURCE, ctx.now, &findings)
            .await
            .context("recording alerts")?;
        let announced = announce(ctx).await?;
        Ok(TaskReport {
            records_processed: findings.len() as i64,
            details: json!({
                "open": findings.len(),
                "raised": sync.raised.len(),
                "resolved": sync.resolved.len(),
                "notifications": announced,
            }),
            events: sync.events(&findings),
            ..TaskReport::default()
        })
    }
}

async fn findings(ctx: &TaskContext<TasksConfig>) -> anyhow::Result<Vec<Finding>> {
    let rows = sqlx::query!(
        r#"
        -- Revenue from the per-project totals (`open_bugs_by_project`,
        -- migrations/20261203000300_open_bug_rollups.sql); critical bugs,
        -- few, through their own index, since "past the deadline" is on this
        -- run's clock.
        WITH revenue AS (
            SELECT project_id, revenue FROM open_bugs_by_project WHERE open_bugs > 0
        ), critical AS (
            SELECT project_id,
                   count(*) FILTER (WHERE assignee_id IS NULL) AS unassigned,
                   count(*) FILTER (WHERE sla_deadline <= $1) AS breached
              FROM bugs
             WHERE severity = 'critical' AND status IN ('open', 'in_progress')
             GROUP BY project_id
        )
        SELECT p.id, p.name,
               COALESCE(c.unassigned, 0) AS "unassigned!",
               COALESCE(c.breached, 0) AS "breached!",
               r.revenue::float8 AS "revenue!"
          FROM revenue r
          JOIN projects p ON p.id = r.project_id
          LEFT JOIN critical c ON c.project_id = r.project_id
         WHERE c.unassigned > 0 OR c.breached > 0 OR r.revenue > $2::float8
         ORDER BY p.id
        "#,
        ctx.now,
        ctx.env.alert_revenue_threshold,
    )
    .fetch_all(&ctx.pool)
    .await
    .context("finding alert conditions")?;
    let threshold = ctx.env.alert_revenue_threshold;
    let mut out = Vec::new();
    for r in rows {
        let finding =
            |kind: &'static str, severity: &'static str, title: String, details| Finding {
                dedupe_key: format!("{SOURCE}:{kind}:{}", r.id),
                kind,
                severity,
                title,
                message: format!("project {}", r.name),
                details,
                project_id: Some(r.id),
            };
        if r.unassigned > 0 {
            out.push(finding(
                "unassigned_critical",
                "warning",
                format!(
                    "{}: {} critical bug(s) without an assignee",
                    r.name, r.unassigned
                ),
                json!({ "count": r.unassigned }),
            ));
        }
        if r.breached > 0 {
            out.push(finding(
                "critical_breach",
                "critical",
                format!("{}: {} critical bug(s) past their SLA", r.name, r.breached),
                json!({ "count": r.breached }),
            ));
        }
        if r.revenue > threshold {
            out.push(finding(
                "revenue_at_risk",
                "warning",
                format!(
                    "{}: {:.2} per day at risk (threshold {threshold:.2})",
                    r.name, r.revenue
                ),
                json!({ "revenue_per_day": r.revenue, "threshold": threshold }),
            ));
        }
    }
    Ok(out)
}

/// Turns every open alert not yet announced into notices, and marks it
/// announced, in one statement: a crash cannot announce twice or forget one.
/// An ALERT_EMAILS address that belongs to a person reaches them as that
/// person, so it lands in their one digest.
async fn announce(ctx: &TaskContext<TasksConfig>) -> anyhow::Result<i64> {
    let n = sqlx::query_scalar!(
        r#"
        WITH pending AS (
            SELECT id, severity, title, message, project_id
              FROM alerts WHERE status = 'open' AND notified_at IS NULL
               FOR UPDATE SKIP LOCKED
        ), recipients AS (
            SELECT pe.id, p.owner_id AS user_id, NULL::text AS address, 'email' AS channel,
                   p.owner_id::text AS who
              FROM pending pe
              JOIN projects p ON p.id = pe.project_id
             WHERE p.owner_id IS NOT NULL
            UNION
            SELECT pe.id, u.id, CASE WHEN u.id IS NULL THEN lower(e) END, 'email',
                   COALESCE(u.id::text, lower(e))
              FROM pending pe
             CROSS JOIN unnest($2::text[]) AS e
              LEFT JOIN users u ON lower(u.email) = lower(e)
            UNION
            -- The team channel hears about every alert, when there is one.
            SELECT pe.id, NULL, NULL, 'slack', 'slack' FROM pending pe WHERE $3
        ), queued AS (
            INSERT INTO notices (user_id, address, channel, kind, urgency, critical, headline,
                                 details, dedupe_key, run_id, created_at)
            SELECT r.user_id, r.address, r.channel, 'alert',
                   CASE WHEN pe.severity = 'critical' THEN $4::int4 ELSE $5::int4 END,
                   pe.severity = 'critical',
                   format('[%s] %s', upper(pe.severity), left(pe.title, 150)),
                   format('%s. Raised at %s UTC.', pe.message,
                          to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')),
                   format('alert:%s:%s', pe.id, r.who), $6, $1
              FROM recipients r JOIN pending pe ON pe.id = r.id
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING 1
        ), marked AS (
            UPDATE alerts SET notified_at = $1 WHERE id IN (SELECT id FROM pending) RETURNING 1
        )
        SELECT (SELECT count(*) FROM queued) AS "n!"
        "#,
        ctx.now,
        &ctx.env.alert_emails,
        ctx.env.delivery.slack_webhook_url.is_some(),
        notices::CRITICAL_ALERT,
        notices::ALERT,
        ctx.run_id,
    )
    .fetch_one(&ctx.pool)
    .await
    .context("writing alert notices")?;
    Ok(n)
}

//! `reminders`: at 08:00 in ORG_TIMEZONE, one notice per assignee listing the
//! bugs due in the next 24 hours (their due date, else their SLA deadline),
//! which lands in that person's digest of the run.
//! The route runs on UTC hours; the task fires in the run whose local hour is
//! 8 and claims (task, local date), so it sends once per local day, whichever
//! UTC hour that is on either side of a daylight-saving change.

use crate::TasksConfig;
use anyhow::Context;
use chrono::Timelike;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use crate::notices;

pub const LOCAL_HOUR: u32 = 8;

pub struct Reminders;

#[async_trait::async_trait]
impl Task<TasksConfig> for Reminders {
    fn name(&self) -> &'static str {
        "reminders"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let tz = ctx.cfg.org_timezone;
        let local = ctx.now.with_timezone(&tz);
        if local.hour() != LOCAL_HOUR {
            return Ok(TaskReport {
                details: json!({ "sent": false, "reason": format!("not {LOCAL_HOUR}:00 in {tz}"), "local_time": local.to_rfc3339() }),
                ..TaskReport::default()
            });
        }
        let day = local.date_naive().to_string();
        // The claim and the notices commit together: a crash between them
        // neither loses the day's reminders nor lets them go out twice.
        let mut tx = ctx.pool.begin().await?;
        let claimed = sqlx::query_scalar!(
            r#"INSERT INTO task_claims (task, key, run_id, claimed_at) VALUES ('reminders', $1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING 1 AS "one!""#,
            day,
            ctx.run_id,
            ctx.now,
        )
        .fetch_optional(&mut *tx)
        .await
        .context("claiming today's reminders")?;
        if claimed.is_none() {
            return Ok(TaskReport {
                details: json!({ "sent": false, "reason": format!("already sent for {day}") }),
                ..TaskReport::default()
            });
        }
        let queued = sqlx::query_scalar!(
            r#"
            WITH due AS (
                SELECT b.assignee_id, b.id, b.title, b.severity, p.name AS project,
                       COALESCE(b.due_at, b.sla_deadline) AS due
                  FROM bugs b JOIN projects p ON p.id = b.project_id
                 WHERE b.status IN ('open', 'in_progress') AND b.assignee_id IS NOT NULL
                   AND COALESCE(b.due_at, b.sla_deadline) > $1
                   AND COALESCE(b.due_at, b.sla_deadline) <= $1::timestamptz + interval '24 hours'
            ), queued AS (
                INSERT INTO notices (user_id, channel, kind, urgency, headline, details, dedupe_key,
                                     run_id, created_at)
                SELECT d.assignee_id, 'email', 'reminder', $3::int4,
                       format('%s bug(s) due by %s UTC', count(*),
                              to_char(($1::timestamptz + interval '24 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')),
                       string_agg(format('  - [%s] %s #%s: %s (due %s UTC)', d.severity, d.project, d.id,
                                         d.title, to_char(d.due AT TIME ZONE 'UTC', 'MM-DD HH24:MI')),
                                  E'\n' ORDER BY d.due),
                       format('reminder:%s:%s', $2::text, d.assignee_id), $4, $1
                  FROM due d
                 GROUP BY d.assignee_id
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            )
            SELECT count(*) AS "n!" FROM queued
            "#,
            ctx.now,
            day,
            notices::REMINDER,
            ctx.run_id,
        )
        .fetch_one(&mut *tx)
        .await
        .context("writing reminders")?;
        tx.commit().await?;
        Ok(TaskReport {
            records_processed: queued,
            details: json!({ "sent": true, "local_date": day, "reminders": queued }),
            ..TaskReport::default()
        })
    }
}

//! `due_soon_digest`: one e-mail per assignee with the bugs that breach their
//! SLA within 3 days and those already breached, grouped by project. Enqueued
//! once per assignee and day (dedupe key), most urgent inboxes first, at most
//! MAX_EMAILS_PER_RUN per run; the rest wait for the next run. It is bulk
//! mail (outbox priority 3): the weekly report and digests go before it.
//! People without an address or with `notify = false` get none: a list of
//! what was due days ago is worth nothing once they have an address.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use crate::notices;

pub struct DueSoonDigest;

#[async_trait::async_trait]
impl Task<TasksConfig> for DueSoonDigest {
    fn name(&self) -> &'static str {
        "due_soon_digest"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let day = ctx.now.date_naive().to_string();
        let row = sqlx::query!(
            r#"
            WITH due AS (
                SELECT b.assignee_id, b.id, b.title, b.severity, b.sla_deadline, p.name AS project,
                       b.sla_deadline <= $1 AS breached
                  FROM bugs b JOIN projects p ON p.id = b.project_id
                 WHERE b.status IN ('open', 'in_progress') AND b.assignee_id IS NOT NULL
                   AND b.sla_deadline <= $1::timestamptz + interval '3 days'
            ), per_project AS (
                SELECT assignee_id, project,
                       string_agg(format('  - %s #%s %s — %s %s UTC', upper(severity), id, title,
                                         CASE WHEN breached THEN 'breached' ELSE 'due' END,
                                         to_char(sla_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')),
                                  E'\n' ORDER BY sla_deadline) AS lines,
                       count(*) AS n, count(*) FILTER (WHERE breached) AS breached, min(sla_deadline) AS first
                  FROM due GROUP BY assignee_id, project
            ), per_person AS (
                SELECT assignee_id, sum(n) AS n, sum(breached) AS breached, min(first) AS first,
                       string_agg(project || E':\n' || lines, E'\n\n' ORDER BY project) AS body
                  FROM per_project GROUP BY assignee_id
            ), todo AS (
                SELECT pp.*, u.email, u.name
                  FROM per_person pp JOIN users u ON u.id = pp.assignee_id
                 WHERE u.email IS NOT NULL AND u.notify
                   AND NOT EXISTS (SELECT 1 FROM notifications
                                    WHERE dedupe_key = format('due_soon:%s:%s', $2::text, pp.assignee_id))
            ), picked AS (
                SELECT * FROM todo ORDER BY breached DESC, first, assignee_id LIMIT $3
            ), queued AS (
                INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key,
                                           priority, next_attempt_at, created_at)
                SELECT 'due_soon', email, 'email',
                       format('%s bug(s) breached, %s due within 3 days', breached, n - breached),
                       format(E'Hello %s,\n\nYour bugs that are past their SLA or due within 3 days:\n\n%s\n',
                              name, body),
                       format('due_soon:%s:%s', $2::text, assignee_id), $4, $1, $1
                  FROM picked
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM queued) AS "queued!", (SELECT count(*) FROM todo) AS "wanted!"
            "#,
            ctx.now,
            day,
            ctx.env.max_emails_per_run,
            notices::priority::BULK,
        )
        .fetch_one(&ctx.pool)
        .await
        .context("enqueueing digests")?;
        let capped = row.wanted - row.queued;
        Ok(TaskReport {
            records_processed: row.queued,
            more_work: capped > 0,
            details: json!({ "date": day, "queued": row.queued, "left_for_next_run": capped,
                             "cap": ctx.env.max_emails_per_run }),
            ..TaskReport::default()
        })
    }
}

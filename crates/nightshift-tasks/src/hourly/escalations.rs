//! `escalations`: a breached bug climbs one level per rule, once per bug and
//! level (a unique key on (bug, level) makes a second run, or a concurrent
//! one, a no-op). Each level raises the priority one step, adds the assignee's
//! manager as a follower and tells the assignee and the manager (level 3 also
//! the manager's manager); an unassigned critical bug goes to the project owner.
//!
//! Levels, counted in SLA windows after the bug was created:
//! 1 at the deadline (1 window), 2 at 2 windows, 3 at 4 windows.

use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

pub struct Escalations;

#[async_trait::async_trait]
impl Task for Escalations {
    fn name(&self) -> &'static str {
        "escalations"
    }

    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        // One statement: the escalations, the bug updates and the outbox rows
        // commit together or not at all. New levels of a bug are contiguous
        // (the rules' thresholds only grow), so level k moves the priority
        // k - escalation_level steps from where it stands now.
        let done = sqlx::query!(
            r#"
            WITH due AS (
                SELECT b.id AS bug_id, l.level
                  FROM bugs b
                  JOIN (VALUES (1, 1), (2, 2), (3, 4)) AS l(level, windows)
                    ON b.escalation_level < l.level
                 WHERE b.status IN ('open', 'in_progress')
                   AND $1 >= b.created_at + make_interval(hours => b.sla_window_hours * l.windows)
            ), plan AS (
                SELECT d.bug_id, d.level, b.escalation_level AS cur_level,
                       substr(b.priority, 2)::int AS p0,
                       COALESCE(b.assignee_id, CASE WHEN b.severity = 'critical' THEN p.owner_id END) AS assignee_id,
                       (b.assignee_id IS NULL AND b.severity = 'critical' AND p.owner_id IS NOT NULL) AS reassign
                  FROM due d
                  JOIN bugs b ON b.id = d.bug_id
                  JOIN projects p ON p.id = b.project_id
            ), ins AS (
                INSERT INTO escalations (bug_id, level, from_priority, to_priority, assignee_id,
                                         manager_id, reassigned, created_at)
                SELECT pl.bug_id, pl.level,
                       'P' || greatest(0, pl.p0 - (pl.level - pl.cur_level - 1)),
                       'P' || greatest(0, pl.p0 - (pl.level - pl.cur_level)),
                       pl.assignee_id, u.manager_id,
                       pl.reassign AND pl.level = pl.cur_level + 1, $1
                  FROM plan pl
                  LEFT JOIN users u ON u.id = pl.assignee_id
                ON CONFLICT (bug_id, level) DO NOTHING
                RETURNING bug_id, level, to_priority, assignee_id, manager_id
            ), top AS (
                SELECT DISTINCT ON (bug_id) * FROM ins ORDER BY bug_id, level DESC
            ), upd AS (
                UPDATE bugs b
                   SET escalation_level = t.level,
                       priority = t.to_priority,
                       assignee_id = t.assignee_id,
                       followers = CASE WHEN t.manager_id IS NULL OR t.manager_id = ANY (b.followers)
                                        THEN b.followers ELSE b.followers || t.manager_id END,
                       updated_at = $1
                  FROM top t
                 WHERE b.id = t.bug_id
                RETURNING b.id
            ), recipients AS (
                SELECT DISTINCT i.bug_id, i.level, u.email AS address, 'email' AS channel,
                       u.id::text AS who
                  FROM ins i
                  JOIN bugs b ON b.id = i.bug_id
                  JOIN projects p ON p.id = b.project_id
                  LEFT JOIN users m ON m.id = i.manager_id
                 CROSS JOIN LATERAL (VALUES (COALESCE(i.assignee_id, p.owner_id)),
                                            (i.manager_id),
                                            (CASE WHEN i.level >= 3 THEN m.manager_id END)) AS r(user_id)
                  JOIN users u ON u.id = r.user_id
                UNION ALL
                -- The team channel hears about every escalation, when there is one.
                SELECT i.bug_id, i.level, 'slack', 'slack', 'slack' FROM ins i WHERE $2
            ), notified AS (
                INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key,
                                           next_attempt_at, created_at)
                SELECT 'escalation', r.address, r.channel,
                       format('[Escalation L%s] %s %s bug in %s: %s', i.level, i.to_priority,
                              b.severity, p.name, left(b.title, 120)),
                       format(E'%s bug #%s in %s breached its %s-hour SLA (deadline %s UTC) and is now escalated to level %s, priority %s.\n\nTitle: %s\nAssignee: %s\nRevenue impact per day: %s\n',
                              initcap(b.severity), b.id, p.name, b.sla_window_hours,
                              to_char(b.sla_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                              i.level, i.to_priority, b.title,
                              COALESCE(a.name, 'unassigned'), b.revenue_impact_daily),
                       format('escalation:%s:%s:%s', i.bug_id, i.level, r.who),
                       $1, $1
                  FROM recipients r
                  JOIN ins i ON i.bug_id = r.bug_id AND i.level = r.level
                  JOIN bugs b ON b.id = i.bug_id
                  JOIN projects p ON p.id = b.project_id
                  LEFT JOIN users a ON a.id = i.assignee_id
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM ins) AS "escalations!",
                   (SELECT count(*) FROM upd) AS "bugs!",
                   (SELECT count(*) FROM notified) AS "notifications!"
            "#,
            ctx.now,
            ctx.cfg.delivery.slack_webhook_url.is_some(),
        )
        .fetch_one(&ctx.pool)
        .await
        .context("escalating breached bugs")?;
        Ok(TaskReport {
            records_processed: done.bugs,
            details: json!({
                "escalations": done.escalations,
                "bugs": done.bugs,
                "notifications": done.notifications,
            }),
            ..TaskReport::default()
        })
    }
}

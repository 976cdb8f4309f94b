//! `escalations`: a breached bug climbs one level per rule, once per bug and
//! level (a unique key on (bug, level) makes a second run, or a concurrent
//! one, a no-op). Each level raises the priority one step and adds the
//! assignee's manager as a follower; an unassigned critical bug goes to the
//! project owner. People hear of a bug once per run, at its highest new
//! level: the assignee and the manager (from level 3 also the manager's
//! manager), as notices that `compose_digests` folds into one digest each.
//!
//! A project's first run (`projects.watched_since` unset) finds a backlog:
//! its escalations are recorded, but each person gets one backlog summary
//! (counts, the top ten, at-risk bugs included) instead of a notice per bug.
//!
//! Levels, counted in SLA windows after the bug was created:
//! 1 at the deadline (1 window), 2 at 2 windows, 3 at 4 windows.
//!
//! Incremental (issue 19): a bug's next level falls due at an instant of its
//! own row, the stored column `escalate_at` (indexed;
//! migrations/20261203000100_incremental_hourly.sql), so a run reads only the
//! bugs whose instant has come instead of every open bug.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use crate::notices;

pub struct Escalations;

#[async_trait::async_trait]
impl Task<TasksConfig> for Escalations {
    fn name(&self) -> &'static str {
        "escalations"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        // One statement: the escalations, the bug updates and the notices
        // commit together or not at all. New levels of a bug are contiguous
        // (the rules' thresholds only grow), so level k moves the priority
        // k - escalation_level steps from where it stands now.
        let mut tx = ctx.pool.begin().await?;
        super::without_jit(&mut tx).await?;
        super::bulk_work_mem(&mut tx).await?;
        let done = sqlx::query!(
            r#"
            WITH due AS (
                SELECT b.id AS bug_id, l.level
                  FROM bugs b
                  JOIN (VALUES (1, 1), (2, 2), (3, 4)) AS l(level, windows)
                    ON b.escalation_level < l.level
                 WHERE b.escalate_at <= $1
                   AND b.status IN ('open', 'in_progress')
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
            ), joined AS (
                -- This run is the first to look at these projects.
                UPDATE projects SET watched_since = $1 WHERE watched_since IS NULL RETURNING id
            ), heard AS (
                -- Who hears of a bug's highest new level: its assignee (the
                -- owner when it has none), the assignee's manager, and from
                -- level 3 the manager's manager.
                SELECT t.bug_id, t.level, t.to_priority, t.assignee_id, r.user_id,
                       b.project_id, b.severity, b.title, b.revenue_impact_daily,
                       string_agg(r.role, ', ') AS roles, j.id IS NOT NULL AS backlog
                  FROM top t
                  JOIN bugs b ON b.id = t.bug_id
                  JOIN projects p ON p.id = b.project_id
                  LEFT JOIN joined j ON j.id = b.project_id
                  LEFT JOIN users m ON m.id = t.manager_id
                 CROSS JOIN LATERAL (VALUES (t.assignee_id, 'assignee'),
                                            (CASE WHEN t.assignee_id IS NULL THEN p.owner_id END, 'project owner'),
                                            (t.manager_id, 'manager'),
                                            (CASE WHEN t.level >= 3 THEN m.manager_id END, 'manager''s manager'))
                       AS r(user_id, role)
                 WHERE r.user_id IS NOT NULL AND (j.id IS NOT NULL OR p.watched_since IS NOT NULL)
                 GROUP BY t.bug_id, t.level, t.to_priority, t.assignee_id, r.user_id, j.id,
                          b.project_id, b.severity, b.title, b.revenue_impact_daily
            ), told AS (
                INSERT INTO notices (user_id, channel, kind, urgency, bug_id, headline, details,
                                     dedupe_key, run_id, created_at)
                SELECT h.user_id, 'email', 'escalation',
                       $3::int4 + (3 - h.level) * 10 + severity_rank(b.severity), h.bug_id,
                       format('[L%s → %s] %s bug #%s in %s: %s', h.level, h.to_priority, b.severity,
                              b.id, p.name, left(b.title, 120)),
                       format('Breached its %s-hour SLA at %s UTC. Assignee: %s. Revenue impact per day: %s. You are its %s.',
                              b.sla_window_hours,
                              to_char(b.sla_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                              COALESCE(a.name, 'nobody'), b.revenue_impact_daily, h.roles),
                       format('escalation:%s:%s:%s', h.bug_id, h.level, h.user_id), $4, $1
                  FROM heard h
                  JOIN bugs b ON b.id = h.bug_id
                  JOIN projects p ON p.id = b.project_id
                  LEFT JOIN users a ON a.id = h.assignee_id
                 WHERE NOT h.backlog
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            ), channel AS (
                -- The team channel hears of every escalation, in its one post per run.
                INSERT INTO notices (channel, kind, urgency, bug_id, headline, dedupe_key, run_id,
                                     created_at)
                SELECT 'slack', 'escalation', $3::int4 + (3 - t.level) * 10 + severity_rank(b.severity),
                       t.bug_id,
                       format('[L%s → %s] %s bug #%s in %s: %s', t.level, t.to_priority, b.severity,
                              b.id, p.name, left(b.title, 120)),
                       format('escalation:%s:%s:slack', t.bug_id, t.level), $4, $1
                  FROM top t
                  JOIN bugs b ON b.id = t.bug_id
                  JOIN projects p ON p.id = b.project_id
                 WHERE $2 AND p.watched_since IS NOT NULL
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            ), backlog_items AS (
                -- Bug columns travel along: at 200k bugs a join back to
                -- `bugs` per item costs more than the rest of the summary.
                -- Each branch holds a (person, bug) once (`heard` groups by
                -- them, bug_audience by person) and the branches differ in
                -- `level`, so no row repeats: UNION ALL, without a sort.
                SELECT h.user_id, h.bug_id, h.level, NULL::text AS risk, h.project_id,
                       h.severity, h.title, h.revenue_impact_daily
                  FROM heard h WHERE h.backlog
                UNION ALL
                SELECT a.user_id, b.id, 0, b.sla_risk, b.project_id, b.severity, b.title,
                       b.revenue_impact_daily
                  FROM bugs b
                 CROSS JOIN LATERAL bug_audience(b.id) a
                 WHERE b.status IN ('open', 'in_progress') AND b.sla_risk IN ('medium', 'high')
                   AND b.project_id IN (SELECT id FROM joined)
            ), ranked AS (
                SELECT i.*, p.name AS project,
                       row_number() OVER (PARTITION BY i.user_id
                                          ORDER BY i.level DESC, i.risk = 'medium', severity_rank(i.severity),
                                                   i.revenue_impact_daily DESC, i.bug_id) AS rn
                  FROM backlog_items i
                  JOIN projects p ON p.id = i.project_id
            ), backlog_people AS (
                SELECT user_id,
                       count(*) FILTER (WHERE level > 0) AS breached,
                       count(*) FILTER (WHERE level = 3) AS l3,
                       count(*) FILTER (WHERE level = 2) AS l2,
                       count(*) FILTER (WHERE level = 1) AS l1,
                       count(*) FILTER (WHERE risk = 'high') AS high,
                       count(*) FILTER (WHERE risk = 'medium') AS medium,
                       count(DISTINCT project_id) AS projects,
                       count(*) AS items,
                       string_agg(CASE WHEN level > 0
                                       THEN format('  - [L%s] %s bug #%s in %s: %s (%s per day)', level,
                                                   severity, bug_id, project, left(title, 100),
                                                   revenue_impact_daily)
                                       ELSE format('  - [%s risk] %s bug #%s in %s: %s', risk, severity,
                                                   bug_id, project, left(title, 100))
                                  END, E'\n' ORDER BY rn) FILTER (WHERE rn <= 10) AS top
                  FROM ranked GROUP BY user_id
            ), backlog AS (
                INSERT INTO notices (user_id, channel, kind, urgency, headline, details, dedupe_key,
                                     run_id, created_at)
                SELECT user_id, 'email', 'backlog', $5::int4,
                       format('When Nightshift started watching %s of your projects: %s bug(s) past their SLA (L3 %s, L2 %s, L1 %s), %s at high and %s at medium risk',
                              projects, breached, l3, l2, l1, high, medium),
                       format(E'The most urgent:\n%s%s', top,
                              CASE WHEN items > 10
                                   THEN format(E'\n  … and %s more on the status page', items - 10)
                                   ELSE '' END),
                       format('backlog:%s:%s', $4, user_id), $4, $1
                  FROM backlog_people
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            ), channel_backlog AS (
                INSERT INTO notices (channel, kind, urgency, headline, dedupe_key, run_id, created_at)
                SELECT 'slack', 'backlog', $5::int4,
                       format('Nightshift started watching %s project(s): %s bug(s) were already past their SLA',
                              (SELECT count(*) FROM joined), count(*)),
                       format('backlog:%s:slack', $4), $4, $1
                  FROM top t JOIN bugs b ON b.id = t.bug_id JOIN joined j ON j.id = b.project_id
                HAVING $2 AND count(*) > 0
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM ins) AS "escalations!",
                   (SELECT count(*) FROM upd) AS "bugs!",
                   (SELECT count(*) FROM told) + (SELECT count(*) FROM channel) AS "notices!",
                   (SELECT count(*) FROM backlog) + (SELECT count(*) FROM channel_backlog) AS "backlog!",
                   (SELECT count(*) FROM joined) AS "joined!"
            "#,
            ctx.now,
            ctx.env.delivery.slack_webhook_url.is_some(),
            notices::ESCALATION,
            ctx.run_id,
            notices::BACKLOG,
        )
        .fetch_one(&mut *tx)
        .await
        .context("escalating breached bugs")?;
        tx.commit().await?;
        super::vacuum_bugs_after(&ctx.pool, done.bugs).await?;
        Ok(TaskReport {
            records_processed: done.bugs,
            details: json!({
                "escalations": done.escalations,
                "bugs": done.bugs,
                "notices": done.notices,
                "backlog_summaries": done.backlog,
                "projects_joined": done.joined,
            }),
            ..TaskReport::default()
        })
    }
}

//! The parts of the health verdict beyond the cron jobs: the outbox, the
//! work queue, GitHub sync errors, people nothing can reach, and the
//! database's size. Each finding is a sentence a person can act on.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use nightshift_mail::DeliveryConfig;
use serde::Serialize;
use sqlx::PgPool;

use super::health_check::Level;

/// A notification this late past its due time is overdue.
const OVERDUE: Duration = Duration::hours(2);
/// A queue item waiting longer than this means no worker drains the queue.
const QUEUE_STALE: Duration = Duration::hours(24);

#[derive(Debug, Default, Serialize)]
pub struct SystemHealth {
    pub outbox_pending: i64,
    pub outbox_overdue: i64,
    pub outbox_dead: i64,
    pub queue_pending: i64,
    pub queue_running: i64,
    pub queue_failed: i64,
    pub queue_oldest_pending_at: Option<DateTime<Utc>>,
    pub projects_with_sync_errors: Vec<String>,
    /// Up to ten people (login, else name) with open bugs and no address.
    pub people_without_address: Vec<String>,
    pub database_bytes: i64,
}

pub async fn assess_system(
    pool: &PgPool,
    now: DateTime<Utc>,
    delivery: &DeliveryConfig,
    note: &mut impl FnMut(Level, String),
) -> anyhow::Result<SystemHealth> {
    let r = sqlx::query!(
        r#"
        SELECT (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')) AS "pending!",
               (SELECT count(*) FROM notifications
                 WHERE status = 'pending' AND next_attempt_at < $1) AS "overdue!",
               (SELECT count(*) FROM notifications WHERE status = 'dead') AS "dead!",
               (SELECT count(*) FROM notifications
                 WHERE status = 'pending' AND channel = 'email') AS "email_pending!",
               (SELECT count(*) FROM notifications
                 WHERE status = 'pending' AND channel = 'slack') AS "slack_pending!",
               (SELECT count(*) FROM work_queue WHERE status = 'pending') AS "q_pending!",
               (SELECT count(*) FROM work_queue WHERE status = 'running') AS "q_running!",
               (SELECT count(*) FROM work_queue WHERE status = 'failed') AS "q_failed!",
               (SELECT min(enqueued_at) FROM work_queue WHERE status = 'pending') AS q_oldest,
               (SELECT coalesce(array_agg(format('%s (%s)', name, left(sync_error, 120)) ORDER BY name), '{}')
                  FROM projects WHERE sync_error IS NOT NULL AND status = 'active') AS "sync_errors!",
               (SELECT count(*) FROM users u
                 WHERE u.email IS NULL AND EXISTS (SELECT 1 FROM bugs b WHERE b.assignee_id = u.id
                                                      AND b.status IN ('open', 'in_progress'))) AS "no_address!",
               (SELECT coalesce(array_agg(who ORDER BY who), '{}') FROM (
                    SELECT COALESCE(u.github_login, u.name) AS who FROM users u
                     WHERE u.email IS NULL AND EXISTS (SELECT 1 FROM bugs b WHERE b.assignee_id = u.id
                                                          AND b.status IN ('open', 'in_progress'))
                     ORDER BY 1 LIMIT 10) named) AS "no_address_names!",
               pg_database_size(current_database()) AS "db_bytes!",
               (SELECT coalesce(array_agg(title ORDER BY title), '{}') FROM alerts
                 WHERE kind = $2 AND status = 'open') AS "auth_refused!"
        "#,
        now - OVERDUE,
        crate::delivery::AUTH_REFUSED_KIND,
    )
    .fetch_one(pool)
    .await
    .context("reading the outbox, queue and sync state")?;

    if r.dead > 0 {
        note(
            Level::Warning,
            format!(
                "{} notification(s) dead: see `nightshift outbox list`",
                r.dead
            ),
        );
    }
    // A refused key holds its channel's notifications back, so they would
    // otherwise read as overdue ("is the hourly route running?").
    if !r.auth_refused.is_empty() {
        note(
            Level::Critical,
            format!("{}; fix the setting", r.auth_refused.join("; ")),
        );
    } else if r.email_pending > 0 && delivery.email_transport().is_none() {
        note(
            Level::Warning,
            format!(
                "{} e-mail(s) wait for a transport: set SMTP_URL, RESEND_API_KEY or \
                 SENDGRID_API_KEY, and EMAIL_FROM",
                r.email_pending
            ),
        );
    } else if r.slack_pending > 0 && delivery.slack_webhook_url.is_none() {
        note(
            Level::Warning,
            format!(
                "{} Slack message(s) wait: set SLACK_WEBHOOK_URL",
                r.slack_pending
            ),
        );
    } else if r.overdue > 0 {
        note(
            Level::Warning,
            format!(
                "{} notification(s) overdue by more than {} h: is the hourly route running?",
                r.overdue,
                OVERDUE.num_hours()
            ),
        );
    }
    if r.q_failed > 0 {
        note(
            Level::Warning,
            format!("{} work-queue item(s) failed", r.q_failed),
        );
    }
    if r.q_oldest.is_some_and(|t| now - t > QUEUE_STALE) {
        note(
            Level::Warning,
            format!(
                "work queue: {} item(s) pending, the oldest for over {} h",
                r.q_pending,
                QUEUE_STALE.num_hours()
            ),
        );
    }
    if !r.sync_errors.is_empty() {
        note(
            Level::Warning,
            format!(
                "{} project(s) fail to sync from GitHub: {}",
                r.sync_errors.len(),
                r.sync_errors.join(", ")
            ),
        );
    }
    // Not a fault of the system (the GitHub sync creates people by login),
    // so it does not lower the verdict; it is named so someone imports them.
    if r.no_address > 0 {
        let more = r.no_address - r.no_address_names.len() as i64;
        note(
            Level::Healthy,
            format!(
                "{} person(s) have open bugs but no e-mail address, so nothing reaches them: {}{}                  (give them one with `nightshift people import`)",
                r.no_address,
                r.no_address_names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        );
    }
    Ok(SystemHealth {
        people_without_address: r.no_address_names,
        outbox_pending: r.pending,
        outbox_overdue: r.overdue,
        outbox_dead: r.dead,
        queue_pending: r.q_pending,
        queue_running: r.q_running,
        queue_failed: r.q_failed,
        queue_oldest_pending_at: r.q_oldest,
        projects_with_sync_errors: r.sync_errors,
        database_bytes: r.db_bytes,
    })
}

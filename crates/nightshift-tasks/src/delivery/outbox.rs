//! The outbox's state changes, each one statement so concurrent senders and
//! crashes cannot make a row be sent twice by two live senders, or be lost.
//!
//! pending --claim--> sending (leased) --accepted--> sent
//!                            |--transient, attempts left--> pending (later)
//!                            |--permanent, or out of attempts--> dead
//! A sender that dies mid-send leaves a `sending` row whose lease expires;
//! the next claim takes it back, hence at-least-once delivery.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// How long a claimed row belongs to its sender, from the claim, on the
/// database's clock (a sender's clock, or its run's start, never shortens
/// it). Far above the transports' own timeouts, so a live sender always
/// finishes inside its lease.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The first attempt, then retries after 15, 30 and 60 minutes.
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::minutes(15),
    Duration::minutes(30),
    Duration::minutes(60),
];
pub const MAX_ATTEMPTS: i32 = RETRY_DELAYS.len() as i32 + 1;

/// The channels of alert events (PagerDuty, the webhook): machines on the
/// other end, which an outage of a few hours must not rob of an incident.
pub const EVENT_CHANNELS: [&str; 2] = ["pagerduty", "webhook"];
/// Their attempts: 15, 30, 60 minutes, then hourly, for about a day
/// (docs/decisions.md 82); e-mail and Slack keep four.
pub const EVENT_MAX_ATTEMPTS: i32 = 25;

#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub channel: String,
    pub subject: String,
    pub body: String,
    pub dedupe_key: String,
    /// Counting this one.
    pub attempts: i32,
    pub report_id: Option<i64>,
    /// The run sending it: only that run may settle it, while it holds its lease.
    pub held_by: Option<Uuid>,
}

/// Takes up to `limit` due rows of the given channels for `run`: pending ones
/// whose time has come (`now`, the run's advancing logical time, against
/// the retry schedule) and `sending` ones whose sender's lease ran out (on
/// the database's clock). The lowest
/// priority number goes first (report, critical, digest, bulk), so the per-run
/// cap is spent on what matters most and bulk mail waits, never the reverse.
/// A row with a `sequence_key` waits while an earlier row of the same key is
/// unsettled: a PagerDuty resolve never overtakes its trigger's retries.
pub async fn claim(
    pool: &PgPool,
    run: Uuid,
    now: DateTime<Utc>,
    channels: &[String],
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"
        WITH due AS (
            SELECT id FROM notifications
             WHERE channel = ANY($2)
               AND ((status = 'pending' AND next_attempt_at <= $1)
                 OR (status = 'sending' AND claimed_until <= now()))
               AND NOT EXISTS (SELECT 1 FROM notifications e
                                WHERE e.sequence_key = notifications.sequence_key
                                  AND e.id < notifications.id
                                  AND e.status IN ('pending', 'sending'))
             ORDER BY priority, next_attempt_at, id
             LIMIT $3
               FOR UPDATE SKIP LOCKED
        )
        UPDATE notifications n
           SET status = 'sending', claimed_until = now() + make_interval(secs => $4),
               attempts = n.attempts + 1, held_by = $5
          FROM due WHERE n.id = due.id
        RETURNING n.id, n.kind, n.recipient, n.channel, n.subject, n.body, n.dedupe_key,
                  n.attempts, n.report_id, n.held_by
        "#,
        now,
        channels,
        limit,
        LEASE.as_secs_f64(),
        run,
    )
    .fetch_all(pool)
    .await
}

/// Only the sender holding the claim (same attempt number, same run, the
/// run still holding its lease) may settle it; false when it lost it.
pub async fn mark_sent(
    pool: &PgPool,
    row: &Claimed,
    now: DateTime<Utc>,
    provider_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        UPDATE notifications n
           SET status = 'sent', sent_at = $3, claimed_until = NULL, held_by = NULL, last_error = NULL,
               provider_message_id = $4
         WHERE id = $1 AND attempts = $2 AND status = 'sending'
           AND held_by IS NOT DISTINCT FROM $5
           AND NOT EXISTS (SELECT 1 FROM job_history h WHERE h.id = n.held_by AND h.status <> 'running')
        "#,
        row.id,
        row.attempts,
        now,
        provider_id,
        row.held_by,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub enum Failure<'a> {
    Retry {
        error: &'a str,
        retry_after: Option<std::time::Duration>,
    },
    Permanent {
        error: &'a str,
    },
}

/// Outcome of a failed attempt: `Some(next attempt)` or `None` when dead.
pub async fn mark_failed(
    pool: &PgPool,
    row: &Claimed,
    now: DateTime<Utc>,
    failure: Failure<'_>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let (error, next) = match failure {
        Failure::Permanent { error } => (error, None),
        Failure::Retry { error, retry_after } => (
            error,
            next_attempt_on(&row.channel, now, row.attempts, retry_after),
        ),
    };
    let error: String = error.chars().take(1000).collect();
    sqlx::query!(
        r#"
        UPDATE notifications n
           SET status = CASE WHEN $4::timestamptz IS NULL THEN 'dead' ELSE 'pending' END,
               next_attempt_at = coalesce($4, next_attempt_at),
               claimed_until = NULL, held_by = NULL, last_error = $3
         WHERE id = $1 AND attempts = $2 AND status = 'sending'
           AND held_by IS NOT DISTINCT FROM $5
           AND NOT EXISTS (SELECT 1 FROM job_history h WHERE h.id = n.held_by AND h.status <> 'running')
        "#,
        row.id,
        row.attempts,
        error,
        next,
        row.held_by,
    )
    .execute(pool)
    .await?;
    Ok(next)
}

/// 15, 30, 60 minutes after the 1st, 2nd, 3rd failure (or the provider's
/// Retry-After when longer); `None` once every attempt is used.
pub fn next_attempt(
    now: DateTime<Utc>,
    attempts: i32,
    retry_after: Option<std::time::Duration>,
) -> Option<DateTime<Utc>> {
    let delay = *RETRY_DELAYS.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let hint = retry_after
        .and_then(|d| Duration::from_std(d).ok())
        .unwrap_or(Duration::zero());
    Some(now + delay.max(hint))
}

/// As `next_attempt`, on the channel's own schedule: alert events keep
/// trying hourly after the third failure, up to `EVENT_MAX_ATTEMPTS`.
pub fn next_attempt_on(
    channel: &str,
    now: DateTime<Utc>,
    attempts: i32,
    retry_after: Option<std::time::Duration>,
) -> Option<DateTime<Utc>> {
    if !EVENT_CHANNELS.contains(&channel) {
        return next_attempt(now, attempts, retry_after);
    }
    if !(1..EVENT_MAX_ATTEMPTS).contains(&attempts) {
        return None;
    }
    let last = RETRY_DELAYS.len() as i32;
    next_attempt(now, attempts.min(last), retry_after)
}

/// Dead rows and the newest reason, for the alert that tells a person.
pub async fn dead_summary(pool: &PgPool) -> Result<(i64, Option<String>), sqlx::Error> {
    let row = sqlx::query!(
        r#"
        SELECT count(*) AS "n!",
               (SELECT format('%s to %s: %s', kind, channel, last_error) FROM notifications
                 WHERE status = 'dead' ORDER BY id DESC LIMIT 1) AS last
          FROM notifications WHERE status = 'dead'
        "#
    )
    .fetch_one(pool)
    .await?;
    Ok((row.n, row.last))
}

/// Rows waiting for a channel nobody configured.
/// Back to pending as if never claimed: the attempt is given back and the
/// row stays due. For a refusal that was no fault of the message.
pub async fn release(pool: &PgPool, row: &Claimed, error: &str) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(1000).collect();
    sqlx::query!(
        r#"
        UPDATE notifications n
           SET status = 'pending', claimed_until = NULL, held_by = NULL, attempts = attempts - 1,
               last_error = $3
         WHERE id = $1 AND attempts = $2 AND status = 'sending'
           AND held_by IS NOT DISTINCT FROM $4
           AND NOT EXISTS (SELECT 1 FROM job_history h WHERE h.id = n.held_by AND h.status <> 'running')
        "#,
        row.id,
        row.attempts,
        error,
        row.held_by,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn stranded(pool: &PgPool, channels: &[String]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM notifications
            WHERE status = 'pending' AND NOT (channel = ANY($1))"#,
        channels,
    )
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_then_stop() {
        let now = Utc::now();
        let mins = |a| next_attempt(now, a, None).map(|t| (t - now).num_minutes());
        assert_eq!(
            [mins(1), mins(2), mins(3), mins(4)],
            [Some(15), Some(30), Some(60), None]
        );
        let hinted = next_attempt(now, 1, Some(std::time::Duration::from_secs(3600))).unwrap();
        assert_eq!((hinted - now).num_minutes(), 60);
        assert_eq!(next_attempt(now, 0, None), None);
    }

    #[test]
    fn alert_events_keep_trying_for_about_a_day() {
        let now = Utc::now();
        let mins = |c, a| next_attempt_on(c, now, a, None).map(|t| (t - now).num_minutes());
        assert_eq!(mins("email", 4), None);
        assert_eq!(mins("slack", 3), Some(60));
        assert_eq!(
            [mins("webhook", 1), mins("webhook", 3), mins("pagerduty", 4)],
            [Some(15), Some(60), Some(60)]
        );
        assert_eq!(mins("pagerduty", EVENT_MAX_ATTEMPTS - 1), Some(60));
        assert_eq!(mins("pagerduty", EVENT_MAX_ATTEMPTS), None);
        // 15 + 30 + 22 × 60 minutes (22 h 45 min) between the 25 attempts.
        let total: i64 = (1..EVENT_MAX_ATTEMPTS)
            .map(|a| mins("webhook", a).unwrap())
            .sum();
        assert_eq!(total, 15 + 30 + 22 * 60);
    }
}

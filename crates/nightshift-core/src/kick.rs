//! The heartbeat: starts due follow-ups and catch-ups by calling the
//! routes' own URL (`BASE_URL`, or the local server's), with the secret, as
//! the platform would. It runs at the end of every claimed run, so the
//! hourly cron is the heartbeat on Vercel and Lambda, and each minute in
//! `nightshift serve` (crates/nightshift-http/src/scheduler.rs). No extra
//! infrastructure: the ledger says what is due (docs/architecture.md §5).

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use uuid::Uuid;

use crate::app::App;
use crate::follow_up::{CATCH_UP_GRACE, Missed, RESEND_AFTER_SECS};

/// How a self-call introduces itself in the log and the run's metadata.
pub const USER_AGENT: &str = concat!("nightshift-heartbeat/", env!("CARGO_PKG_VERSION"));

/// One call the heartbeat made.
#[derive(Debug)]
pub struct Kicked {
    pub route: &'static str,
    pub query: String,
    /// The HTTP status and outcome when the call answered within the wait;
    /// None when it was left running (the normal case on a platform).
    pub answer: Option<(u16, String)>,
}

/// Starts what is due. Errors are logged, never returned: the heartbeat
/// must not fail the run that carries it.
pub async fn kick(app: &App) -> Vec<Kicked> {
    let Some(base) = app.self_url() else {
        tracing::debug!("no BASE_URL: follow-ups wait for one to be configured");
        return Vec::new();
    };
    let Some(secret) = app.cfg.cron_secret.as_ref() else {
        return Vec::new();
    };
    let Ok(pool) = app.db.ledger() else {
        return Vec::new();
    };
    let calls = match due_calls(app, pool).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat: could not read due follow-ups");
            return Vec::new();
        }
    };
    let sends = calls.into_iter().map(|(route, query)| {
        // The warm container's client (no redirects), with the heartbeat's
        // own wait and name.
        let req = app
            .http
            .post(format!("{}{route}?{query}", base.trim_end_matches('/')))
            .timeout(app.follow_up_wait)
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .bearer_auth(secret.expose_secret());
        async move {
            let answer = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body: serde_json::Value = resp.json().await.unwrap_or_default();
                    Some((status, body["outcome"].as_str().unwrap_or("?").to_owned()))
                }
                // Timed out waiting: the call goes on without us (a route
                // keeps running when its caller hangs up; route.rs).
                Err(e) if e.is_timeout() => None,
                Err(e) => {
                    tracing::warn!(route, error = %e.without_url(), "heartbeat call failed; asked again later");
                    Some((0, "unreachable".to_owned()))
                }
            };
            tracing::info!(route, %query, answer = ?answer, "heartbeat call");
            Kicked {
                route,
                query,
                answer,
            }
        }
    });
    join_all(sends).await
}

/// The calls to make now: each due follow-up (marked as asked for, so two
/// heartbeats do not both ask), and each route's catch-up.
async fn due_calls(app: &App, pool: &PgPool) -> Result<Vec<(&'static str, String)>, sqlx::Error> {
    let now = app.clock.now();
    let mut calls = Vec::new();
    // Due and marked asked-for in one statement; SKIP LOCKED keeps a
    // concurrent heartbeat off the same rows.
    let due = sqlx::query!(
        r#"UPDATE job_history SET follow_up_sent_at = now()
            WHERE id IN (
                SELECT id FROM job_history h
                 WHERE follow_up IS NOT NULL AND followed_by IS NULL AND follow_up_at <= now()
                   AND slot IS NOT NULL
                   AND (follow_up_sent_at IS NULL OR follow_up_sent_at < now() - make_interval(secs => $1))
                   AND NOT EXISTS (SELECT 1 FROM job_pauses p WHERE p.job_type = h.job_type)
                 ORDER BY follow_up_at LIMIT 10
                   FOR UPDATE SKIP LOCKED)
        RETURNING id, job_type, slot AS "slot!""#,
        RESEND_AFTER_SECS,
    )
    .fetch_all(pool)
    .await?;
    for run in due {
        let Some(route) = app.routes.iter().find(|r| r.spec.job_type == run.job_type) else {
            continue;
        };
        let period_end = route.spec.schedule.next_after(run.slot);
        if period_end.is_none_or(|end| now >= end) {
            expire(pool, run.id, now).await?;
        } else {
            calls.push((route.spec.path, format!("follow_up={}", run.id)));
        }
    }
    for route in &app.routes {
        let Missed::CatchUp { window } = route.spec.slots.missed else {
            continue;
        };
        let slot = route.spec.schedule.slot_at(now);
        let age = now - slot;
        let window = chrono::Duration::from_std(window).unwrap_or_default();
        // A delivery the platform delays on purpose is not missed yet.
        let jitter = chrono::Duration::from_std(route.spec.schedule.jitter()).unwrap_or_default();
        if age < CATCH_UP_GRACE + jitter || age > window {
            continue;
        }
        if missed(pool, route.spec.job_type, slot).await? {
            // `Z`, never `+`: nothing in it needs escaping in a query.
            let slot = slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            calls.push((route.spec.path, format!("catch_up={slot}")));
        }
    }
    Ok(calls)
}

/// The slot has no run at all, the job is not paused, and the deployment
/// was alive before it (a fresh deployment does not replay its past).
async fn missed(pool: &PgPool, job_type: &str, slot: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT NOT EXISTS (SELECT 1 FROM job_history WHERE job_type = $1 AND slot = $2)
              AND NOT EXISTS (SELECT 1 FROM job_pauses WHERE job_type = $1)
              AND EXISTS (SELECT 1 FROM job_history WHERE started_at < $2) AS "missed!""#,
        job_type,
        slot,
    )
    .fetch_one(pool)
    .await
}

/// A follow-up whose period ended before it could start: the next slot
/// takes the work over. Written down, not silently dropped.
async fn expire(pool: &PgPool, run: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"WITH gone AS (
               UPDATE job_history SET follow_up = NULL, follow_up_at = NULL
                WHERE id = $1 AND followed_by IS NULL AND follow_up IS NOT NULL
            RETURNING id, job_type)
           INSERT INTO sync_events (job_id, event_type, source, status, message, details, created_at)
           SELECT id, 'follow_up_expired', 'ledger', 'warning',
                  'the slot''s period ended before its follow-up started; the next slot takes over',
                  jsonb_build_object('job_type', job_type), $2
             FROM gone"#,
        run,
        now,
    )
    .execute(pool)
    .await?;
    Ok(())
}

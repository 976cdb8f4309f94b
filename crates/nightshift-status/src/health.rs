//! `GET /api/health`: is the system working? For uptime monitors and load
//! balancers, so no auth and one word. It looks at the machinery only (the
//! jobs, the database, the outbox, the work queue, follow-ups the heartbeat
//! does not start); business findings (a bug
//! past its SLA, revenue at risk) stay on the status page and in
//! `health_check`'s report and never turn it into 503 (docs/architecture.md §5).
//! One statement answers it, and the verdict is kept a few seconds per
//! process, so a monitor polling every second costs one query per 5 s.

use std::sync::{Arc, Mutex};

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use http::{Method, StatusCode, header};
use nightshift_core::{App, HandleError, RouteSpec};
use sqlx::PgPool;

/// How long one verdict answers, on the app's clock.
pub const CACHE_FOR: Duration = Duration::seconds(5);
/// A job is down once it has not completed for two periods and this.
const GRACE: Duration = Duration::minutes(15);
/// A due notification older than this, or a queue item older than a day,
/// is work the system is not getting through.
const OUTBOX_LAG: Duration = Duration::hours(1);
const QUEUE_AGE: Duration = Duration::days(1);
/// A follow-up (retry, continuation) due longer than the gap between two
/// hourly heartbeats and not started: the heartbeat cannot reach the routes
/// (BASE_URL unset or wrong; crates/nightshift-core/src/kick.rs).
const FOLLOW_UP_LAG_SECS: f64 = 75.0 * 60.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 200 `ok`.
    Ok,
    /// 200 `degraded`: something to look at; the jobs run.
    Degraded,
    /// 503 `critical`: the database is unreachable or a job stopped running.
    Critical,
}

#[derive(Default)]
pub struct Cache(Mutex<Option<(DateTime<Utc>, Verdict)>>);

impl Cache {
    fn get(&self, now: DateTime<Utc>) -> Option<Verdict> {
        let slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.filter(|(at, _)| *at <= now && now - *at < CACHE_FOR)
            .map(|(_, v)| v)
    }

    fn put(&self, now: DateTime<Utc>, v: Verdict) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, v));
    }
}

pub async fn answer(app: Arc<App>, cache: &Cache, method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return HandleError::MethodNotAllowed("GET, HEAD").into_response();
    }
    let now = app.clock.now();
    let verdict = match cache.get(now) {
        Some(v) => v,
        None => {
            let v = match app.db.ready().await {
                Ok(pool) => assess(pool, &app.specs(), now).await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "health: the database did not answer");
                    Verdict::Critical
                }),
                Err(e) => {
                    tracing::error!(error = %e, "health: database not ready");
                    Verdict::Critical
                }
            };
            cache.put(now, v);
            v
        }
    };
    let (code, word) = match verdict {
        Verdict::Ok => (StatusCode::OK, "ok"),
        Verdict::Degraded => (StatusCode::OK, "degraded"),
        Verdict::Critical => (StatusCode::SERVICE_UNAVAILABLE, "critical"),
    };
    (
        code,
        [(header::CACHE_CONTROL, "no-store")],
        format!("{word}\n"),
    )
        .into_response()
}

struct Row {
    job_type: String,
    last_completed: Option<DateTime<Utc>>,
    last_status: Option<String>,
    stuck: i64,
    first_seen: Option<DateTime<Utc>>,
    outbox_dead: i64,
    outbox_oldest_due: Option<DateTime<Utc>>,
    queue_old: i64,
    follow_ups_overdue: i64,
}

/// The verdict from one statement: a row per job, the system-wide counts
/// repeated on each. Leases are judged on the database's clock.
pub async fn assess(
    pool: &PgPool,
    routes: &[RouteSpec],
    now: DateTime<Utc>,
) -> Result<Verdict, sqlx::Error> {
    let jobs: Vec<String> = routes.iter().map(|r| r.job_type.to_owned()).collect();
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT j.job_type AS "job_type!",
                (SELECT max(started_at) FROM job_history h
                  WHERE h.job_type = j.job_type AND h.status = 'completed') AS last_completed,
                (SELECT h.status FROM job_history h
                  WHERE h.job_type = j.job_type AND h.status IN ('completed', 'failed', 'timeout')
                  ORDER BY h.started_at DESC LIMIT 1) AS last_status,
                (SELECT count(*) FROM job_history h
                  WHERE h.job_type = j.job_type AND h.status = 'running'
                    AND h.lease_expires_at < now()) AS "stuck!",
                (SELECT min(started_at) FROM job_history) AS first_seen,
                (SELECT count(*) FROM notifications WHERE status = 'dead') AS "outbox_dead!",
                (SELECT min(next_attempt_at) FROM notifications WHERE status = 'pending') AS outbox_oldest_due,
                (SELECT count(*) FROM work_queue
                  WHERE status IN ('pending', 'running') AND enqueued_at < $2) AS "queue_old!",
                (SELECT count(*) FROM job_history h
                  WHERE h.job_type = j.job_type AND h.follow_up IS NOT NULL
                    AND h.followed_by IS NULL
                    AND h.follow_up_at < now() - make_interval(secs => $3)) AS "follow_ups_overdue!"
           FROM unnest($1::text[]) AS j(job_type)"#,
        &jobs,
        now - QUEUE_AGE,
        FOLLOW_UP_LAG_SECS,
    )
    .fetch_all(pool)
    .await?;
    let mut verdict = Verdict::Ok;
    for row in &rows {
        let spec = routes.iter().find(|r| r.job_type == row.job_type);
        let period = spec.map_or(Duration::days(1), |s| s.schedule.period_at(now));
        let down_after = period * 2 + GRACE;
        let down = match row.last_completed {
            Some(last) => now - last > down_after,
            None => false,
        };
        let never =
            row.last_completed.is_none() && row.first_seen.is_some_and(|f| now - f > down_after);
        let v = if down {
            Verdict::Critical
        } else if never
            || row.stuck > 0
            || matches!(row.last_status.as_deref(), Some("failed" | "timeout"))
            || row.outbox_dead > 0
            || row.outbox_oldest_due.is_some_and(|d| now - d > OUTBOX_LAG)
            || row.queue_old > 0
            || row.follow_ups_overdue > 0
        {
            Verdict::Degraded
        } else {
            Verdict::Ok
        };
        verdict = worst(verdict, v);
    }
    Ok(verdict)
}

fn worst(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v| match v {
        Verdict::Ok => 0,
        Verdict::Degraded => 1,
        Verdict::Critical => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

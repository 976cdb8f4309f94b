//! What `GET /api/metrics` reports, read from the database at scrape time
//! (a serverless function keeps no counters between calls): five
//! statements, each an aggregate or a few index probes per job, so a scrape
//! stays cheap at any history size (scripts/bench metrics measures it).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use nightshift_core::RouteSpec;
use nightshift_tasks::hourly::missed_slots;
use sqlx::PgPool;

/// The outcomes a finished run can have (docs/architecture.md §3).
pub const OUTCOMES: [&str; 3] = ["completed", "failed", "timeout"];
/// How many of a job's latest runs are searched for each task's last
/// outcome: a task missing from the newest run (a `tasks=` subset, a
/// continuation that started later in the list) is found in an older one.
const TASK_RUNS: i64 = 50;

#[derive(Debug, Default)]
pub struct Facts {
    pub jobs: HashMap<String, Job>,
    /// (job type, task) -> the task's newest recorded outcome.
    pub tasks: Vec<TaskLast>,
    /// (family, first label, second label) -> value; see `system`.
    pub system: Vec<(String, String, String, f64)>,
}

#[derive(Debug, Default)]
pub struct Job {
    pub runs_24h: HashMap<String, i64>,
    pub runs_7d: HashMap<String, i64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub last: Option<Last>,
    pub missed_7d: usize,
}

#[derive(Debug, sqlx::FromRow)]
pub struct Last {
    pub job_type: String,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    pub last_attempt: Option<i32>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub retries_pending: i64,
    pub continuations_pending: i64,
    pub running: bool,
    pub paused: bool,
}

#[derive(Debug, sqlx::FromRow)]
pub struct TaskLast {
    pub job_type: String,
    pub task: String,
    pub outcome: String,
    pub duration_ms: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct Window {
    job_type: String,
    /// NULL on the per-job row of the grouping sets.
    status: Option<String>,
    n_24h: i64,
    n_7d: i64,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    max_ms: Option<f64>,
}

pub async fn collect(
    pool: &PgPool,
    routes: &[RouteSpec],
    now: DateTime<Utc>,
) -> Result<Facts, sqlx::Error> {
    let job_types: Vec<&str> = routes.iter().map(|r| r.job_type).collect();
    let mut facts = Facts::default();
    // 1. The windows: runs per outcome (24 h, 7 d) and the 7 d durations,
    // through job_history_started.
    let windows: Vec<Window> = sqlx::query_as(
        "SELECT job_type, status,
                count(*) FILTER (WHERE started_at > $2) AS n_24h,
                count(*) AS n_7d,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY execution_time_ms) AS p50_ms,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY execution_time_ms) AS p95_ms,
                max(execution_time_ms)::float8 AS max_ms
           FROM job_history
          WHERE started_at > $1 AND started_at <= $3
            AND status IN ('completed', 'failed', 'timeout')
          GROUP BY GROUPING SETS ((job_type, status), (job_type))",
    )
    .bind(now - Duration::days(7))
    .bind(now - Duration::hours(24))
    .bind(now)
    .fetch_all(pool)
    .await?;
    for w in windows {
        let job = facts.jobs.entry(w.job_type).or_default();
        match w.status {
            Some(s) => {
                job.runs_24h.insert(s.clone(), w.n_24h);
                job.runs_7d.insert(s, w.n_7d);
            }
            None => (job.p50_ms, job.p95_ms, job.max_ms) = (w.p50_ms, w.p95_ms, w.max_ms),
        }
    }
    // 2. Per job, a few index probes (job_history_type_started, the
    // follow-ups' partial index, the running row's, the pause's key).
    let lasts: Vec<Last> = sqlx::query_as(
        "SELECT j.job_type, last.started_at AS last_run_at, last.status AS last_outcome,
                last.attempt AS last_attempt, ok.completed_at AS last_success_at,
                fu.retries AS retries_pending, fu.continuations AS continuations_pending,
                EXISTS (SELECT 1 FROM job_history r
                         WHERE r.job_type = j.job_type AND r.status = 'running') AS running,
                EXISTS (SELECT 1 FROM job_pauses p WHERE p.job_type = j.job_type) AS paused
           FROM unnest($1::text[]) AS j(job_type)
           LEFT JOIN LATERAL (
                SELECT started_at, status, attempt FROM job_history h
                 WHERE h.job_type = j.job_type AND h.status IN ('completed', 'failed', 'timeout')
                   AND h.started_at <= $2
                 ORDER BY h.started_at DESC LIMIT 1) last ON true
           LEFT JOIN LATERAL (
                SELECT completed_at FROM job_history h
                 WHERE h.job_type = j.job_type AND h.status = 'completed' AND h.started_at <= $2
                 ORDER BY h.started_at DESC LIMIT 1) ok ON true
           CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE follow_up = 'retry') AS retries,
                       count(*) FILTER (WHERE follow_up = 'continuation') AS continuations
                  FROM job_history f
                 WHERE f.job_type = j.job_type AND f.follow_up IS NOT NULL
                   AND f.followed_by IS NULL) fu",
    )
    .bind(&job_types)
    .bind(now)
    .fetch_all(pool)
    .await?;
    for last in lasts {
        let job_type = last.job_type.clone();
        facts.jobs.entry(job_type).or_default().last = Some(last);
    }
    // 3. Missed slots: the definition watch_jobs alerts on.
    let recorded = missed_slots::recorded(pool, now).await?;
    for spec in routes {
        facts
            .jobs
            .entry(spec.job_type.to_owned())
            .or_default()
            .missed_7d = recorded.missed(spec, now).len();
    }
    // 4. Each task's newest outcome, from the runs' `result.tasks`
    // (crates/nightshift-core/src/invoke/execute.rs writes it).
    facts.tasks = sqlx::query_as(
        "SELECT DISTINCT ON (h.job_type, t->>'name')
                h.job_type, t->>'name' AS task, t->>'status' AS outcome,
                (t->>'duration_ms')::float8 AS duration_ms
           FROM unnest($1::text[]) AS j(job_type)
          CROSS JOIN LATERAL (
                SELECT job_type, started_at, result FROM job_history h
                 WHERE h.job_type = j.job_type AND h.result IS NOT NULL AND h.started_at <= $2
                 ORDER BY h.started_at DESC LIMIT $3) h
          CROSS JOIN LATERAL jsonb_array_elements(
                CASE jsonb_typeof(h.result->'tasks') WHEN 'array' THEN h.result->'tasks'
                     ELSE '[]'::jsonb END) t
          WHERE t->>'name' IS NOT NULL AND t->>'status' IS NOT NULL
          ORDER BY h.job_type, t->>'name', h.started_at DESC",
    )
    .bind(&job_types)
    .bind(now)
    .bind(TASK_RUNS)
    .fetch_all(pool)
    .await?;
    // 5. The outbox, the work queue and the open alerts, each through its
    // partial indexes on live rows: sent and done rows, nearly all of them,
    // are never read. One scan per outbox status, as `status IN (…)` matches
    // none of the three partial indexes and reads the whole table instead
    // (30 ms against 0.2 ms at 50k sent rows; scripts/bench metrics).
    facts.system = sqlx::query_as(
        "WITH live AS (
             SELECT channel, status, attempts, created_at FROM notifications WHERE status = 'pending'
             UNION ALL
             SELECT channel, status, attempts, created_at FROM notifications WHERE status = 'sending'
             UNION ALL
             SELECT channel, status, attempts, created_at FROM notifications WHERE status = 'dead')
         SELECT 'outbox', channel,
                CASE WHEN status = 'pending' AND attempts > 0 THEN 'retrying' ELSE status END,
                count(*)::float8
           FROM live GROUP BY 2, 3
         UNION ALL
         SELECT 'outbox_oldest', channel, '', extract(epoch FROM $1 - min(created_at))::float8
           FROM live WHERE status <> 'dead' GROUP BY 2
         UNION ALL
         SELECT 'queue', '', status, count(*)::float8
           FROM work_queue WHERE status IN ('pending', 'running') GROUP BY 3
         UNION ALL
         SELECT 'queue_oldest', '', '', extract(epoch FROM $1 - min(enqueued_at))::float8
           FROM work_queue WHERE status IN ('pending', 'running') HAVING count(*) > 0
         UNION ALL
         SELECT 'alerts', severity, '', count(*)::float8
           FROM alerts WHERE status = 'open' GROUP BY 2",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(facts)
}

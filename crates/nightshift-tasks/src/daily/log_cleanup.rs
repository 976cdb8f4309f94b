//! `log_cleanup`: every day, sync events older than LOG_RETENTION_DAYS move
//! to `sync_events_archive`, and finished runs older than that to
//! `job_history_archive`, except each job type's newest 1 000 runs, which
//! stay live whatever their age (the status page's history of a job that
//! runs rarely). Each batch is one statement (DELETE ... RETURNING feeding
//! INSERT), so a kill between batches or inside one loses nothing and copies
//! nothing twice. The weekly `archive` keeps its own caps; this task only
//! bounds the live tables by age, so the daily export stays small.

use std::time::{Duration, Instant};

use crate::TasksConfig;
use anyhow::Context;
use chrono::{DateTime, Utc};
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;
use sqlx::PgPool;

pub struct LogCleanup {
    /// Runs of one job type that stay live however old.
    pub keep_runs_per_job: i64,
    pub batch_size: i64,
}

impl Default for LogCleanup {
    fn default() -> Self {
        Self {
            keep_runs_per_job: 1000,
            batch_size: 1000,
        }
    }
}

#[async_trait::async_trait]
impl Task<TasksConfig> for LogCleanup {
    fn name(&self) -> &'static str {
        "log_cleanup"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let before = ctx.now - chrono::Duration::days(ctx.env.log_retention_days);
        let mut moved = [0i64; 2];
        let mut batches = 0usize;
        let mut slowest = Duration::ZERO;
        let mut more_work = false;
        // Events first, as in `archive`: a run is never archived before the
        // events that explain it.
        'steps: for (step, done) in moved.iter_mut().enumerate() {
            loop {
                if !ctx.has_time_for(slowest * 2) {
                    more_work = true;
                    break 'steps;
                }
                let started = Instant::now();
                let n = if step == 0 {
                    move_events(&ctx.pool, before, self.batch_size).await
                } else {
                    move_runs(&ctx.pool, before, self.keep_runs_per_job, self.batch_size).await
                }
                .with_context(|| format!("log cleanup step {step}"))?;
                slowest = slowest.max(started.elapsed());
                *done += n;
                batches += 1;
                if n < self.batch_size {
                    break;
                }
            }
        }
        Ok(TaskReport {
            records_processed: moved.iter().sum(),
            more_work,
            out_of_time: more_work,
            details: json!({
                "sync_events_archived": moved[0],
                "job_history_archived": moved[1],
                "older_than": before,
                "batches": batches,
                "slowest_batch_ms": slowest.as_millis() as u64,
            }),
            ..TaskReport::default()
        })
    }
}

/// SKIP LOCKED lets a concurrent `archive` share the rows instead of waiting.
async fn move_events(pool: &PgPool, before: DateTime<Utc>, limit: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"
        WITH moved AS (
            DELETE FROM sync_events
             WHERE id IN (SELECT id FROM sync_events WHERE created_at < $1
                           ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *
        ), archived AS (
            INSERT INTO sync_events_archive SELECT * FROM moved RETURNING 1
        )
        SELECT count(*) AS "n!" FROM archived
        "#,
        before,
        limit,
    )
    .fetch_one(pool)
    .await
}

/// Finished runs started before `before` and older than their job type's
/// `keep`-th newest run (ties with it stay: at least `keep` remain).
async fn move_runs(
    pool: &PgPool,
    before: DateTime<Utc>,
    keep: i64,
    limit: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"
        WITH moved AS (
            DELETE FROM job_history
             WHERE id IN (
                SELECT h.id FROM job_history h
                 WHERE h.started_at < $1
                   AND h.status IN ('completed', 'failed', 'timeout')
                   AND h.started_at < (SELECT k.started_at FROM job_history k
                                        WHERE k.job_type = h.job_type
                                        ORDER BY k.started_at DESC OFFSET $2 LIMIT 1)
                 ORDER BY h.started_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING *
        ), archived AS (
            INSERT INTO job_history_archive SELECT * FROM moved RETURNING 1
        )
        SELECT count(*) AS "n!" FROM archived
        "#,
        before,
        (keep - 1).max(0),
        limit,
    )
    .fetch_one(pool)
    .await
}

//! `archive`: the live ledger keeps the newest 10 000 sync events, the newest
//! 1 000 runs, and every GitHub import event younger than 90 days; the rest
//! moves to the archive tables. Each batch is one statement (DELETE ...
//! RETURNING feeding INSERT), so a kill between batches, or inside one, loses
//! nothing and copies nothing twice. Archived rows older than
//! ARCHIVE_RETENTION_DAYS are deleted for good, in batches too.

use std::time::{Duration, Instant};

use crate::TasksConfig;
use anyhow::Context;
use chrono::{DateTime, Utc};
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;
use sqlx::PgPool;

pub struct Archive {
    pub keep_events: i64,
    pub keep_runs: i64,
    /// Import logs (events of `github_sync`) younger than this stay live
    /// whatever their rank: they explain what the dashboard shows.
    pub keep_imports: chrono::Duration,
    pub batch_size: i64,
    /// Batches per run, all steps together; `usize::MAX` in production,
    /// where only the deadline stops a run.
    pub max_batches: usize,
}

impl Default for Archive {
    fn default() -> Self {
        Self {
            keep_events: 10_000,
            keep_runs: 1_000,
            keep_imports: chrono::Duration::days(90),
            batch_size: 1000,
            max_batches: usize::MAX,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    MoveEvents,
    MoveRuns,
    PurgeEvents,
    PurgeRuns,
}

const STEPS: [Step; 4] = [
    // Events first: their runs are archived after them, never before.
    Step::MoveEvents,
    Step::MoveRuns,
    Step::PurgeEvents,
    Step::PurgeRuns,
];

#[async_trait::async_trait]
impl Task<TasksConfig> for Archive {
    fn name(&self) -> &'static str {
        "archive"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let bounds = Bounds {
            event_id: nth_newest_event(&ctx.pool, self.keep_events).await?,
            run_started: nth_newest_run(&ctx.pool, self.keep_runs).await?,
            imports_since: ctx.now - self.keep_imports,
            purge_before: ctx.now - chrono::Duration::days(ctx.env.archive_retention_days),
        };
        let mut done = [0i64; 4];
        let mut batches = 0usize;
        // Batches that found work: an empty one ends its step, it does not
        // use up a run's allowance.
        let mut productive = 0usize;
        let mut slowest = Duration::ZERO;
        let mut more_work = false;
        let mut out_of_time = false;
        'steps: for (i, step) in STEPS.into_iter().enumerate() {
            loop {
                if productive >= self.max_batches || !ctx.has_time_for(slowest * 2) {
                    more_work = true;
                    out_of_time = productive < self.max_batches;
                    break 'steps;
                }
                let started = Instant::now();
                let n = step
                    .batch(&ctx.pool, &bounds, self.batch_size)
                    .await
                    .with_context(|| format!("archive step {step:?}"))?;
                slowest = slowest.max(started.elapsed());
                done[i] += n;
                batches += 1;
                productive += usize::from(n > 0);
                if n < self.batch_size {
                    break;
                }
            }
        }
        Ok(TaskReport {
            records_processed: done.iter().sum(),
            more_work,
            out_of_time,
            details: json!({
                "sync_events_archived": done[0],
                "job_history_archived": done[1],
                "sync_events_purged": done[2],
                "job_history_purged": done[3],
                "purged_before": bounds.purge_before,
                "batches": batches,
                "slowest_batch_ms": slowest.as_millis() as u64,
            }),
            ..TaskReport::default()
        })
    }
}

struct Bounds {
    /// Events with a smaller id than this are beyond the newest N.
    event_id: Option<i64>,
    run_started: Option<DateTime<Utc>>,
    imports_since: DateTime<Utc>,
    purge_before: DateTime<Utc>,
}

/// The id of the N-th newest event; `None` when there are no more than N.
async fn nth_newest_event(pool: &PgPool, n: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM sync_events ORDER BY id DESC OFFSET $1 LIMIT 1",
        (n - 1).max(0)
    )
    .fetch_optional(pool)
    .await
}

async fn nth_newest_run(pool: &PgPool, n: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        "SELECT started_at FROM job_history ORDER BY started_at DESC OFFSET $1 LIMIT 1",
        (n - 1).max(0)
    )
    .fetch_optional(pool)
    .await
}

impl Step {
    /// SKIP LOCKED lets two archivers share the work instead of queueing.
    async fn batch(self, pool: &PgPool, b: &Bounds, limit: i64) -> sqlx::Result<i64> {
        match self {
            Self::MoveEvents => {
                let Some(below) = b.event_id else {
                    return Ok(0);
                };
                sqlx::query_scalar!(
                    r#"
                    WITH moved AS (
                        DELETE FROM sync_events
                         WHERE id IN (SELECT id FROM sync_events
                                       WHERE id < $1
                                         AND NOT (source = 'github_sync' AND created_at >= $2)
                                       ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
                     RETURNING *
                    ), archived AS (
                        INSERT INTO sync_events_archive SELECT * FROM moved RETURNING 1
                    )
                    SELECT count(*) AS "n!" FROM archived
                    "#,
                    below,
                    b.imports_since,
                    limit,
                )
                .fetch_one(pool)
                .await
            }
            Self::MoveRuns => {
                let Some(before) = b.run_started else {
                    return Ok(0);
                };
                sqlx::query_scalar!(
                    r#"
                    WITH moved AS (
                        DELETE FROM job_history
                         WHERE id IN (SELECT id FROM job_history
                                       WHERE started_at < $1 AND status <> 'running'
                                       ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                     RETURNING *
                    ), archived AS (
                        INSERT INTO job_history_archive SELECT * FROM moved RETURNING 1
                    )
                    SELECT count(*) AS "n!" FROM archived
                    "#,
                    before,
                    limit,
                )
                .fetch_one(pool)
                .await
            }
            Self::PurgeEvents => sqlx::query!(
                "DELETE FROM sync_events_archive WHERE id IN (
                         SELECT id FROM sync_events_archive WHERE created_at < $1
                          ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                b.purge_before,
                limit,
            )
            .execute(pool)
            .await
            .map(|r| r.rows_affected() as i64),
            Self::PurgeRuns => sqlx::query!(
                "DELETE FROM job_history_archive WHERE id IN (
                         SELECT id FROM job_history_archive WHERE started_at < $1
                          ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                b.purge_before,
                limit,
            )
            .execute(pool)
            .await
            .map(|r| r.rows_affected() as i64),
        }
    }
}

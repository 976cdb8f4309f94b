//! `prune_history`: ledger rows older than the retention move to the archive
//! tables. Each batch is one statement (DELETE ... RETURNING feeding INSERT), so
//! a kill between batches, or inside one, loses nothing and copies nothing twice.

use std::time::{Duration, Instant};

use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;
use sqlx::PgPool;

pub struct PruneHistory {
    pub retention: chrono::Duration,
    pub batch_size: i64,
}

impl Default for PruneHistory {
    fn default() -> Self {
        Self {
            retention: chrono::Duration::days(30),
            batch_size: 1000,
        }
    }
}

#[async_trait::async_trait]
impl Task for PruneHistory {
    fn name(&self) -> &'static str {
        "prune_history"
    }

    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        let cutoff = ctx.now - self.retention;
        let mut moved = [0i64; 2];
        let mut batches = 0;
        let mut slowest = Duration::ZERO;
        let mut more_work = false;
        // Events first: their runs are archived after them, never before.
        for (i, table) in [Table::SyncEvents, Table::JobHistory]
            .into_iter()
            .enumerate()
        {
            loop {
                if !ctx.has_time_for(slowest * 2) {
                    more_work = true;
                    break;
                }
                let started = Instant::now();
                let n = table
                    .move_batch(&ctx.pool, cutoff, self.batch_size)
                    .await
                    .with_context(|| format!("archiving a batch of {}", table.name()))?;
                slowest = slowest.max(started.elapsed());
                moved[i] += n;
                batches += 1;
                if n < self.batch_size {
                    break;
                }
            }
            if more_work {
                break;
            }
        }
        Ok(TaskReport {
            records_processed: moved[0] + moved[1],
            more_work,
            details: json!({
                "cutoff": cutoff,
                "sync_events_archived": moved[0],
                "job_history_archived": moved[1],
                "batches": batches,
                "slowest_batch_ms": slowest.as_millis() as u64,
            }),
            ..TaskReport::default()
        })
    }
}

#[derive(Clone, Copy)]
enum Table {
    SyncEvents,
    JobHistory,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::SyncEvents => "sync_events",
            Self::JobHistory => "job_history",
        }
    }

    /// SKIP LOCKED lets two pruners share the work instead of queueing.
    async fn move_batch(
        self,
        pool: &PgPool,
        cutoff: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> sqlx::Result<i64> {
        match self {
            Self::SyncEvents => {
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
                    cutoff,
                    limit,
                )
                .fetch_one(pool)
                .await
            }
            Self::JobHistory => {
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
                    cutoff,
                    limit,
                )
                .fetch_one(pool)
                .await
            }
        }
    }
}

//! `github_sync`: every sync-enabled project's GitHub issues and pull requests.
//! The run enqueues one item per project; GITHUB_CONCURRENCY workers claim
//! items until the queue is empty or the deadline is near. Whatever is left
//! (deadline, rate limit) stays queued with its cursor, and the next invocation
//! — or a parallel one — continues it. Nothing unchanged is fetched twice:
//! page 1 goes out with its ETag and a 304 ends the repository's walk.

mod cursor;
mod mapping;
mod queue;
mod store;
mod walk;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::follow_up::FollowUpKind;
use nightshift_core::{EventStatus, Task, TaskContext, TaskEvent, TaskReport};
use nightshift_github::GitHub;
use serde_json::json;
use tokio::sync::Mutex;

pub use mapping::Mapping;
use walk::Outcome;

pub struct GithubSync;

#[derive(Default)]
struct Tally {
    synced: i64,
    pages: i64,
    not_modified: i64,
    paused: i64,
    /// Of `paused`, those stopped by the run's deadline (not a rate limit).
    out_of_time: i64,
    failed: i64,
    /// Of `failed`, those another attempt could fix.
    failed_transient: i64,
    bugs: i64,
    pull_requests: i64,
    not_bugs: i64,
    events: Vec<TaskEvent>,
}

#[async_trait::async_trait]
impl Task<TasksConfig> for GithubSync {
    fn name(&self) -> &'static str {
        "github_sync"
    }

    fn drains_queue(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let ctx = Arc::new(ctx.clone());
        let gh = GitHub::new(
            ctx.http.clone(),
            &ctx.env.github_api_url,
            ctx.env.github_token.clone(),
        )?;
        // Workers and continuations only drain: enqueueing again would put
        // back the projects the scheduled run and other workers already
        // finished, and sync them twice. A retry of the slot enqueues only
        // the projects whose last sync failed.
        let (queued, skipped) = match (ctx.worker, ctx.follow_up) {
            (true, _) | (_, Some(FollowUpKind::Continuation)) => (0, 0),
            (false, kind) => {
                let only_failed = kind == Some(FollowUpKind::Retry);
                queue::enqueue(&ctx.pool, ctx.now, only_failed)
                    .await
                    .context("enqueueing projects")?
            }
        };
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..ctx.env.github_concurrency {
            let (ctx, gh, tally, stop) = (ctx.clone(), gh.clone(), tally.clone(), stop.clone());
            workers.spawn(async move { worker(&ctx, &gh, &tally, &stop).await });
        }
        let mut fatal = None;
        while let Some(joined) = workers.join_next().await {
            if let Err(e) = joined.context("a sync worker crashed")? {
                stop.store(true, Ordering::SeqCst);
                fatal.get_or_insert(e);
            }
        }
        if let Some(e) = fatal {
            return Err(e);
        }
        let left = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM work_queue WHERE kind = 'github_sync' AND status IN ('pending', 'running')"#
        )
        .fetch_one(&ctx.pool)
        .await?;
        let t = std::mem::take(&mut *tally.lock().await);
        let warning = (t.failed > 0 || t.paused > 0).then(|| {
            format!(
                "{} repositories failed, {} paused (see events)",
                t.failed, t.paused
            )
        });
        Ok(TaskReport {
            records_processed: t.bugs + t.pull_requests,
            records_failed: t.failed,
            retryable_failures: t.failed_transient,
            more_work: left > 0,
            out_of_time: left > 0 && t.out_of_time > 0,
            warning,
            details: json!({
                "queued": queued, "skipped": skipped, "synced": t.synced, "pages": t.pages, "not_modified": t.not_modified,
                "paused": t.paused, "failed": t.failed, "bugs": t.bugs, "pull_requests": t.pull_requests,
                "not_bugs": t.not_bugs, "left_in_queue": left,
            }),
            events: t.events,
        })
    }
}

/// Claims and walks repositories until the queue is empty, the deadline is
/// near, or another worker hit something fatal.
async fn worker(
    ctx: &TaskContext<TasksConfig>,
    gh: &GitHub,
    tally: &Mutex<Tally>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mapping = Mapping::from_config(&ctx.env);
    let run = ctx.run_id;
    while !stop.load(Ordering::SeqCst) && ctx.has_time_for(std::time::Duration::from_secs(1)) {
        // The item outlives the run's deadline by two minutes, so a walk cut
        // off at the deadline still owns it while it puts it back.
        let lease = ctx.time_left() + std::time::Duration::from_secs(120);
        let Some(item) = queue::claim(&ctx.pool, run, ctx.clock.now(), lease)
            .await
            .context("claiming a project")?
        else {
            break;
        };
        let outcome = match walk::walk(ctx, gh, &mapping, &item).await {
            Ok(o) => o,
            Err(e) => {
                queue::release(&ctx.pool, run, item.id, None).await?;
                return Err(e);
            }
        };
        let mut t = tally.lock().await;
        let (stored, event, settled) = match outcome {
            Outcome::Done {
                stored,
                not_modified,
                pages,
            } => {
                t.pages += i64::from(pages);
                let settled = queue::finish(&ctx.pool, run, item.id, ctx.clock.now(), None).await?;
                t.synced += 1;
                t.not_modified += i64::from(not_modified);
                (stored, None, settled)
            }
            Outcome::Paused {
                not_before,
                reason,
                stored,
            } => {
                let settled = queue::release(&ctx.pool, run, item.id, not_before).await?;
                t.paused += 1;
                let deadline = reason == "deadline";
                t.out_of_time += i64::from(deadline);
                (
                    stored,
                    (!deadline).then(|| event(&item, EventStatus::Warning, "sync_paused", reason)),
                    settled,
                )
            }
            Outcome::Failed {
                error,
                transient,
                stored,
            } => {
                let now = ctx.clock.now();
                let settled = queue::finish(&ctx.pool, run, item.id, now, Some(&error)).await?;
                t.failed += 1;
                t.failed_transient += i64::from(transient);
                (
                    stored,
                    Some(event(&item, EventStatus::Warning, "sync_failed", error)),
                    settled,
                )
            }
        };
        if !settled {
            // The ledger swept this run (or another took the item): what it
            // held is someone else's now; stop rather than work on.
            stop.store(true, Ordering::SeqCst);
            anyhow::bail!(
                "the run lost its lease on {}; its queue writes were fenced",
                item.repo
            );
        }
        t.bugs += stored.bugs;
        t.pull_requests += stored.pull_requests;
        t.not_bugs += stored.not_bugs;
        t.events.extend(event);
    }
    Ok(())
}

fn event(item: &queue::Item, status: EventStatus, kind: &str, message: String) -> TaskEvent {
    TaskEvent {
        event_type: kind.into(),
        status,
        message: format!("{}: {message}", item.repo),
        details: json!({ "project_id": item.project_id, "repo": item.repo }),
    }
}

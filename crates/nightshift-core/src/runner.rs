//! Runs a route's task list inside the budget. Each task runs in its own tokio
//! task (a panic stays there), under a hard timeout, with retries for
//! transient errors, and leaves a sync_events row behind as soon as it ends,
//! so a crash later in the run loses nothing that already happened.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::Config;
use crate::ledger::{self, NewEvent};
use crate::report::{EventStatus, TaskEvent, TaskOutcome, TaskReport, TaskStatus, is_transient};
use crate::retry::RetryPolicy;
use crate::spec::RouteSpec;
use crate::task::{Task, TaskContext};

pub struct RunPlan<'a> {
    pub pool: &'a PgPool,
    /// Where events are written: not the tasks' pool, which they may exhaust.
    pub ledger: &'a PgPool,
    pub run_id: Uuid,
    pub job_type: &'static str,
    /// The run's logical time, started when the request arrived.
    pub clock: crate::clock::RunClock,
    pub deadline: Instant,
    pub budget: Duration,
    pub cfg: Arc<Config>,
    pub routes: Arc<[RouteSpec]>,
    pub retry: RetryPolicy,
    pub http: reqwest::Client,
    pub worker: bool,
    pub follow_up: Option<crate::follow_up::FollowUpKind>,
}

/// Time held back for each task still to come, so one slow task cannot starve
/// the rest: a quarter of an even share of the budget, within bounds.
fn reserve_per_task(budget: Duration, tasks: usize) -> Duration {
    (budget / (4 * tasks.max(1) as u32)).clamp(Duration::from_millis(50), Duration::from_secs(15))
}

pub async fn run_tasks(plan: &RunPlan<'_>, tasks: &[Arc<dyn Task>]) -> Vec<TaskOutcome> {
    let reserve = reserve_per_task(plan.budget, tasks.len());
    let mut outcomes = Vec::with_capacity(tasks.len());
    for (i, task) in tasks.iter().enumerate() {
        let after = (tasks.len() - 1 - i) as u32;
        let hard = plan
            .deadline
            .checked_sub(reserve * after)
            .unwrap_or(plan.deadline);
        // The task is told to stop a little before it would be cut off.
        let soft = hard.checked_sub(reserve / 4).unwrap_or(hard);
        let outcome = if Instant::now() >= hard {
            skipped(task.name())
        } else {
            run_one(plan, Arc::clone(task), soft, hard).await
        };
        if let Err(e) = record(plan, &outcome, task.name()).await {
            tracing::error!(task = task.name(), error = %e, "could not record the task's sync event");
        }
        outcomes.push(outcome.0);
    }
    outcomes
}

async fn run_one(
    plan: &RunPlan<'_>,
    task: Arc<dyn Task>,
    soft: Instant,
    hard: Instant,
) -> (TaskOutcome, Vec<TaskEvent>) {
    let name = task.name();
    let ctx = TaskContext {
        clock: plan.clock,
        deadline: soft,
        run_id: plan.run_id,
        worker: plan.worker,
        follow_up: plan.follow_up,
        // The plan's client: building one per task cost 4-5 ms each.
        ..TaskContext::with_client(
            plan.pool.clone(),
            plan.clock.start(),
            plan.job_type,
            Arc::clone(&plan.cfg),
            Arc::clone(&plan.routes),
            plan.http.clone(),
        )
    };
    let retry = plan.retry;
    let started = Instant::now();
    let handle = tokio::spawn(async move {
        let ctx = ctx;
        retry.run(soft, || task.run(&ctx)).await
    });
    let abort = handle.abort_handle();
    let joined = tokio::time::timeout_at(hard, handle).await;
    let elapsed = started.elapsed().as_millis() as u64;
    let mut outcome = TaskOutcome {
        name,
        status: TaskStatus::Success,
        duration_ms: elapsed,
        attempts: 1,
        records_processed: 0,
        records_failed: 0,
        more_work: false,
        retryable: false,
        out_of_time: false,
        warning: None,
        error: None,
        details: Value::Null,
    };
    let mut events = Vec::new();
    match joined {
        Ok(Ok((Ok(report), attempts))) => {
            let TaskReport {
                records_processed,
                records_failed,
                retryable_failures,
                more_work,
                out_of_time,
                warning,
                details,
                events: evs,
            } = report;
            outcome = TaskOutcome {
                attempts,
                records_processed,
                records_failed,
                more_work,
                retryable: retryable_failures > 0,
                out_of_time: more_work && out_of_time,
                warning,
                details,
                ..outcome
            };
            events = evs;
        }
        Ok(Ok((Err(err), attempts))) => {
            outcome.attempts = attempts;
            outcome.status = TaskStatus::Failed;
            outcome.retryable = is_transient(&err);
            outcome.error = Some(format!("{err:#}"));
            tracing::error!(task = name, attempts, error = %format!("{err:#}"), "task failed");
        }
        Ok(Err(join)) => {
            outcome.status = TaskStatus::Failed;
            outcome.error = Some(if join.is_panic() {
                format!("task panicked: {}", panic_message(join.into_panic()))
            } else {
                "task was cancelled".to_owned()
            });
            tracing::error!(
                task = name,
                error = outcome.error.as_deref(),
                "task crashed"
            );
        }
        Err(_) => {
            abort.abort();
            outcome.status = TaskStatus::Timeout;
            // Cut off, not refused: another attempt with its own budget may finish.
            outcome.retryable = true;
            outcome.error = Some(format!(
                "task exceeded its time limit of {elapsed} ms and was stopped"
            ));
            tracing::error!(task = name, elapsed_ms = elapsed, "task timed out");
        }
    }
    (outcome, events)
}

fn skipped(name: &'static str) -> (TaskOutcome, Vec<TaskEvent>) {
    let outcome = TaskOutcome {
        name,
        status: TaskStatus::Skipped,
        duration_ms: 0,
        attempts: 0,
        records_processed: 0,
        records_failed: 0,
        more_work: true,
        retryable: false,
        out_of_time: true,
        warning: None,
        error: Some("not started: the run's deadline was reached".into()),
        details: Value::Null,
    };
    (outcome, Vec::new())
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

async fn record(
    plan: &RunPlan<'_>,
    (outcome, events): &(TaskOutcome, Vec<TaskEvent>),
    name: &str,
) -> Result<(), sqlx::Error> {
    let status = match outcome.status {
        TaskStatus::Success if outcome.warning.is_some() => EventStatus::Warning,
        TaskStatus::Success => EventStatus::Success,
        TaskStatus::Skipped => EventStatus::Warning,
        TaskStatus::Failed | TaskStatus::Timeout => EventStatus::Failed,
    };
    let message = outcome
        .error
        .clone()
        .or_else(|| outcome.warning.clone())
        .unwrap_or_else(|| format!("{} records processed", outcome.records_processed));
    let summary = json!({
        "status": outcome.status,
        "attempts": outcome.attempts,
        "more_work": outcome.more_work,
        "details": outcome.details,
    });
    let created_at = plan.clock.now();
    let mut rows = vec![NewEvent {
        job_id: Some(plan.run_id),
        event_type: "task",
        source: name,
        status: status.as_str(),
        message: &message,
        details: &summary,
        duration_ms: Some(outcome.duration_ms as i64),
        records_processed: outcome.records_processed,
        records_failed: outcome.records_failed,
        created_at,
    }];
    rows.extend(events.iter().map(|e| NewEvent {
        job_id: Some(plan.run_id),
        event_type: &e.event_type,
        source: name,
        status: e.status.as_str(),
        message: &e.message,
        details: &e.details,
        duration_ms: None,
        records_processed: 0,
        records_failed: 0,
        created_at,
    }));
    let written = ledger::record_events(plan.ledger, &rows).await?;
    if written < rows.len() as u64 {
        tracing::warn!(
            task = name,
            "the run lost its lease: its events were not written (fenced)"
        );
    }
    Ok(())
}

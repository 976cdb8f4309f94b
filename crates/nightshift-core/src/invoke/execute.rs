//! A claimed run: the start ping, the tasks, the slot's follow-up, the
//! fenced finish, the alert when the slot cannot be healed, the finish ping
//! and the heartbeat (docs/architecture.md §2, steps 8-9b; §5b).

use serde_json::json;
use uuid::Uuid;

use super::admit::Admitted;
use crate::app::App;
use crate::clock::RunClock;
use crate::error::HandleError;
use crate::follow_up::{self, Decision};
use crate::ledger::{self, Finish};
use crate::outcome::Outcome;
use crate::outcome::RunAnswer;
use crate::report::{TaskOutcome, TaskStatus};
use crate::runner::{RunPlan, run_tasks};

pub(super) async fn execute(
    app: &App,
    call: &Admitted<'_>,
    run_id: Uuid,
    mut answer: RunAnswer,
) -> Result<RunAnswer, HandleError> {
    let (spec, ledger_pool) = (call.spec, call.ledger);
    let clock = RunClock::new(call.arrival.now, call.arrival.at);
    tracing::info!(slot = ?call.slot, trigger = call.trigger.as_str(), tasks = call.tasks.len(), "run claimed");
    let ping = app.cfg.healthchecks.for_route(spec.name);
    crate::ping::start(&app.http, ping.as_ref(), &answer).await;
    let plan = RunPlan {
        pool: call.pool,
        ledger: ledger_pool,
        run_id,
        job_type: spec.job_type,
        clock,
        deadline: call.arrival.at + call.budget,
        budget: call.budget,
        cfg: app.cfg.clone(),
        routes: app.specs(),
        retry: app.retry,
        http: app.http.clone(),
        worker: call.opts.worker,
        follow_up: call.slot_call.as_ref().and_then(|c| c.kind),
    };
    let outcomes = run_tasks(&plan, &call.tasks).await;
    answer.duration_ms = call.arrival.at.elapsed().as_millis() as u64;
    answer.more_work = outcomes.iter().any(|o| o.more_work);
    let status = run_status(&outcomes);
    let error = error_summary(&outcomes);
    // Only a run that stands for its slot heals it.
    let owns_slot = call.slot.filter(|_| !call.opts.worker);
    let decision = match owns_slot {
        Some(slot) => follow_up::decide(ledger_pool, spec, slot, clock.now(), &outcomes)
            .await
            .map_err(HandleError::from_db)?,
        None => Decision::Nothing,
    };
    let asked = match &decision {
        Decision::Ask { kind, after } => Some((*kind, *after)),
        _ => None,
    };
    answer.follow_up = asked.map(|(kind, after)| {
        json!({ "kind": kind, "after_ms": after.as_millis() as u64,
                "from_task": follow_up::first_unfinished(&outcomes) })
    });
    let result = json!({ "more_work": answer.more_work, "tasks": outcomes,
                         "follow_up": answer.follow_up });
    let fenced = ledger::finish(
        ledger_pool,
        &Finish {
            id: run_id,
            status: status.as_str(),
            completed_at: clock.now(),
            execution_time_ms: answer.duration_ms as i64,
            error_message: error.as_deref(),
            result: &result,
            follow_up: asked,
        },
    )
    .await
    .map_err(HandleError::from_db);
    app.track(run_id, false);
    let fenced = fenced?;
    answer.tasks = outcomes;
    if fenced {
        if owns_slot.is_some() {
            let alerted = follow_up::alert(
                ledger_pool,
                spec.job_type,
                run_id,
                &decision,
                error.as_deref(),
                clock.now(),
            );
            if let Err(e) = alerted.await {
                tracing::error!(error = %e, "could not record the slot's alert");
            }
        }
        answer.outcome = status;
        // A run's error first; else what admission had to say (a schedule
        // mismatch, crate::announced).
        answer.message = error.or(answer.message.take());
    } else {
        answer.follow_up = None;
        // The sweeper decided while we worked; its verdict stands.
        let verdict = ledger::run_status(ledger_pool, run_id)
            .await
            .map_err(HandleError::from_db)?;
        answer.outcome = match verdict.as_deref().and_then(Outcome::parse) {
            Some(o @ (Outcome::Completed | Outcome::Failed)) => o,
            _ => Outcome::Timeout,
        };
        answer.message = Some(
            "the run's lease expired before it finished; the ledger kept the sweeper's verdict"
                .into(),
        );
    }
    tracing::info!(
        outcome = answer.outcome.as_str(),
        duration_ms = answer.duration_ms,
        "run finished"
    );
    crate::ping::finish(&app.http, ping.as_ref(), &answer).await;
    // The heartbeat: this run's own continuation, and whatever else is due.
    crate::kick::kick(app).await;
    Ok(answer)
}

/// failed beats timeout beats completed: the worst thing that happened.
fn run_status(outcomes: &[TaskOutcome]) -> Outcome {
    if outcomes.iter().any(|o| o.status == TaskStatus::Failed) {
        Outcome::Failed
    } else if outcomes
        .iter()
        .any(|o| matches!(o.status, TaskStatus::Timeout | TaskStatus::Skipped))
    {
        Outcome::Timeout
    } else {
        Outcome::Completed
    }
}

fn error_summary(outcomes: &[TaskOutcome]) -> Option<String> {
    let parts: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {e}", o.name)))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

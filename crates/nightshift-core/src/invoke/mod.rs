//! One invocation, start to end (docs/architecture.md §2), in named steps:
//! admit (method, auth, options, database, slot, budget), dry run, pause,
//! sweep, claim, then execute (tasks, follow-up, fenced finish, heartbeat).

mod admit;
mod execute;

use http::HeaderMap;
use http::request::Parts;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use admit::{Admitted, admit};

use crate::app::{App, Route};
use crate::error::HandleError;
use crate::ledger::{self, Claim, NewRun};
use crate::outcome::{Outcome, RunAnswer};
use crate::pause;
use crate::schedule::BOOKKEEPING_MARGIN;

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

pub async fn invoke(app: &App, route: &Route, req: &Parts) -> Result<RunAnswer, HandleError> {
    let call = admit(app, route, req).await?;
    let mut answer = RunAnswer {
        outcome: Outcome::DryRun,
        run_id: None,
        route: call.spec.path,
        job_type: call.spec.job_type,
        trigger: call.trigger,
        slot: call.slot,
        started_at: call.arrival.now,
        duration_ms: 0,
        budget_ms: call.budget.as_millis() as u64,
        more_work: false,
        attempt: None,
        follow_up: None,
        swept: 0,
        message: None,
        existing_run: None,
        tasks: Vec::new(),
    };
    // A pause stops every call of the job, forced ones too (docs/decisions.md, 28).
    let paused = pause::pause_of(call.ledger, call.spec.job_type)
        .await
        .map_err(HandleError::from_db)?;
    if call.opts.dry_run {
        let planned: Vec<&str> = call.tasks.iter().map(|t| t.name()).collect();
        let ready = format!(
            "authorized; database and schema ready; would run: {}",
            planned.join(", ")
        );
        answer.message = Some(match &paused {
            Some(p) => format!("{ready}; but {}", pause::skip_message(p)),
            None => ready,
        });
        return Ok(answer);
    }
    // Checked early (no sweep for a paused job) and again by the claim
    // itself, for a pause that lands while this call is being admitted.
    if let Some(p) = paused {
        return skip(&call, p, answer).await;
    }
    let swept = ledger::sweep(call.ledger, call.arrival.now)
        .await
        .map_err(HandleError::from_db)?;
    answer.swept = swept.len();
    if !swept.is_empty() {
        tracing::warn!(runs = ?swept, "swept runs whose lease expired");
    }
    // Told, never acted on: the slot stays the deployed schedule's.
    let mismatch = crate::announced::record(call.ledger, call.spec, &req.headers, call.arrival.now)
        .await
        .map_err(HandleError::from_db)?;
    let run_id = Uuid::new_v4();
    match claim(&call, run_id, &req.headers, answer.budget_ms).await? {
        Claim::Claimed { attempt } => answer.attempt = Some(attempt),
        Claim::Duplicate {
            run_id: existing,
            status,
        } => {
            answer.outcome = Outcome::SkippedDuplicate;
            answer.existing_run = Some(existing);
            answer.message = Some(format!("this slot already has a run ({status})"));
            // A repeated delivery is a heartbeat too: a denser schedule of
            // the same route starts due follow-ups sooner (docs/internals/reliability.md, "Retries, continuations and missed slots").
            heartbeat_on_skip(app, &call).await;
            return Ok(answer);
        }
        Claim::Busy { run_id: existing } => {
            answer.outcome = Outcome::SkippedRunning;
            answer.existing_run = Some(existing);
            answer.message =
                Some("another run of this job is in progress; try again when it ends".into());
            heartbeat_on_skip(app, &call).await;
            return Ok(answer);
        }
        Claim::Paused(p) => return skip(&call, p, answer).await,
    }
    answer.run_id = Some(run_id);
    answer.message = mismatch;
    app.track(run_id, true);
    let span =
        tracing::info_span!("run", %run_id, job_type = call.spec.job_type, route = call.spec.path);
    execute::execute(app, &call, run_id, answer)
        .instrument(span)
        .await
}

/// A skipped platform or manual delivery carries the heartbeat; a skipped
/// heartbeat call does not: a catch-up refused as busy would otherwise ask
/// for itself again, and again, until the busy run ended.
async fn heartbeat_on_skip(app: &App, call: &Admitted<'_>) {
    if call.slot_call.is_none() {
        crate::kick::kick(app).await;
    }
}

/// The ledger row this call asks for (docs/architecture.md §3).
async fn claim(
    call: &Admitted<'_>,
    run_id: Uuid,
    headers: &HeaderMap,
    budget_ms: u64,
) -> Result<Claim, HandleError> {
    let opts = &call.opts;
    let follows = call.slot_call.as_ref().and_then(|c| c.follows);
    let metadata = json!({
        "options": { "tasks": opts.tasks, "force": opts.force, "worker": opts.worker },
        "budget_ms": budget_ms,
        "user_agent": header_str(headers, "user-agent"),
        "cron_schedule": header_str(headers, "x-vercel-cron-schedule"),
        "scheduled_delivery": call.delivery,
        "follows": follows,
    });
    let run = NewRun {
        id: run_id,
        job_type: call.spec.job_type,
        route: call.spec.path,
        slot: call.slot,
        trigger: call.trigger.as_str(),
        max_attempts: call.spec.slots.max_attempts as i32,
        started_at: call.arrival.now,
        lease: call.budget + BOOKKEEPING_MARGIN,
        metadata,
        follows,
    };
    ledger::claim(call.ledger, &run)
        .await
        .map_err(HandleError::from_db)
}

/// A paused job: the call is recorded as skipped, and nothing runs.
async fn skip(
    call: &Admitted<'_>,
    p: pause::Pause,
    mut answer: RunAnswer,
) -> Result<RunAnswer, HandleError> {
    let skipped = pause::SkippedCall {
        route: call.spec.path,
        trigger: call.trigger.as_str(),
        slot: call.slot,
        now: call.arrival.now,
    };
    pause::record_skip(call.ledger, &p, &skipped)
        .await
        .map_err(HandleError::from_db)?;
    answer.outcome = Outcome::SkippedPaused;
    answer.message = Some(pause::skip_message(&p));
    tracing::info!(job_type = call.spec.job_type, "job paused; call skipped");
    Ok(answer)
}

//! One invocation, start to end (docs/architecture.md §2): method, auth, options,
//! database, sweep, claim, tasks, fenced finish, answer.

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use crate::auth::{FormToken, authorize_action};
use crate::clock::RunClock;
use crate::delivery::ScheduledDelivery;
use crate::error::HandleError;
use crate::ledger::{self, Claim, Finish, NewRun};
use crate::options::RunOptions;
use crate::pause;
use crate::route::{App, Arrival, InvocationDeadline, Route, check_method};
use crate::runner::{RunPlan, TaskOutcome, TaskStatus, run_tasks};
use crate::schedule::{BOOKKEEPING_MARGIN, budget_within};

/// The JSON answer of a route call. `outcome` comes first so a shell script
/// can read it without a JSON parser.
#[derive(Debug, Serialize)]
pub struct RunAnswer {
    pub outcome: &'static str,
    pub run_id: Option<Uuid>,
    pub route: &'static str,
    pub job_type: &'static str,
    pub trigger: &'static str,
    pub slot: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub budget_ms: u64,
    pub more_work: bool,
    pub swept: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_run: Option<Uuid>,
    pub tasks: Vec<TaskOutcome>,
}

impl RunAnswer {
    pub fn http_status(&self) -> StatusCode {
        match self.outcome {
            "completed" | "skipped_duplicate" | "skipped_paused" | "dry_run" => StatusCode::OK,
            "skipped_running" => StatusCode::CONFLICT,
            "timeout" => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for RunAnswer {
    fn into_response(self) -> Response {
        (self.http_status(), Json(self)).into_response()
    }
}

/// Cron deliveries announce themselves; anything else was a person or a script.
fn trigger_of(headers: &HeaderMap) -> &'static str {
    let ua = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ua.starts_with("vercel-cron/") || headers.contains_key("x-vercel-cron-schedule") {
        "cron"
    } else {
        "manual"
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

pub async fn invoke(app: &App, route: &Route, req: &Parts) -> Result<RunAnswer, HandleError> {
    let arrival = req
        .extensions
        .get::<Arrival>()
        .copied()
        .unwrap_or_else(|| Arrival::now(app.clock.as_ref()));
    check_method(&req.method)?;
    // A scheduled delivery was authenticated by the platform (IAM) before
    // it reached the function; only the Lambda adapter sets it.
    let delivery = req.extensions.get::<ScheduledDelivery>();
    if delivery.is_none() {
        let form = req.extensions.get::<FormToken>();
        authorize_action(app, &req.headers, &req.extensions, form).await?;
    }
    let names = route.task_names();
    let opts = RunOptions::parse(req.uri.query(), &names)?;
    let pool = app.db.ready().await?;
    let ledger_pool = app.db.ledger()?;

    let spec = &route.spec;
    let now = arrival.now;
    let clock = RunClock::new(now, arrival.at);
    // A scheduled delivery claims the slot its event names, however late.
    let slot_time = match delivery {
        Some(d) => d.slot_time(now)?,
        None => now,
    };
    let slot = (!opts.is_unscheduled()).then(|| spec.schedule.slot_at(slot_time));
    let budget = match req.extensions.get::<InvocationDeadline>() {
        Some(InvocationDeadline(end)) => {
            // What the platform left this invocation when it arrived.
            let left = end
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
                + arrival.at.elapsed();
            app.budget(spec).min(budget_within(left))
        }
        None => app.budget(spec),
    };
    let trigger = if opts.worker {
        "worker"
    } else if delivery.is_some() {
        "cron"
    } else {
        trigger_of(&req.headers)
    };
    let mut answer = RunAnswer {
        outcome: "dry_run",
        run_id: None,
        route: spec.path,
        job_type: spec.job_type,
        trigger,
        slot,
        started_at: now,
        duration_ms: 0,
        budget_ms: budget.as_millis() as u64,
        more_work: false,
        swept: 0,
        message: None,
        existing_run: None,
        tasks: Vec::new(),
    };
    let tasks: Vec<_> = route
        .tasks
        .iter()
        .filter(|t| !opts.worker || t.drains_queue())
        .filter(|t| {
            opts.tasks
                .as_ref()
                .is_none_or(|w| w.iter().any(|n| n == t.name()))
        })
        .cloned()
        .collect();

    if opts.worker && tasks.is_empty() {
        return Err(HandleError::BadRequest(format!(
            "worker=true: {} has no task that works a queue",
            spec.path
        )));
    }
    // A pause stops every call of the job, forced ones too (docs/decisions.md, 28).
    let paused = pause::pause_of(ledger_pool, spec.job_type)
        .await
        .map_err(HandleError::from_db)?;
    if opts.dry_run {
        let planned: Vec<&str> = tasks.iter().map(|t| t.name()).collect();
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
    let skip = |p: pause::Pause, mut answer: RunAnswer| async move {
        let call = pause::SkippedCall {
            route: spec.path,
            trigger,
            slot,
            now,
        };
        pause::record_skip(ledger_pool, &p, &call)
            .await
            .map_err(HandleError::from_db)?;
        answer.outcome = "skipped_paused";
        answer.message = Some(pause::skip_message(&p));
        tracing::info!(job_type = spec.job_type, "job paused; call skipped");
        Ok(answer)
    };
    // Checked early (no sweep for a paused job) and again by the claim
    // itself, for a pause that lands while this call is being admitted.
    if let Some(p) = paused {
        return skip(p, answer).await;
    }

    let swept = ledger::sweep(ledger_pool, now)
        .await
        .map_err(HandleError::from_db)?;
    answer.swept = swept.len();
    if !swept.is_empty() {
        tracing::warn!(runs = ?swept, "swept runs whose lease expired");
    }

    let run_id = Uuid::new_v4();
    let metadata = json!({
        "options": { "tasks": opts.tasks, "force": opts.force, "worker": opts.worker },
        "budget_ms": answer.budget_ms,
        "user_agent": header_str(&req.headers, "user-agent"),
        "cron_schedule": header_str(&req.headers, "x-vercel-cron-schedule"),
        "scheduled_delivery": delivery,
    });
    let claim = ledger::claim(
        ledger_pool,
        &NewRun {
            id: run_id,
            job_type: spec.job_type,
            route: spec.path,
            slot,
            trigger,
            max_attempts: app.retry.max_attempts as i32,
            started_at: now,
            lease: budget + BOOKKEEPING_MARGIN,
            metadata,
        },
    )
    .await
    .map_err(HandleError::from_db)?;
    match claim {
        Claim::Claimed => {}
        Claim::Duplicate {
            run_id: existing,
            status,
        } => {
            answer.outcome = "skipped_duplicate";
            answer.existing_run = Some(existing);
            answer.message = Some(format!("this slot already has a run ({status})"));
            return Ok(answer);
        }
        Claim::Busy { run_id: existing } => {
            answer.outcome = "skipped_running";
            answer.existing_run = Some(existing);
            answer.message =
                Some("another run of this job is in progress; try again when it ends".into());
            return Ok(answer);
        }
        Claim::Paused(p) => return skip(p, answer).await,
    }
    answer.run_id = Some(run_id);
    app.track(run_id, true);

    let span = tracing::info_span!("run", %run_id, job_type = spec.job_type, route = spec.path);
    async {
        tracing::info!(slot = ?slot, trigger, tasks = tasks.len(), "run claimed");
        let ping_url = app.cfg.healthcheck_url.as_ref().map(|u| u.expose_secret());
        crate::ping::start(&app.http, ping_url, &answer).await;
        let plan = RunPlan {
            pool,
            ledger: ledger_pool,
            run_id,
            job_type: spec.job_type,
            clock,
            deadline: arrival.at + budget,
            budget,
            cfg: app.cfg.clone(),
            routes: app.specs(),
            retry: app.retry,
            http: app.http.clone(),
            worker: opts.worker,
        };
        let outcomes = run_tasks(&plan, &tasks).await;
        let elapsed = arrival.at.elapsed();
        answer.duration_ms = elapsed.as_millis() as u64;
        answer.more_work = outcomes.iter().any(|o| o.more_work);
        let status = run_status(&outcomes);
        let error = error_summary(&outcomes);
        let result = json!({ "more_work": answer.more_work, "tasks": outcomes });
        let fenced = ledger::finish(
            ledger_pool,
            &Finish {
                id: run_id,
                status,
                completed_at: clock.now(),
                execution_time_ms: answer.duration_ms as i64,
                error_message: error.as_deref(),
                result: &result,
            },
        )
        .await
        .map_err(HandleError::from_db);
        app.track(run_id, false);
        let fenced = fenced?;
        answer.tasks = outcomes;
        if fenced {
            answer.outcome = status;
            answer.message = error;
        } else {
            // The sweeper decided while we worked; its verdict stands.
            let verdict = ledger::run_status(ledger_pool, run_id)
                .await
                .map_err(HandleError::from_db)?;
            answer.outcome = match verdict.as_deref() {
                Some("completed") => "completed",
                Some("failed") => "failed",
                _ => "timeout",
            };
            answer.message = Some(
                "the run's lease expired before it finished; the ledger kept the sweeper's verdict"
                    .into(),
            );
        }
        tracing::info!(
            outcome = answer.outcome,
            duration_ms = answer.duration_ms,
            "run finished"
        );
        crate::ping::finish(&app.http, ping_url, &answer).await;
        Ok(answer)
    }
    .instrument(span)
    .await
}

/// failed beats timeout beats completed: the worst thing that happened.
fn run_status(outcomes: &[TaskOutcome]) -> &'static str {
    if outcomes.iter().any(|o| o.status == TaskStatus::Failed) {
        "failed"
    } else if outcomes
        .iter()
        .any(|o| matches!(o.status, TaskStatus::Timeout | TaskStatus::Skipped))
    {
        "timeout"
    } else {
        "completed"
    }
}

fn error_summary(outcomes: &[TaskOutcome]) -> Option<String> {
    let parts: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {e}", o.name)))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

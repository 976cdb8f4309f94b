//! Admission: everything decided before the ledger is touched. Method, auth,
//! options, the database, which slot the call stands for, its budget, its
//! trigger and its task list (docs/architecture.md §2, steps 0-4).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::request::Parts;
use http::{HeaderMap, Method};
use sqlx::PgPool;

use crate::app::Route;
use crate::app::{App, Arrival, InvocationDeadline};
use crate::auth::{FormToken, authorize_action};
use crate::delivery::ScheduledDelivery;
use crate::error::HandleError;
use crate::options::RunOptions;
use crate::outcome::Trigger;
use crate::schedule::budget_within;
use crate::slot_call::SlotCall;
use crate::spec::RouteSpec;
use crate::task::Task;

/// A call that may run: who asked, for which slot, with what.
pub(super) struct Admitted<'a> {
    pub spec: &'a RouteSpec,
    pub arrival: Arrival,
    pub opts: RunOptions,
    pub delivery: Option<&'a ScheduledDelivery>,
    pub slot_call: Option<SlotCall>,
    pub slot: Option<DateTime<Utc>>,
    pub budget: Duration,
    pub trigger: Trigger,
    pub tasks: Vec<Arc<dyn Task>>,
    pub pool: &'a PgPool,
    pub ledger: &'a PgPool,
}

pub(super) async fn admit<'a>(
    app: &'a App,
    route: &'a Route,
    req: &'a Parts,
) -> Result<Admitted<'a>, HandleError> {
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
    let opts = RunOptions::parse(req.uri.query(), &route.task_names())?;
    let pool = app.db.ready().await?;
    let ledger = app.db.ledger()?;
    let spec = &route.spec;
    let now = arrival.now;
    // A scheduled delivery claims the slot its event names, however late;
    // a heartbeat's call, the slot it follows up or catches up.
    let slot_call = crate::slot_call::resolve(ledger, spec, &opts, now).await?;
    let slot_time = match delivery {
        Some(d) => d.slot_time(now)?,
        None => now,
    };
    let slot = match &slot_call {
        Some(c) => Some(c.slot),
        None => (!opts.is_unscheduled()).then(|| spec.schedule.slot_at(slot_time)),
    };
    let trigger = if let Some(c) = &slot_call {
        c.trigger
    } else if opts.worker {
        Trigger::Worker
    } else if delivery.is_some() {
        Trigger::Cron
    } else {
        trigger_of(&req.headers)
    };
    let tasks = select_tasks(route, &opts, slot_call.as_ref());
    if opts.worker && tasks.is_empty() {
        return Err(HandleError::BadRequest(format!(
            "worker=true: {} has no task that works a queue",
            spec.path
        )));
    }
    Ok(Admitted {
        spec,
        budget: budget(app, spec, req, arrival),
        arrival,
        opts,
        delivery,
        slot_call,
        slot,
        trigger,
        tasks,
        pool,
        ledger,
    })
}

/// The route's budget, within what the platform left this invocation when
/// it arrived (Lambda says).
fn budget(app: &App, spec: &RouteSpec, req: &Parts, arrival: Arrival) -> Duration {
    match req.extensions.get::<InvocationDeadline>() {
        Some(InvocationDeadline(end)) => {
            let left = end
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
                + arrival.at.elapsed();
            app.budget(spec).min(budget_within(left))
        }
        None => app.budget(spec),
    }
}

/// The route's tasks this call runs, in the route's order: a worker's drain
/// the queue, `tasks=` picks, and a follow-up starts at the first task the
/// run it follows left unfinished.
fn select_tasks(route: &Route, opts: &RunOptions, call: Option<&SlotCall>) -> Vec<Arc<dyn Task>> {
    let from = call.and_then(|c| c.from_task.as_deref());
    route
        .tasks
        .iter()
        .filter(|t| !opts.worker || t.drains_queue())
        .filter(|t| {
            opts.tasks
                .as_ref()
                .is_none_or(|w| w.iter().any(|n| n == t.name()))
        })
        .skip_while(|t| from.is_some_and(|from| from != t.name()))
        .cloned()
        .collect()
}

/// Cron deliveries announce themselves; anything else was a person or a script.
fn trigger_of(headers: &HeaderMap) -> Trigger {
    let ua = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ua.starts_with("vercel-cron/") || headers.contains_key("x-vercel-cron-schedule") {
        Trigger::Cron
    } else {
        Trigger::Manual
    }
}

fn check_method(method: &Method) -> Result<(), HandleError> {
    if method == Method::GET || method == Method::POST {
        Ok(())
    } else {
        Err(HandleError::MethodNotAllowed("GET, POST"))
    }
}

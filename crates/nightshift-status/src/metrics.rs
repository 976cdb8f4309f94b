//! `GET /api/metrics`: Prometheus text exposition (format 0.0.4), computed
//! from the ledger at scrape time (`facts`): a serverless function keeps no
//! counters between calls, so every figure is a gauge over the database.
//! Windowed counts are gauges named for their window (`_24h`, `_7d`), not
//! `_total` counters. Jobs are labelled `job_type` and `route`, never `job`:
//! Prometheus owns that label (the scrape job's name).
//! Auth: the bearer, or the read-only METRICS_TOKEN
//! (nightshift_core::auth::authorize_metrics).

mod facts;

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{Method, header};
use nightshift_core::{App, HandleError, RouteSpec, auth};

use facts::OUTCOMES;
pub use facts::{Facts, collect};

pub const PATH: &str = "/api/metrics";
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every value a task's outcome takes (crates/nightshift-core/src/report.rs).
const TASK_OUTCOMES: [&str; 4] = ["success", "failed", "timeout", "skipped"];
const OUTBOX_CHANNELS: [&str; 2] = ["email", "slack"];
const OUTBOX_STATES: [&str; 4] = ["pending", "retrying", "sending", "dead"];
const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];

pub async fn serve(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::respond(answer(&app, req).await)
}

async fn answer(app: &App, req: Request) -> Result<Response, HandleError> {
    crate::only(req.method(), &Method::GET, "GET")?;
    auth::authorize_metrics(app, req.headers(), req.extensions()).await?;
    let now = app.clock.now();
    let pool = app.db.ready().await?;
    let facts = collect(pool, &app.specs(), now)
        .await
        .map_err(HandleError::from_db)?;
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render(&facts, &app.specs(), now),
    )
        .into_response())
}

/// One metric family: its HELP and TYPE lines, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

fn family<'a>(out: &'a mut String, name: &str, help: &str) -> Family<'a> {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    Family { out }
}

/// Label values escape backslash, double quote and newline (format 0.0.4).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn last(j: &facts::Job) -> Option<&facts::Last> {
    j.last.as_ref()
}

fn secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

pub fn render(facts: &Facts, routes: &[RouteSpec], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let none = facts::Job::default();
    let jobs: Vec<(&RouteSpec, &facts::Job)> = routes
        .iter()
        .map(|r| (r, facts.jobs.get(r.job_type).unwrap_or(&none)))
        .collect();
    let per_job = |out: &mut String,
                   name: &str,
                   help: &str,
                   f: &dyn Fn(&facts::Job, &RouteSpec) -> Option<f64>| {
        let mut fam = family(out, name, help);
        for (spec, job) in &jobs {
            if let Some(v) = f(job, spec) {
                fam.sample(
                    name,
                    &[("job_type", spec.job_type), ("route", spec.path)],
                    v,
                );
            }
        }
    };
    per_job(
        &mut out,
        "nightshift_job_last_run_timestamp_seconds",
        "Start of the job's newest finished run (completed, failed or timeout), unix seconds.",
        &|j, _| last(j)?.last_run_at.map(secs),
    );
    per_job(
        &mut out,
        "nightshift_job_last_success_timestamp_seconds",
        "End of the job's newest completed run, unix seconds.",
        &|j, _| last(j)?.last_success_at.map(secs),
    );
    {
        let name = "nightshift_job_last_outcome";
        let mut fam = family(
            &mut out,
            name,
            "1 for the outcome of the job's newest finished run, 0 for the others.",
        );
        for (spec, job) in &jobs {
            let Some(current) = last(job).and_then(|l| l.last_outcome.as_deref()) else {
                continue;
            };
            for o in OUTCOMES {
                let labels = [
                    ("job_type", spec.job_type),
                    ("route", spec.path),
                    ("outcome", o),
                ];
                fam.sample(name, &labels, f64::from(u8::from(o == current)));
            }
        }
    }
    per_job(
        &mut out,
        "nightshift_job_last_attempt",
        "The slot's attempt of the job's newest finished run: 1 the first try, more for retries and continuations.",
        &|j, _| last(j)?.last_attempt.map(f64::from),
    );
    {
        let name = "nightshift_job_follow_ups_pending";
        let mut fam = family(
            &mut out,
            name,
            "Follow-ups (retry, continuation) asked for and not yet taken over by a run.",
        );
        for (spec, job) in &jobs {
            let (r, c) = last(job).map_or((0, 0), |l| (l.retries_pending, l.continuations_pending));
            for (kind, n) in [("retry", r), ("continuation", c)] {
                fam.sample(
                    name,
                    &[
                        ("job_type", spec.job_type),
                        ("route", spec.path),
                        ("kind", kind),
                    ],
                    n as f64,
                );
            }
        }
    }
    per_job(
        &mut out,
        "nightshift_job_running",
        "1 while a run of the job holds its lease.",
        &|j, _| Some(f64::from(u8::from(last(j).is_some_and(|l| l.running)))),
    );
    per_job(
        &mut out,
        "nightshift_job_paused",
        "1 while an operator has the job paused.",
        &|j, _| Some(f64::from(u8::from(last(j).is_some_and(|l| l.paused)))),
    );
    for (name, window, pick) in [
        (
            "nightshift_job_runs_24h",
            "24 hours",
            (|j: &facts::Job| &j.runs_24h)
                as fn(&facts::Job) -> &std::collections::HashMap<String, i64>,
        ),
        ("nightshift_job_runs_7d", "7 days", |j: &facts::Job| {
            &j.runs_7d
        }),
    ] {
        let mut fam = family(
            &mut out,
            name,
            &format!(
                "Finished runs started in the last {window}, by outcome (a gauge over the window)."
            ),
        );
        for (spec, job) in &jobs {
            for o in OUTCOMES {
                let n = pick(job).get(o).copied().unwrap_or(0);
                fam.sample(
                    name,
                    &[
                        ("job_type", spec.job_type),
                        ("route", spec.path),
                        ("outcome", o),
                    ],
                    n as f64,
                );
            }
        }
    }
    {
        let name = "nightshift_job_run_duration_7d_seconds";
        let mut fam = family(
            &mut out,
            name,
            "Quantiles of the durations of the job's finished runs started in the last 7 days.",
        );
        for (spec, job) in &jobs {
            for (q, v) in [("0.5", job.p50_ms), ("0.95", job.p95_ms)] {
                if let Some(ms) = v {
                    fam.sample(
                        name,
                        &[
                            ("job_type", spec.job_type),
                            ("route", spec.path),
                            ("quantile", q),
                        ],
                        ms / 1000.0,
                    );
                }
            }
        }
    }
    per_job(
        &mut out,
        "nightshift_job_run_duration_7d_max_seconds",
        "The longest finished run of the job started in the last 7 days.",
        &|j, _| j.max_ms.map(|ms| ms / 1000.0),
    );
    per_job(
        &mut out,
        "nightshift_job_missed_slots_7d",
        "Scheduled slots of the last 7 days with no run (the definition watch_jobs alerts on).",
        &|j, _| Some(j.missed_7d as f64),
    );
    per_job(
        &mut out,
        "nightshift_job_next_slot_timestamp_seconds",
        "The job's next scheduled slot, unix seconds.",
        &|_, s| s.schedule.next_after(now).map(secs),
    );
    per_job(
        &mut out,
        "nightshift_job_until_next_slot_seconds",
        "Time from the scrape to the job's next scheduled slot.",
        &|_, s| s.schedule.next_after(now).map(|t| secs(t) - secs(now)),
    );
    render_tasks(&mut out, facts);
    render_system(&mut out, facts);
    out
}

fn render_tasks(out: &mut String, facts: &Facts) {
    let name = "nightshift_task_last_duration_seconds";
    let mut fam = family(
        out,
        name,
        "How long the task took in the newest run that ran it.",
    );
    for t in &facts.tasks {
        if let Some(ms) = t.duration_ms {
            fam.sample(
                name,
                &[("job_type", &t.job_type), ("task", &t.task)],
                ms / 1000.0,
            );
        }
    }
    let name = "nightshift_task_last_outcome";
    let mut fam = family(
        out,
        name,
        "1 for the task's outcome in the newest run that ran it, 0 for the others.",
    );
    for t in &facts.tasks {
        for o in TASK_OUTCOMES {
            let labels = [
                ("job_type", t.job_type.as_str()),
                ("task", &t.task),
                ("outcome", o),
            ];
            fam.sample(name, &labels, f64::from(u8::from(o == t.outcome)));
        }
    }
}

fn render_system(out: &mut String, facts: &Facts) {
    let get = |family: &str, a: &str, b: &str| {
        facts
            .system
            .iter()
            .find(|(f, x, y, _)| f == family && x == a && y == b)
            .map(|r| r.3)
    };
    let mut channels: Vec<&str> = OUTBOX_CHANNELS.to_vec();
    for (f, c, _, _) in &facts.system {
        if f.starts_with("outbox") && !channels.contains(&c.as_str()) {
            channels.push(c);
        }
    }
    let name = "nightshift_outbox_messages";
    let mut fam = family(
        out,
        name,
        "Outbox rows not yet sent, by channel and state (retrying: pending after a failed attempt).",
    );
    for c in &channels {
        for s in OUTBOX_STATES {
            fam.sample(
                name,
                &[("channel", c), ("state", s)],
                get("outbox", c, s).unwrap_or(0.0),
            );
        }
    }
    let name = "nightshift_outbox_oldest_pending_age_seconds";
    let mut fam = family(
        out,
        name,
        "Age of the oldest outbox row not yet sent (pending or sending), by channel; 0 when none.",
    );
    for c in &channels {
        fam.sample(
            name,
            &[("channel", c)],
            get("outbox_oldest", c, "").unwrap_or(0.0).max(0.0),
        );
    }
    let name = "nightshift_work_queue_depth";
    let mut fam = family(out, name, "Work queue items not finished, by status.");
    for s in ["pending", "running"] {
        fam.sample(name, &[("status", s)], get("queue", "", s).unwrap_or(0.0));
    }
    let name = "nightshift_work_queue_oldest_item_age_seconds";
    let mut fam = family(
        out,
        name,
        "Age of the oldest unfinished work queue item; 0 when the queue is empty.",
    );
    fam.sample(
        name,
        &[],
        get("queue_oldest", "", "").unwrap_or(0.0).max(0.0),
    );
    let name = "nightshift_alerts_open";
    let mut fam = family(out, name, "Open alerts, by severity.");
    for s in SEVERITIES {
        fam.sample(
            name,
            &[("severity", s)],
            get("alerts", s, "").unwrap_or(0.0),
        );
    }
}

//! The per-job families of `GET /api/metrics` (crate::metrics).

use chrono::{DateTime, Utc};
use nightshift_core::RouteSpec;

use super::facts::{self, Facts, OUTCOMES};
use super::{family, last, secs};

pub(super) fn render(out: &mut String, facts: &Facts, routes: &[RouteSpec], now: DateTime<Utc>) {
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
        out,
        "nightshift_job_last_run_timestamp_seconds",
        "Start of the job's newest finished run (completed, failed or timeout), unix seconds.",
        &|j, _| last(j)?.last_run_at.map(secs),
    );
    per_job(
        out,
        "nightshift_job_last_success_timestamp_seconds",
        "End of the job's newest completed run, unix seconds.",
        &|j, _| last(j)?.last_success_at.map(secs),
    );
    {
        let name = "nightshift_job_last_outcome";
        let mut fam = family(
            out,
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
        out,
        "nightshift_job_last_attempt",
        "The slot's attempt of the job's newest finished run: 1 the first try, more for retries and continuations.",
        &|j, _| last(j)?.last_attempt.map(f64::from),
    );
    {
        let name = "nightshift_job_follow_ups_pending";
        let mut fam = family(
            out,
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
        out,
        "nightshift_job_running",
        "1 while a run of the job holds its lease.",
        &|j, _| Some(f64::from(u8::from(last(j).is_some_and(|l| l.running)))),
    );
    per_job(
        out,
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
            out,
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
    // Three gauges, not a `quantile` label: that label belongs to summaries
    // (promtool check metrics refuses it on a gauge).
    per_job(
        out,
        "nightshift_job_run_duration_7d_p50_seconds",
        "Median duration of the job's finished runs started in the last 7 days.",
        &|j, _| j.p50_ms.map(|ms| ms / 1000.0),
    );
    per_job(
        out,
        "nightshift_job_run_duration_7d_p95_seconds",
        "95th percentile of the durations of the job's finished runs started in the last 7 days.",
        &|j, _| j.p95_ms.map(|ms| ms / 1000.0),
    );
    per_job(
        out,
        "nightshift_job_run_duration_7d_max_seconds",
        "The longest finished run of the job started in the last 7 days.",
        &|j, _| j.max_ms.map(|ms| ms / 1000.0),
    );
    per_job(
        out,
        "nightshift_job_missed_slots_7d",
        "Scheduled slots of the last 7 days with no run (the definition watch_jobs alerts on).",
        &|j, _| Some(j.missed_7d as f64),
    );
    per_job(
        out,
        "nightshift_job_next_slot_timestamp_seconds",
        "The job's next scheduled slot, unix seconds.",
        &|_, s| s.schedule.next_after(now).map(secs),
    );
    per_job(
        out,
        "nightshift_job_until_next_slot_seconds",
        "Time from the scrape to the job's next scheduled slot.",
        &|_, s| {
            s.schedule
                .next_after(now)
                .map(|t| (t - now).num_milliseconds() as f64 / 1000.0)
        },
    );
}

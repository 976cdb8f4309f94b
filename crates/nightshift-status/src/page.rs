//! The dashboard and its sign-in form, rendered on the server with askama
//! (auto-escaping: alert titles and error messages come from the database
//! and, through GitHub, from anyone). No script, no build step.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::data::{JobStatus, Stats, Status};

const RUNS_CHARTED: usize = 20;
const CHART_HEIGHT: i64 = 36;
const BAR_WIDTH: i64 = 8;

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignIn<'a> {
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    health: &'static str,
    reasons: Vec<String>,
    generated: String,
    /// Present when the viewer has a session: the forms carry it.
    csrf: Option<String>,
    jobs: Vec<JobView>,
    alerts: Vec<AlertView>,
    outbox_depth: i64,
    outbox_dead: i64,
    queue: String,
    report: Option<String>,
    chart_width: i64,
    chart_height: i64,
    bar_width: i64,
}

struct JobView {
    name: &'static str,
    job_type: &'static str,
    route: &'static str,
    schedule: String,
    /// "will not run on …" for local times the zone skips soon.
    skipped_note: Option<String>,
    /// The row's colour: ok, warning, failed, running, paused, never.
    tone: &'static str,
    state: &'static str,
    is_paused: bool,
    paused_note: Option<String>,
    consecutive_failures: i64,
    last_status: String,
    last_utc: String,
    last_local: String,
    next_utc: String,
    next_local: String,
    rate_7d: String,
    avg_7d: String,
    p95_7d: String,
    rate_30d: String,
    avg_30d: String,
    p95_30d: String,
    bars: Vec<Bar>,
    runs: Vec<RunView>,
}

struct Bar {
    x: i64,
    y: i64,
    h: i64,
    class: String,
    title: String,
}

struct RunView {
    /// The run's page (crate::run_page).
    href: String,
    status: String,
    trigger: String,
    started: String,
    duration: String,
    error: String,
}

struct AlertView {
    severity: String,
    title: String,
    message: String,
    source: String,
    raised: String,
}

impl Dashboard {
    pub fn new(status: &Status, tz: Tz, csrf: Option<String>) -> Self {
        Self {
            health: status.health.status,
            reasons: status.health.reasons.clone(),
            generated: utc(status.generated_at),
            csrf,
            jobs: status.jobs.iter().map(|j| job_view(j, tz)).collect(),
            alerts: status
                .open_alerts
                .iter()
                .map(|a| AlertView {
                    severity: a.severity.clone(),
                    title: a.title.clone(),
                    message: a.message.clone(),
                    source: a.source.clone(),
                    raised: utc(a.raised_at),
                })
                .collect(),
            outbox_depth: status.outbox.depth,
            outbox_dead: status.outbox.dead,
            queue: format!(
                "{} pending, {} running, {} failed",
                status.work_queue.pending, status.work_queue.running, status.work_queue.failed
            ),
            report: status
                .latest_report
                .as_ref()
                .map(|r| format!("{} ({})", r.subject, r.iso_week)),
            chart_width: RUNS_CHARTED as i64 * (BAR_WIDTH + 2),
            chart_height: CHART_HEIGHT,
            bar_width: BAR_WIDTH,
        }
    }
}

fn job_view(j: &JobStatus, org: Tz) -> JobView {
    let last = j.last_run.as_ref();
    // Times on the schedule's own wall clock, UTC beside them; a UTC
    // schedule's in the organisation's zone (ORG_TIMEZONE), as before.
    let tz = match j.timezone.parse::<Tz>() {
        Ok(tz) if tz != chrono_tz::UTC => tz,
        _ => org,
    };
    let (tone, state) = if j.paused.is_some() {
        ("paused", "paused")
    } else if j.running_now.is_some() {
        ("running", "running")
    } else {
        match last.map(|r| r.status.as_str()) {
            None => ("never", "never run"),
            Some("completed") => ("ok", "ok"),
            Some(_) if j.consecutive_failures >= 3 => ("failed", "failing"),
            Some("timeout") => ("warning", "timed out"),
            Some(_) => ("failed", "failed"),
        }
    };
    JobView {
        name: j.name,
        job_type: j.job_type,
        route: j.route,
        schedule: format!("{} {}", j.schedule, j.timezone),
        skipped_note: (!j.skipped_soon.is_empty()).then(|| {
            format!(
                "will not run at {} (the clocks go forward)",
                j.skipped_soon.join(", ").replace('T', " ")
            )
        }),
        tone,
        state,
        is_paused: j.paused.is_some(),
        paused_note: j.paused.as_ref().map(|p| {
            let mut s = format!("by {} since {}", p.paused_by, utc(p.paused_at));
            if let Some(r) = &p.reason {
                s.push_str(&format!(": {r}"));
            }
            s
        }),
        consecutive_failures: j.consecutive_failures,
        last_status: last.map_or("never".into(), |r| {
            format!("{} in {}", r.status, duration(r.duration_ms))
        }),
        last_utc: last.map_or("-".into(), |r| utc(r.started_at)),
        last_local: last.map_or(String::new(), |r| local(r.started_at, tz)),
        next_utc: j.next_run_at.map_or("-".into(), utc),
        next_local: j.next_run_at.map_or(String::new(), |t| local(t, tz)),
        rate_7d: rate(&j.stats_7d),
        avg_7d: ms(j.stats_7d.avg_duration_ms),
        p95_7d: ms(j.stats_7d.p95_duration_ms),
        rate_30d: rate(&j.stats_30d),
        avg_30d: ms(j.stats_30d.avg_duration_ms),
        p95_30d: ms(j.stats_30d.p95_duration_ms),
        bars: bars(j),
        runs: j
            .recent_runs
            .iter()
            .map(|r| RunView {
                href: crate::run_page::page_url(&r.id),
                status: r.status.clone(),
                trigger: trigger_text(r),
                started: utc(r.started_at),
                duration: duration(r.duration_ms),
                error: r.error_message.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// How the run came and what follows it: "retry · attempt 2 · retry due
/// 02:20 UTC". Attempts of one slot read as one story.
fn trigger_text(r: &crate::data::Run) -> String {
    let mut text = r.trigger.clone();
    if r.attempt > 1 {
        text.push_str(&format!(" · attempt {}", r.attempt));
    }
    if let (Some(kind), Some(at)) = (&r.follow_up, r.follow_up_at) {
        text.push_str(&format!(" · {kind} due {}", utc(at)));
    }
    text
}

/// Oldest on the left, heights relative to the longest run charted.
fn bars(j: &JobStatus) -> Vec<Bar> {
    let runs: Vec<_> = j.recent_runs.iter().take(RUNS_CHARTED).rev().collect();
    let max = runs
        .iter()
        .filter_map(|r| r.duration_ms)
        .max()
        .unwrap_or(1)
        .max(1);
    runs.iter()
        .enumerate()
        .map(|(i, r)| {
            let ms = r.duration_ms.unwrap_or(0);
            let h = (ms * (CHART_HEIGHT - 2) / max).max(2);
            Bar {
                x: i as i64 * (BAR_WIDTH + 2),
                y: CHART_HEIGHT - h,
                h,
                class: r.status.clone(),
                title: format!(
                    "{} · {} · {}",
                    utc(r.started_at),
                    r.status,
                    duration(r.duration_ms)
                ),
            }
        })
        .collect()
}

pub(crate) fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The same instant in ORG_TIMEZONE; nothing when that is UTC.
fn local(t: DateTime<Utc>, tz: Tz) -> String {
    if tz == chrono_tz::UTC {
        return String::new();
    }
    format!(
        "{} ({tz})",
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z")
    )
}

fn rate(s: &Stats) -> String {
    s.success_rate.map_or("no runs".into(), |r| {
        format!("{:.0}% of {}", r * 100.0, s.runs)
    })
}

fn ms(v: Option<f64>) -> String {
    duration(v.map(|v| v.round() as i64))
}

pub(crate) fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) if ms < 120_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{:.1} min", ms as f64 / 60_000.0),
    }
}

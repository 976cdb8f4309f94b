//! Bug rows, generated one at a time so any number can be streamed.
//!
//! Bug `i` is created at a stratified point of the last 90 days, later for a
//! higher `i`, so ids follow creation time as they would in a real tracker,
//! and the spacing (a power of the rank) puts more bugs in recent days than
//! in old ones: a quarter of them in the last three days.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::copy::{Cents, CopyStream, ts};
use super::org::Org;
use super::words::{CONTEXTS, HTML_TITLE, PROBLEMS};

const SPAN_SECS: f64 = 90.0 * 86_400.0;
const MIN_AGE_SECS: i64 = 300;
/// Overrides a team might negotiate; any positive number of hours is valid.
const SLA_OVERRIDES: &[i32] = &[2, 8, 12, 48, 96, 120, 336];

pub const COPY_BUGS: &str = "COPY bugs (id, project_id, external_source, external_number, title, \
     severity, priority, status, assignee_id, creator_id, sla_hours, due_at, revenue_impact_daily, \
     is_blocker, created_at, updated_at, resolved_at) FROM STDIN";

/// Bugs placed on purpose, so that even a small seed shows what the tasks
/// and the dashboard must handle; chance alone might miss them.
#[derive(Clone, Copy)]
enum Special {
    HtmlTitle,
    UnassignedCritical,
    PastSla,
}

#[derive(Default)]
pub struct Stats {
    pub open: u64,
    pub past_sla: u64,
    pub unassigned_open_critical: u64,
}

pub struct BugGen<'a> {
    org: &'a Org,
    now: DateTime<Utc>,
    total: u64,
    first_id: i64,
    specials: HashMap<u64, Special>,
    /// Cumulative project weights: a few projects carry most of the bugs.
    cumulative: Vec<f64>,
    next_number: Vec<i32>,
    pub stats: Stats,
}

impl<'a> BugGen<'a> {
    pub fn new(org: &'a Org, now: DateTime<Utc>, total: u64, first_id: i64) -> Self {
        let mut acc = 0.0;
        let cumulative = (org.projects.iter().enumerate())
            .map(|(k, p)| {
                let w = 1.0 / (k as f64 + 1.0).powf(0.6);
                acc += if p.status == "archived" { w * 0.1 } else { w };
                acc
            })
            .collect();
        let mut list = vec![
            Special::HtmlTitle,
            Special::UnassignedCritical,
            Special::PastSla,
        ];
        list.extend(std::iter::repeat_n(
            Special::UnassignedCritical,
            (1 + total / 2000).min(100) as usize,
        ));
        list.push(Special::PastSla);
        list.truncate(total.min(list.len() as u64) as usize);
        // Spread evenly; distinct positions since total >= list.len().
        let n = list.len() as u64;
        let specials = (list.into_iter().enumerate())
            .map(|(j, s)| (j as u64 * total / n, s))
            .collect();
        Self {
            org,
            now,
            total,
            first_id,
            specials,
            cumulative,
            next_number: vec![0; org.projects.len()],
            stats: Stats::default(),
        }
    }

    /// Generates bug `i` (0-based) and writes it as one COPY row.
    pub fn write(&mut self, rng: &mut ChaCha8Rng, i: u64, out: &mut CopyStream<'_>) {
        let special = self.specials.get(&i).copied();
        let pick = rng.random::<f64>() * self.cumulative.last().expect("at least one project");
        let p = self.cumulative.partition_point(|&c| c <= pick);
        let p = p.min(self.org.projects.len() - 1);
        let project = &self.org.projects[p];
        self.next_number[p] += 1;

        let (mut severity, mut priority) = severity_priority(rng);
        let sla_hours = rng
            .random_bool(0.10)
            .then(|| SLA_OVERRIDES[rng.random_range(0..SLA_OVERRIDES.len())]);
        let u = (i as f64 + rng.random::<f64>()) / self.total as f64;
        let mut age =
            MIN_AGE_SECS + ((SPAN_SECS - MIN_AGE_SECS as f64) * (1.0 - u).powf(2.5)) as i64;
        let mut status = status_at(rng, u);
        let mut assign = true;
        match special {
            Some(Special::UnassignedCritical) => {
                (severity, priority, status, assign) = ("critical", "P0", "open", false);
            }
            Some(Special::PastSla) => {
                (severity, priority, status) = ("high", "P1", "open");
                let window = window_hours(severity, sla_hours) * 3600;
                age = age.max(window + rng.random_range(3600..7 * 86_400));
            }
            Some(Special::HtmlTitle) | None => {}
        }
        let open = matches!(status, "open" | "in_progress");
        let window = window_hours(severity, sla_hours) * 3600;
        // Some open bugs sit in the last quarter of their window, so "close
        // to the deadline" is never empty.
        if open && special.is_none() && rng.random_bool(0.08) {
            age = (window as f64 * rng.random_range(0.75..0.97)) as i64;
        }
        let created = self.now - Duration::seconds(age);

        // In-progress work always has someone on it; otherwise ~15% of bugs
        // wait for triage. Most go to the owning manager's team.
        let assignee = (assign && (status == "in_progress" || rng.random_bool(0.85))).then(|| {
            let team = &self.org.teams[project.team];
            if rng.random_bool(0.75) {
                team[rng.random_range(0..team.len())]
            } else {
                self.org.engineers[rng.random_range(0..self.org.engineers.len())]
            }
        });
        let due_at = rng.random_bool(0.15).then(|| match rng.random::<f64>() {
            x if x < 0.4 => self.now + Duration::seconds(rng.random_range(1800..86_400)),
            x if x < 0.7 => self.now + Duration::seconds(rng.random_range(86_400..30 * 86_400)),
            _ => created + Duration::seconds((age as f64 * rng.random_range(0.3..0.9)) as i64),
        });
        // An engineer of the owning team, by bug index: no random draw, so
        // every other column stays what this seed always gave.
        let team = &self.org.teams[project.team];
        let creator = team[i as usize % team.len()];
        let revenue_cents = revenue_cents(rng);
        let is_blocker = rng.random_bool(0.05);
        // Strictly between creation and now: age >= MIN_AGE_SECS.
        let resolved = (!open).then(|| {
            created + Duration::seconds((age as f64 * rng.random_range(0.05..0.95)) as i64)
        });
        let updated = resolved.unwrap_or_else(|| {
            let (lo, hi) = if status == "in_progress" {
                (0.5, 1.0)
            } else {
                (0.0, 0.5)
            };
            created + Duration::seconds((age as f64 * rng.random_range(lo..hi)) as i64)
        });
        let title = match special {
            Some(Special::HtmlTitle) => HTML_TITLE.to_owned(),
            _ => format!(
                "{} {}",
                PROBLEMS[rng.random_range(0..PROBLEMS.len())],
                CONTEXTS[rng.random_range(0..CONTEXTS.len())]
            ),
        };

        if open {
            self.stats.open += 1;
            self.stats.past_sla += u64::from(age > window);
            self.stats.unassigned_open_critical +=
                u64::from(severity == "critical" && assignee.is_none());
        }
        out.value(self.first_id + i as i64)
            .value(project.id)
            .value("seed")
            .value(self.next_number[p])
            .text(&title)
            .value(severity)
            .value(priority)
            .value(status)
            .opt_value(assignee)
            .value(creator)
            .opt_value(sla_hours)
            .opt_value(due_at.map(ts))
            .value(Cents(revenue_cents))
            .value(is_blocker)
            .value(ts(created))
            .value(ts(updated))
            .opt_value(resolved.map(ts));
    }
}

/// ~55% open, 15% in progress, 20% resolved, 10% closed overall, but the
/// older a bug (lower `u`), the likelier it is done: 60% of the oldest, none
/// of the newest, 30% on average, as in a tracker people actually work.
fn status_at(rng: &mut ChaCha8Rng, u: f64) -> &'static str {
    let done = 0.6 * (1.0 - u);
    let x = rng.random::<f64>();
    if x < done {
        return if x < done * 2.0 / 3.0 {
            "resolved"
        } else {
            "closed"
        };
    }
    if (x - done) / (1.0 - done) < 0.55 / 0.70 {
        "open"
    } else {
        "in_progress"
    }
}

/// Priority follows severity most of the time, as triage would set it.
fn severity_priority(rng: &mut ChaCha8Rng) -> (&'static str, &'static str) {
    let x = rng.random::<f64>();
    let (severity, table): (_, &[(f64, &str)]) = match rng.random::<f64>() {
        s if s < 0.05 => ("critical", &[(0.7, "P0"), (1.0, "P1")]),
        s if s < 0.25 => ("high", &[(0.1, "P0"), (0.7, "P1"), (1.0, "P2")]),
        s if s < 0.70 => ("medium", &[(0.2, "P1"), (0.85, "P2"), (1.0, "P3")]),
        _ => ("low", &[(0.3, "P2"), (1.0, "P3")]),
    };
    let priority = table.iter().find(|(p, _)| x < *p).map_or("P3", |(_, p)| p);
    (severity, priority)
}

/// The same windows as the `sla_window_hours` SQL function.
fn window_hours(severity: &str, sla_hours: Option<i32>) -> i64 {
    i64::from(sla_hours.unwrap_or(match severity {
        "critical" => 4,
        "high" => 24,
        "medium" => 72,
        _ => 168,
    }))
}

/// 0 for ~60% of bugs; otherwise Pareto-distributed from 50 (alpha 1.16, the
/// "80/20" shape) and capped at 50 000, so a few bugs dominate the money.
fn revenue_cents(rng: &mut ChaCha8Rng) -> i64 {
    if rng.random_bool(0.6) {
        return 0;
    }
    let u = 1.0 - rng.random::<f64>(); // (0, 1]: no division by zero
    let amount = (50.0 / u.powf(1.0 / 1.16)).min(50_000.0);
    (amount * 100.0).round() as i64
}

//! Display-ready rows for the tables: formatted figures, colours, and
//! untrusted text already cleaned (escaping is the template's job).

use crate::report::data::{Hotspot, JobReliability, ProjectHealth, TopBug, WeekVelocity};
use crate::report::format::{self as f, clean};

pub struct ProjectRow {
    pub name: String,
    pub health: String,
    pub health_colour: &'static str,
    pub last_week: String,
    pub change: String,
    pub change_colour: &'static str,
    pub open_bugs: String,
    pub critical: String,
    pub revenue: String,
}

pub struct BugRow {
    pub title: String,
    pub url: Option<String>,
    pub project: String,
    pub severity: String,
    pub severity_colour: String,
    pub revenue: String,
    pub age: String,
    pub breached: bool,
}

pub struct BreachRow {
    pub severity: String,
    pub colour: String,
    pub count: i64,
}

pub struct WeekRow {
    pub week: String,
    pub opened: i64,
    pub resolved: i64,
    pub net: String,
    pub net_colour: &'static str,
    pub prs: i64,
}

pub struct HotspotRow {
    pub name: String,
    pub open_bugs: i64,
    pub weight: i64,
    pub level: String,
    pub level_colour: &'static str,
}

pub struct JobRow {
    pub job_type: String,
    pub runs: String,
    pub success: String,
    pub success_colour: &'static str,
    pub failed: i64,
    pub timeouts: i64,
    pub avg: String,
    pub slowest: String,
    pub last_error: Option<String>,
}

pub fn project_row(p: &ProjectHealth) -> ProjectRow {
    let now = p.health.map(f64::from);
    let before = p.health_last_week.map(f64::from);
    let delta = f::rounded_delta(now, before);
    let (arrow, change_colour) = f::trend(delta);
    ProjectRow {
        name: clean(&p.name, 60),
        health: p.health.map_or("n/a".into(), |h| h.to_string()),
        health_colour: f::health_colour(now),
        last_week: p.health_last_week.map_or("new".into(), |h| h.to_string()),
        change: delta.map_or("–".into(), |d| {
            format!("{arrow} {}", f::signed(d)).trim_start().to_owned()
        }),
        change_colour,
        open_bugs: f::int(p.open_bugs),
        critical: f::int(p.critical_open),
        revenue: f::money(p.revenue_at_risk),
    }
}

pub fn bug_row(b: &TopBug) -> BugRow {
    BugRow {
        title: clean(&b.title, 140),
        url: b.url.as_deref().and_then(f::web_link),
        project: clean(&b.project, 40),
        severity: clean(&b.severity, 20),
        severity_colour: f::hex(f::severity_colour(&b.severity)),
        revenue: f::money(b.revenue_at_risk),
        age: format!("{}d", b.age_days.max(0)),
        breached: b.sla_breached,
    }
}

pub fn week_row(w: &WeekVelocity) -> WeekRow {
    let net = w.opened - w.resolved;
    WeekRow {
        week: w.week_start.format("%-d %b").to_string(),
        opened: w.opened,
        resolved: w.resolved,
        net: f::signed(net),
        // A growing backlog is the bad direction here.
        net_colour: if net > 0 {
            f::RED
        } else if net < 0 {
            f::GREEN
        } else {
            f::GREY
        },
        prs: w.prs_merged,
    }
}

pub fn hotspot_row(h: &Hotspot) -> HotspotRow {
    HotspotRow {
        name: clean(&h.name, 50),
        open_bugs: h.open_bugs,
        weight: h.weight,
        level: clean(&h.level, 20),
        level_colour: f::load_colour(&h.level),
    }
}

pub fn job_row(j: &JobReliability) -> JobRow {
    JobRow {
        job_type: clean(&j.job_type, 40),
        runs: f::int(j.runs),
        success: f::percent(j.success_rate),
        success_colour: f::rate_colour(j.success_rate),
        failed: j.failed,
        timeouts: j.timeouts,
        avg: f::duration_ms(j.avg_ms),
        slowest: f::duration_ms(j.slowest_ms),
        last_error: j.last_error.as_deref().map(|e| clean(e, 200)),
    }
}

//! The HTML part: the data turned into display-ready rows, then handed to
//! the askama templates in `templates/report*`. Templates escape every
//! `{{ value }}`; nothing here marks text as safe, so untrusted text (bug
//! titles, project names, error messages) can only ever appear as text.

use askama::Template;

mod rows;

use rows::*;

use super::RenderError;
use super::charts::Chart;
use super::data::ReportData;
use super::format::{self as f, clean};

#[derive(Template)]
#[template(path = "report.html")]
struct ReportHtml<'a> {
    subject: &'a str,
    iso_week: &'a str,
    period: String,
    health: Headline,
    tiles: Vec<Tile>,
    projects: Vec<ProjectRow>,
    bugs: Vec<BugRow>,
    breaches: Vec<BreachRow>,
    breaches_total: i64,
    velocity: Vec<WeekRow>,
    hotspots: Vec<HotspotRow>,
    jobs: Vec<JobRow>,
    health_chart: Option<Img>,
    sla_chart: Option<Img>,
    velocity_chart: Option<Img>,
    generated: String,
    timezone: String,
    status_url: Option<String>,
}

struct Headline {
    value: String,
    colour: &'static str,
    /// `▲ +3 vs last week (71)`, empty when last week is unknown.
    change: String,
    change_colour: &'static str,
}

struct Tile {
    label: &'static str,
    value: String,
    colour: &'static str,
}

struct Img {
    cid: &'static str,
    alt: String,
    width: u32,
    height: u32,
}

pub fn render(data: &ReportData, subject: &str, charts: &[Chart]) -> Result<String, RenderError> {
    let tz = f::timezone(&data.timezone);
    let img = |cid: &str| {
        charts.iter().find(|c| c.content_id == cid).map(|c| Img {
            cid: c.content_id,
            alt: c.alt.clone(),
            width: c.width,
            height: c.height,
        })
    };
    let page = ReportHtml {
        subject,
        iso_week: &data.iso_week,
        period: f::period(data.period_start, data.period_end, tz),
        health: headline(data),
        tiles: tiles(data),
        projects: data.projects.iter().map(project_row).collect(),
        bugs: data.top_bugs.iter().map(bug_row).collect(),
        breaches: data
            .breaches_by_severity
            .iter()
            .map(|b| BreachRow {
                severity: clean(&b.severity, 20),
                colour: f::hex(f::severity_colour(&b.severity)),
                count: b.count,
            })
            .collect(),
        breaches_total: data.breaches_by_severity.iter().map(|b| b.count).sum(),
        velocity: data.velocity.iter().map(week_row).collect(),
        hotspots: data.workload_hotspots.iter().map(hotspot_row).collect(),
        jobs: data.jobs.iter().map(job_row).collect(),
        health_chart: img("health-trend"),
        sla_chart: img("sla-breaches"),
        velocity_chart: img("velocity"),
        generated: f::local_time(data.generated_at, tz),
        timezone: tz.name().to_owned(),
        status_url: data.status_url.as_deref().and_then(f::web_link),
    };
    Ok(page.render()?)
}

fn headline(data: &ReportData) -> Headline {
    let p = &data.portfolio;
    let delta = f::rounded_delta(p.average_health, p.average_health_last_week);
    let (arrow, change_colour) = f::trend(delta);
    let change = match (delta, p.average_health_last_week) {
        (Some(d), Some(last)) => format!("{arrow} {} vs last week ({last:.0})", f::signed(d))
            .trim_start()
            .to_owned(),
        _ => String::new(),
    };
    Headline {
        value: p.average_health.map_or("n/a".into(), |h| format!("{h:.0}")),
        colour: f::health_colour(p.average_health),
        change,
        change_colour,
    }
}

fn tiles(data: &ReportData) -> Vec<Tile> {
    let p = &data.portfolio;
    // Red only where a non-zero number needs someone's attention.
    let alarm = |n: i64| if n > 0 { f::RED } else { f::INK };
    let tile = |label, value, colour| Tile {
        label,
        value,
        colour,
    };
    let net = p.opened_this_week - p.resolved_this_week;
    vec![
        tile("Projects", f::int(p.projects), f::INK),
        tile("Open bugs", f::int(p.open_bugs), f::INK),
        tile(
            "Critical open",
            f::int(p.critical_open),
            alarm(p.critical_open),
        ),
        tile(
            "Blockers open",
            f::int(p.blockers_open),
            alarm(p.blockers_open),
        ),
        tile("Opened this week", f::int(p.opened_this_week), f::INK),
        tile("Resolved this week", f::int(p.resolved_this_week), f::INK),
        tile(
            "Open SLA breaches",
            f::int(p.sla_breaches_open),
            alarm(p.sla_breaches_open),
        ),
        tile("Revenue at risk / day", f::money(p.revenue_at_risk), f::INK),
        tile("Backlog change", f::signed(net), alarm(net)),
    ]
}

//! The plain-text part: the same facts as the HTML, in aligned columns
//! that read well in a terminal or a text-only client. Untrusted text goes
//! through `clean`, which drops control characters (ANSI escapes included).

use std::fmt::Write;

use super::data::ReportData;
use super::format::{self as f, clean};

pub fn render(data: &ReportData, subject: &str) -> String {
    let tz = f::timezone(&data.timezone);
    let p = &data.portfolio;
    let mut out = String::new();
    let o = &mut out;
    line(o, subject);
    line(o, &f::period(data.period_start, data.period_end, tz));

    heading(o, "SUMMARY");
    let delta = f::rounded_delta(p.average_health, p.average_health_last_week);
    let health = match (p.average_health, delta, p.average_health_last_week) {
        (Some(h), Some(d), Some(l)) => format!("{h:.0} ({} vs last week, {l:.0})", f::signed(d)),
        (Some(h), _, _) => format!("{h:.0}"),
        (None, _, _) => "n/a".into(),
    };
    let net = p.opened_this_week - p.resolved_this_week;
    let rows = [
        ("Average health", health),
        ("Projects", f::int(p.projects)),
        ("Open bugs", f::int(p.open_bugs)),
        ("Critical open", f::int(p.critical_open)),
        ("Blockers open", f::int(p.blockers_open)),
        ("Opened this week", f::int(p.opened_this_week)),
        ("Resolved this week", f::int(p.resolved_this_week)),
        ("Backlog change", f::signed(net)),
        ("Open SLA breaches", f::int(p.sla_breaches_open)),
        ("Revenue at risk / day", f::money(p.revenue_at_risk)),
    ];
    for (label, value) in rows {
        line(o, &format!("  {label:<22} {value}"));
    }

    heading(o, "HEALTH PER PROJECT");
    if data.projects.is_empty() {
        line(o, "  No projects tracked yet.");
    } else {
        let head = [
            "Project",
            "Health",
            "Last wk",
            "Change",
            "Open",
            "Crit",
            "At risk/day",
        ];
        let rows = data.projects.iter().map(|p| {
            let delta =
                f::rounded_delta(p.health.map(f64::from), p.health_last_week.map(f64::from));
            vec![
                clean(&p.name, 28),
                p.health.map_or("n/a".into(), |h| h.to_string()),
                p.health_last_week.map_or("new".into(), |h| h.to_string()),
                delta.map_or("-".into(), f::signed),
                f::int(p.open_bugs),
                f::int(p.critical_open),
                f::money(p.revenue_at_risk),
            ]
        });
        table(o, &head, rows.collect());
    }

    heading(o, "TOP BUGS BY REVENUE AT RISK");
    if data.top_bugs.is_empty() {
        line(o, "  No open bugs with revenue at risk.");
    }
    for (i, b) in data.top_bugs.iter().enumerate() {
        let breached = if b.sla_breached { "  SLA BREACHED" } else { "" };
        line(
            o,
            &format!(
                "  {:>2}. {}/day  {}  {}, open {}d{breached}",
                i + 1,
                f::money(b.revenue_at_risk),
                clean(&b.severity, 20),
                clean(&b.project, 40),
                b.age_days.max(0),
            ),
        );
        wrap(o, &clean(&b.title, 140), "      ", 0);
        if let Some(url) = b.url.as_deref().and_then(f::web_link) {
            line(o, &format!("      {}", clean(&url, 200)));
        }
    }

    heading(o, "SLA BREACHES BY SEVERITY");
    let total: i64 = data.breaches_by_severity.iter().map(|b| b.count).sum();
    if total == 0 {
        line(o, "  No SLA breaches this week.");
    } else {
        let max = data
            .breaches_by_severity
            .iter()
            .map(|b| b.count)
            .max()
            .unwrap_or(1)
            .max(1);
        for b in &data.breaches_by_severity {
            // A 30-character bar: the terminal's version of the chart.
            let bar = "#".repeat(((b.count.max(0) * 30 + max - 1) / max) as usize);
            line(
                o,
                &format!("  {:<10} {:>4}  {bar}", clean(&b.severity, 10), b.count),
            );
        }
        line(o, &format!("  {:<10} {total:>4}", "total"));
    }

    heading(o, "VELOCITY");
    if data.velocity.is_empty() {
        line(o, "  No velocity data yet.");
    } else {
        let head = ["Week of", "Opened", "Resolved", "Backlog", "PRs merged"];
        let rows = data.velocity.iter().map(|w| {
            vec![
                w.week_start.format("%-d %b %Y").to_string(),
                w.opened.to_string(),
                w.resolved.to_string(),
                f::signed(w.opened - w.resolved),
                w.prs_merged.to_string(),
            ]
        });
        table(o, &head, rows.collect());
    }

    heading(o, "WORKLOAD HOTSPOTS");
    if data.workload_hotspots.is_empty() {
        line(o, "  No workload hotspots: nobody is overloaded.");
    } else {
        let head = ["Who", "Open bugs", "Weight", "Load"];
        let rows = data.workload_hotspots.iter().map(|h| {
            vec![
                clean(&h.name, 30),
                h.open_bugs.to_string(),
                h.weight.to_string(),
                clean(&h.level, 12),
            ]
        });
        table(o, &head, rows.collect());
    }

    heading(o, "CRON JOB RELIABILITY");
    if data.jobs.is_empty() {
        line(o, "  No job runs this week.");
    } else {
        let head = [
            "Job", "Runs", "Success", "Failed", "Timeouts", "Avg", "Slowest",
        ];
        let rows = data.jobs.iter().map(|j| {
            vec![
                clean(&j.job_type, 24),
                f::int(j.runs),
                f::percent(j.success_rate),
                j.failed.to_string(),
                j.timeouts.to_string(),
                f::duration_ms(j.avg_ms),
                f::duration_ms(j.slowest_ms),
            ]
        });
        table(o, &head, rows.collect());
        let errors = data
            .jobs
            .iter()
            .filter_map(|j| Some((&j.job_type, j.last_error.as_deref()?)));
        for (job, err) in errors {
            let err = format!("Last error, {}: {}", clean(job, 24), clean(err, 200));
            wrap(o, &err, "  ", 4);
        }
    }

    line(o, "");
    line(o, "--");
    line(
        o,
        &format!(
            "Generated {} ({}) by Nightshift.",
            f::local_time(data.generated_at, tz),
            tz.name()
        ),
    );
    if let Some(url) = data.status_url.as_deref().and_then(f::web_link) {
        line(o, &format!("Status page: {}", clean(&url, 200)));
    }
    out
}

fn line(out: &mut String, s: &str) {
    out.push_str(s);
    out.push('\n');
}

/// Word-wraps to 78 columns so long titles and errors stay readable in a
/// terminal; continuation lines get `more` extra indent (a hanging indent
/// for "Last error, job:" lines). An overlong word (a URL) keeps its line.
fn wrap(out: &mut String, text: &str, indent: &str, more: usize) {
    let mut current = String::from(indent);
    let mut start = indent.len();
    for word in text.split(' ') {
        let len = current.chars().count();
        if len > start && len + 1 + word.chars().count() > 78 {
            line(out, &current);
            current = format!("{indent}{}", " ".repeat(more));
            start = current.len();
        }
        if current.len() > start {
            current.push(' ');
        }
        current.push_str(word);
    }
    line(out, &current);
}

fn heading(out: &mut String, title: &str) {
    let _ = write!(out, "\n{title}\n{}\n", "-".repeat(title.chars().count()));
}

/// Columns sized to their widest cell; the first is left-aligned (names),
/// the rest right-aligned (figures).
fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain(std::iter::once(head[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..head.len()).map(width).collect();
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&head).chain(rows.iter()) {
        let mut s = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if i == 0 {
                let _ = write!(s, " {cell}{pad}");
            } else {
                let _ = write!(s, "  {pad}{cell}");
            }
        }
        line(out, s.trim_end());
    }
}

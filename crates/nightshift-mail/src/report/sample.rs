//! Demo data that fills every section of the report: for previews, the
//! status page's example, and tests. Deterministic for a given `now`. It
//! includes hostile and awkward text on purpose (a `<script>` title, a very
//! long title, a multi-line error) so a preview shows how they come out.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};

use super::data::*;

pub fn sample(now: DateTime<Utc>) -> ReportData {
    // The report covers the last full ISO week, Monday to Monday at local
    // midnight in the org timezone, as the weekly task computes it.
    let tz = chrono_tz::Europe::Berlin;
    let local = now.with_timezone(&tz).date_naive();
    let monday = local - Duration::days(local.weekday().num_days_from_monday() as i64);
    let midnight = monday.and_time(NaiveTime::MIN);
    let period_end = midnight
        .and_local_timezone(tz)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc));
    let period_start = period_end - Duration::days(7);
    let week = (monday - Duration::days(7)).iso_week();

    ReportData {
        iso_week: format!("{}-W{:02}", week.year(), week.week()),
        period_start,
        period_end,
        generated_at: now,
        timezone: tz.name().into(),
        status_url: Some("https://status.example.com/".into()),
        portfolio: Portfolio {
            projects: 7,
            open_bugs: 248,
            critical_open: 12,
            blockers_open: 3,
            opened_this_week: 41,
            resolved_this_week: 37,
            sla_breaches_open: 9,
            revenue_at_risk: 48_250.0,
            average_health: Some(74.2),
            average_health_last_week: Some(70.8),
        },
        projects: vec![
            project("checkout-service", Some(52), Some(61), 41, 5, 21_400.0),
            project("payments-gateway", Some(63), Some(60), 33, 3, 14_800.0),
            project("mobile-app", Some(71), Some(71), 52, 2, 6_100.0),
            project("search", Some(78), Some(69), 27, 1, 3_250.0),
            project("web-frontend", Some(84), Some(86), 48, 1, 1_900.0),
            project("data-pipeline", Some(91), Some(88), 19, 0, 800.0),
            project("partner-api <beta>", Some(88), None, 28, 0, 0.0),
        ],
        top_bugs: vec![
            bug(
                "Card payments fail with 502 when 3-D Secure times out",
                "payments-gateway",
                "critical",
                9_800.0,
                6,
                true,
                Some("https://github.com/example/payments-gateway/issues/812"),
            ),
            bug(
                "<script>alert(1)</script>",
                "checkout-service",
                "critical",
                7_200.0,
                3,
                true,
                Some("https://github.com/example/checkout-service/issues/1290"),
            ),
            bug(
                "Cart total is off by one cent for orders with more than 20 line items and a percentage discount applied after tax in regions that round half-even, which finance noticed during the monthly reconciliation",
                "checkout-service",
                "high",
                5_400.0,
                19,
                true,
                Some("https://github.com/example/checkout-service/issues/1244"),
            ),
            bug(
                "Search results empty for queries with diacritics (é, ü, ß)",
                "search",
                "high",
                2_750.0,
                11,
                false,
                Some("https://github.com/example/search/issues/377"),
            ),
            bug(
                "iOS app crashes on launch after upgrading to 7.4.0 \"Aurora\"",
                "mobile-app",
                "high",
                2_300.0,
                2,
                false,
                Some("javascript:alert(document.cookie)"),
            ),
            bug(
                "Order confirmation e-mail sent twice & sometimes in the wrong locale",
                "checkout-service",
                "medium",
                1_100.0,
                27,
                false,
                None,
            ),
        ],
        breaches_by_severity: vec![
            breach("critical", 2),
            breach("high", 5),
            breach("medium", 7),
            breach("low", 3),
        ],
        velocity: (0..8)
            .map(|i| {
                // Eight weeks ending with the reported one.
                let week_start = monday - Duration::weeks(8 - i);
                const OPENED: [i64; 8] = [35, 42, 38, 51, 44, 39, 46, 41];
                const RESOLVED: [i64; 8] = [31, 36, 40, 43, 47, 42, 39, 37];
                const PRS: [i64; 8] = [58, 64, 61, 72, 69, 66, 70, 63];
                let i = i as usize;
                WeekVelocity {
                    week_start,
                    opened: OPENED[i],
                    resolved: RESOLVED[i],
                    prs_merged: PRS[i],
                }
            })
            .collect(),
        workload_hotspots: vec![
            hotspot("Dana Whitfield", 23, 71, "CRITICAL"),
            hotspot("Ravi Menon", 17, 52, "HIGH"),
            hotspot("Team Payments (unassigned)", 14, 44, "HIGH"),
            hotspot("Lucía Fernández", 9, 26, "MODERATE"),
        ],
        health_trend: (0..28)
            .map(|d| {
                // A dip in the middle of the month and a recovery since,
                // ending on the portfolio's current average.
                let wave =
                    |t: f64| -6.0 * (-(t - 12.0).powi(2) / 30.0).exp() + (t * 1.7).sin() * 1.2;
                let value = 74.2 + wave(d as f64) - wave(27.0);
                HealthPoint {
                    date: (period_end - Duration::days(28 - d))
                        .with_timezone(&tz)
                        .date_naive(),
                    average_health: (value * 10.0).round() / 10.0,
                }
            })
            .collect(),
        jobs: vec![
            job(
                "hourly_metrics",
                168,
                167,
                1,
                0,
                Some(4_200),
                Some(38_900),
                Some("GitHub API rate limit exceeded (403), retry after 1742s"),
            ),
            job(
                "daily_sync",
                7,
                6,
                0,
                1,
                Some(95_000),
                Some(300_000),
                Some("timed out after 300s\nwhile paging /repos/example/mobile-app/issues"),
            ),
            job(
                "weekly_report",
                1,
                1,
                0,
                0,
                Some(12_400),
                Some(12_400),
                None,
            ),
            job("health_check", 1, 0, 0, 0, None, None, None),
        ],
    }
}

fn project(
    name: &str,
    health: Option<i32>,
    last: Option<i32>,
    open: i64,
    critical: i64,
    revenue: f64,
) -> ProjectHealth {
    ProjectHealth {
        name: name.into(),
        health,
        health_last_week: last,
        open_bugs: open,
        critical_open: critical,
        revenue_at_risk: revenue,
    }
}

#[allow(clippy::too_many_arguments)] // a table row; named fields would only repeat the header
fn bug(
    title: &str,
    project: &str,
    severity: &str,
    revenue: f64,
    age: i64,
    breached: bool,
    url: Option<&str>,
) -> TopBug {
    TopBug {
        title: title.into(),
        project: project.into(),
        severity: severity.into(),
        revenue_at_risk: revenue,
        age_days: age,
        sla_breached: breached,
        url: url.map(Into::into),
    }
}

fn breach(severity: &str, count: i64) -> SeverityCount {
    SeverityCount {
        severity: severity.into(),
        count,
    }
}

fn hotspot(name: &str, open_bugs: i64, weight: i64, level: &str) -> Hotspot {
    Hotspot {
        name: name.into(),
        open_bugs,
        weight,
        level: level.into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn job(
    job_type: &str,
    runs: i64,
    completed: i64,
    failed: i64,
    timeouts: i64,
    avg_ms: Option<i64>,
    slowest_ms: Option<i64>,
    last_error: Option<&str>,
) -> JobReliability {
    let finished = completed + failed + timeouts;
    JobReliability {
        job_type: job_type.into(),
        runs,
        completed,
        failed,
        timeouts,
        success_rate: (finished > 0).then(|| completed as f64 / finished as f64),
        avg_ms,
        slowest_ms,
        last_error: last_error.map(Into::into),
    }
}

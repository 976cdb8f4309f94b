//! Gathers one week's facts for the CTO report. Every figure is computed for
//! the period [start, end) from the tables the other tasks maintain, so
//! re-gathering the same week later gives the same report.

use chrono::{DateTime, Duration, Utc};
use nightshift_mail::report::{
    HealthPoint, Hotspot, JobReliability, Portfolio, ProjectHealth, ReportData, SeverityCount,
    TopBug, WeekVelocity,
};
use sqlx::PgPool;

pub struct Period {
    pub iso_week: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub async fn gather(
    pool: &PgPool,
    period: &Period,
    now: DateTime<Utc>,
    timezone: &str,
    status_url: Option<String>,
    job_types: &[String],
) -> sqlx::Result<ReportData> {
    let (start, end) = (period.start, period.end);
    let p = sqlx::query!(
        r#"
        WITH latest AS (
            SELECT DISTINCT ON (m.project_id) m.project_id, m.health_score
              FROM project_metrics m JOIN projects p ON p.id = m.project_id AND p.status = 'active'
             WHERE m.date < $2::timestamptz::date ORDER BY m.project_id, m.date DESC
        ), previous AS (
            SELECT DISTINCT ON (m.project_id) m.project_id, m.health_score
              FROM project_metrics m JOIN projects p ON p.id = m.project_id AND p.status = 'active'
             WHERE m.date < $1::timestamptz::date ORDER BY m.project_id, m.date DESC
        )
        SELECT (SELECT count(*) FROM projects WHERE status = 'active') AS "projects!",
               count(*) FILTER (WHERE b.status IN ('open', 'in_progress')) AS "open!",
               count(*) FILTER (WHERE b.status IN ('open', 'in_progress') AND b.severity = 'critical') AS "critical!",
               count(*) FILTER (WHERE b.status IN ('open', 'in_progress') AND b.is_blocker) AS "blockers!",
               count(*) FILTER (WHERE b.created_at >= $1 AND b.created_at < $2) AS "opened!",
               count(*) FILTER (WHERE b.resolved_at >= $1 AND b.resolved_at < $2) AS "resolved!",
               count(*) FILTER (WHERE b.status IN ('open', 'in_progress') AND b.sla_deadline < $2) AS "breaches!",
               coalesce(sum(b.revenue_impact_daily) FILTER (WHERE b.status IN ('open', 'in_progress')), 0)::float8 AS "revenue!",
               (SELECT avg(health_score)::float8 FROM latest) AS health,
               (SELECT avg(health_score)::float8 FROM previous) AS health_prev
          FROM bugs b
        "#,
        start,
        end,
    )
    .fetch_one(pool)
    .await?;
    let portfolio = Portfolio {
        projects: p.projects,
        open_bugs: p.open,
        critical_open: p.critical,
        blockers_open: p.blockers,
        opened_this_week: p.opened,
        resolved_this_week: p.resolved,
        sla_breaches_open: p.breaches,
        revenue_at_risk: p.revenue,
        average_health: p.health,
        average_health_last_week: p.health_prev,
    };

    let projects = sqlx::query_as!(
        ProjectHealth,
        r#"
        SELECT p.name,
               (SELECT health_score FROM project_metrics WHERE project_id = p.id
                  AND date < $2::timestamptz::date ORDER BY date DESC LIMIT 1) AS health,
               (SELECT health_score FROM project_metrics WHERE project_id = p.id
                  AND date < $1::timestamptz::date ORDER BY date DESC LIMIT 1) AS health_last_week,
               count(b.id) AS "open_bugs!",
               count(b.id) FILTER (WHERE b.severity = 'critical') AS "critical_open!",
               coalesce(sum(b.revenue_impact_daily), 0)::float8 AS "revenue_at_risk!"
          FROM projects p
          LEFT JOIN bugs b ON b.project_id = p.id AND b.status IN ('open', 'in_progress')
         WHERE p.status = 'active'
         GROUP BY p.id
         ORDER BY 2 ASC NULLS LAST, p.name
         LIMIT 25
        "#,
        start,
        end,
    )
    .fetch_all(pool)
    .await?;

    // Confidential projects are named in the report, their bug titles are not:
    // the e-mail leaves the building.
    let top_bugs = sqlx::query_as!(
        TopBug,
        r#"
        SELECT CASE WHEN p.confidential THEN '(confidential)' ELSE b.title END AS "title!",
               p.name AS project, b.severity,
               b.revenue_impact_daily::float8 AS "revenue_at_risk!",
               extract(day FROM $1 - b.created_at)::int8 AS "age_days!",
               b.sla_deadline < $1 AS "sla_breached!",
               CASE WHEN b.external_source = 'github' AND NOT p.confidential
                    THEN format('https://github.com/%s/issues/%s', p.github_repo, b.external_number)
               END AS url
          FROM bugs b JOIN projects p ON p.id = b.project_id
         WHERE b.status IN ('open', 'in_progress') AND b.revenue_impact_daily > 0
         ORDER BY b.revenue_impact_daily DESC, b.id
         LIMIT 10
        "#,
        end,
    )
    .fetch_all(pool)
    .await?;

    // A breach of the week: a deadline that fell inside it while the bug was
    // still unresolved.
    let breaches_by_severity = sqlx::query_as!(
        SeverityCount,
        r#"
        SELECT s.severity AS "severity!", count(b.id) AS "count!"
          FROM unnest(ARRAY['critical', 'high', 'medium', 'low']) WITH ORDINALITY AS s(severity, ord)
          LEFT JOIN bugs b ON b.severity = s.severity
               AND b.sla_deadline >= $1 AND b.sla_deadline < $2
               AND (b.resolved_at IS NULL OR b.resolved_at > b.sla_deadline)
         GROUP BY s.severity, s.ord ORDER BY s.ord
        "#,
        start,
        end,
    )
    .fetch_all(pool)
    .await?;

    let velocity = sqlx::query_as!(
        WeekVelocity,
        r#"
        SELECT w::date AS "week_start!",
               (SELECT count(*) FROM bugs WHERE created_at >= w AND created_at < w + interval '7 days') AS "opened!",
               (SELECT count(*) FROM bugs WHERE resolved_at >= w AND resolved_at < w + interval '7 days') AS "resolved!",
               (SELECT count(*) FROM pull_requests WHERE merged_at >= w AND merged_at < w + interval '7 days') AS "prs_merged!"
          FROM generate_series($1::timestamptz - interval '7 weeks', $1::timestamptz, interval '7 days') AS w
         ORDER BY w
        "#,
        start,
    )
    .fetch_all(pool)
    .await?;

    let workload_hotspots = sqlx::query_as!(
        Hotspot,
        r#"
        SELECT u.name, count(*) AS "open_bugs!",
               sum(bug_weight(b.severity, b.is_blocker))::int8 AS "weight!",
               workload_level(sum(bug_weight(b.severity, b.is_blocker))) AS "level!"
          FROM bugs b JOIN users u ON u.id = b.assignee_id
         WHERE b.status IN ('open', 'in_progress')
         GROUP BY u.id ORDER BY 3 DESC, u.name LIMIT 5
        "#
    )
    .fetch_all(pool)
    .await?;

    let health_trend = sqlx::query_as!(
        HealthPoint,
        r#"
        SELECT m.date AS "date!", avg(m.health_score)::float8 AS "average_health!"
          FROM project_metrics m JOIN projects p ON p.id = m.project_id AND p.status = 'active'
         WHERE m.date >= ($1::timestamptz - interval '28 days')::date AND m.date < $1::timestamptz::date
         GROUP BY m.date ORDER BY m.date
        "#,
        end,
    )
    .fetch_all(pool)
    .await?;

    let jobs = sqlx::query_as!(
        JobReliability,
        r#"
        SELECT j.job_type AS "job_type!", count(h.id) AS "runs!",
               count(*) FILTER (WHERE h.status = 'completed') AS "completed!",
               count(*) FILTER (WHERE h.status = 'failed') AS "failed!",
               count(*) FILTER (WHERE h.status = 'timeout') AS "timeouts!",
               (count(*) FILTER (WHERE h.status = 'completed'))::float8
                 / nullif(count(*) FILTER (WHERE h.status IN ('completed', 'failed', 'timeout')), 0) AS success_rate,
               avg(h.execution_time_ms)::int8 AS avg_ms,
               max(h.execution_time_ms) AS slowest_ms,
               (array_agg(h.error_message ORDER BY h.started_at DESC)
                  FILTER (WHERE h.error_message IS NOT NULL))[1] AS last_error
          FROM unnest($3::text[]) AS j(job_type)
          LEFT JOIN job_history h ON h.job_type = j.job_type
               AND h.started_at >= $1 AND h.started_at < $2 AND h.trigger <> 'worker'
         GROUP BY j.job_type ORDER BY j.job_type
        "#,
        start,
        end,
        job_types,
    )
    .fetch_all(pool)
    .await?;

    Ok(ReportData {
        iso_week: period.iso_week.clone(),
        period_start: start,
        period_end: end,
        generated_at: now,
        timezone: timezone.to_owned(),
        status_url,
        portfolio,
        projects,
        top_bugs,
        breaches_by_severity,
        velocity,
        workload_hotspots,
        health_trend,
        jobs,
    })
}

/// The last complete ISO week before `now`, Monday to Monday in `tz`.
pub fn last_full_week(now: DateTime<Utc>, tz: chrono_tz::Tz) -> Period {
    use chrono::Datelike;
    let local = now.with_timezone(&tz).date_naive();
    let this_monday = local - Duration::days(i64::from(local.weekday().num_days_from_monday()));
    let monday = this_monday - Duration::days(7);
    let week = monday.iso_week();
    Period {
        iso_week: format!("{}-W{:02}", week.year(), week.week()),
        start: day_start(monday, tz),
        end: day_start(this_monday, tz),
    }
}

/// The first instant of local day `d`: midnight, or, in a zone that skips
/// midnight (DST starting at 00:00), the end of the gap, which is the instant
/// the previous day's last second ends (01:00 local for a one-hour gap).
fn day_start(d: chrono::NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    let midnight = d.and_hms_opt(0, 0, 0).expect("midnight is a time");
    if let Some(t) = tz.from_local_datetime(&midnight).earliest() {
        return t.with_timezone(&Utc);
    }
    let last_second = midnight - Duration::seconds(1);
    let before = tz
        .from_local_datetime(&last_second)
        .latest()
        .expect("a gap is never a day long");
    before.with_timezone(&Utc) + Duration::seconds(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_report_covers_the_previous_iso_week() {
        // Monday 2026-11-30 09:00 UTC: the week of Nov 23 (W48).
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap();
        let p = last_full_week(now, chrono_tz::UTC);
        assert_eq!(p.iso_week, "2026-W48");
        assert_eq!(
            p.start,
            Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
        );
        assert_eq!(p.end, Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap());
        // In Tokyo it is already Monday evening; the same week, local midnights.
        let p = last_full_week(now, chrono_tz::Asia::Tokyo);
        assert_eq!(p.iso_week, "2026-W48");
        assert_eq!(p.end, Utc.with_ymd_and_hms(2026, 11, 29, 15, 0, 0).unwrap());
        // Year boundary: 2027-01-04 is in W01 of 2027; the week before is 2026-W53.
        let now = Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap();
        assert_eq!(last_full_week(now, chrono_tz::UTC).iso_week, "2026-W53");
    }

    #[test]
    fn a_day_without_midnight_starts_when_its_gap_ends() {
        use chrono::NaiveDate;
        // Santiago moves 00:00 -> 01:00 on 2026-09-06 (-04 -> -03): 01:00
        // local is 04:00 UTC, not 01:00 UTC.
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = day_start(d, chrono_tz::America::Santiago);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 9, 6, 4, 0, 0).unwrap());
        // Havana moves 00:00 -> 01:00 on 2026-03-08 (-05 -> -04).
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let start = day_start(d, chrono_tz::America::Havana);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap());
        // A week that starts on such a day: Tehran skipped Monday 2021-03-22
        // 00:00 (+03:30 -> +04:30); the week starts at 01:00 local.
        let now = Utc.with_ymd_and_hms(2021, 3, 29, 9, 0, 0).unwrap();
        let p = last_full_week(now, chrono_tz::Asia::Tehran);
        assert_eq!(p.iso_week, "2021-W12");
        assert_eq!(
            p.start,
            Utc.with_ymd_and_hms(2021, 3, 21, 20, 30, 0).unwrap()
        );
    }
}

//! The facts of one weekly report, gathered from the database by the
//! `weekly_report` task and rendered here. Serializable, so the `reports` row
//! keeps exactly what was rendered.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReportData {
    /// ISO week label, e.g. `2026-W48`.
    pub iso_week: String,
    /// The week covered: [period_start, period_end).
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    /// IANA name of ORG_TIMEZONE, for showing local dates.
    pub timezone: String,
    /// Link to the status page (BASE_URL), when known.
    pub status_url: Option<String>,
    pub portfolio: Portfolio,
    pub projects: Vec<ProjectHealth>,
    pub top_bugs: Vec<TopBug>,
    pub breaches_by_severity: Vec<SeverityCount>,
    /// Oldest week first, usually 8 weeks.
    pub velocity: Vec<WeekVelocity>,
    pub workload_hotspots: Vec<Hotspot>,
    /// Portfolio average health per day, oldest first, usually 28 days.
    pub health_trend: Vec<HealthPoint>,
    pub jobs: Vec<JobReliability>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Portfolio {
    pub projects: i64,
    pub open_bugs: i64,
    pub critical_open: i64,
    pub blockers_open: i64,
    pub opened_this_week: i64,
    pub resolved_this_week: i64,
    pub sla_breaches_open: i64,
    /// Daily revenue at risk over all open bugs.
    pub revenue_at_risk: f64,
    pub average_health: Option<f64>,
    pub average_health_last_week: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProjectHealth {
    pub name: String,
    pub health: Option<i32>,
    /// Health a week earlier; `None` for a new project.
    pub health_last_week: Option<i32>,
    pub open_bugs: i64,
    pub critical_open: i64,
    pub revenue_at_risk: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TopBug {
    /// Untrusted text from GitHub: templates must escape it.
    pub title: String,
    pub project: String,
    pub severity: String,
    pub revenue_at_risk: f64,
    pub age_days: i64,
    pub sla_breached: bool,
    pub url: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeverityCount {
    /// critical, high, medium, low: always all four, in that order.
    pub severity: String,
    /// Bugs whose SLA deadline passed during the week.
    pub count: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WeekVelocity {
    pub week_start: NaiveDate,
    pub opened: i64,
    pub resolved: i64,
    pub prs_merged: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Hotspot {
    pub name: String,
    pub open_bugs: i64,
    pub weight: i64,
    /// LOW, MODERATE, HIGH, CRITICAL (the database's `workload_level()`).
    pub level: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HealthPoint {
    pub date: NaiveDate,
    pub average_health: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JobReliability {
    pub job_type: String,
    pub runs: i64,
    pub completed: i64,
    pub failed: i64,
    pub timeouts: i64,
    /// completed / finished runs, 0..=1; `None` when nothing finished.
    pub success_rate: Option<f64>,
    pub avg_ms: Option<i64>,
    pub slowest_ms: Option<i64>,
    /// Most recent failure message of the week, if any (untrusted text).
    pub last_error: Option<String>,
}

//! Which route runs which tasks, in which order. Schedules and maxDuration come
//! from vercel.json (embedded at build time), the file the platform reads.

use std::sync::Arc;

use nightshift_core::schedule::VercelJson;
use nightshift_core::{Route, RouteSpec, Task};

use crate::{daily, delivery, hourly, weekly};

pub const VERCEL_JSON: &str = include_str!("../../../vercel.json");

/// (name, path, job type) of every route.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("hourly", "/api/cron/hourly", "hourly_metrics"),
    ("daily", "/api/cron/daily", "daily_sync"),
    ("weekly", "/api/cron/weekly", "weekly_report"),
];

pub fn specs() -> Vec<RouteSpec> {
    let vercel = VercelJson::parse(VERCEL_JSON).expect("vercel.json is valid JSON");
    ROUTES
        .iter()
        .map(|&(name, path, job_type)| {
            let (schedule, max_duration) = vercel
                .route(path)
                .unwrap_or_else(|e| panic!("vercel.json does not describe {path}: {e}"));
            RouteSpec {
                name,
                path,
                job_type,
                schedule,
                max_duration,
            }
        })
        .collect()
}

fn tasks_of(name: &str) -> Vec<Arc<dyn Task>> {
    match name {
        "hourly" => vec![
            Arc::new(hourly::watch_jobs::WatchJobs),
            Arc::new(hourly::sla_risk::SlaRisk),
            Arc::new(hourly::escalations::Escalations),
            Arc::new(hourly::revenue_at_risk::RevenueAtRisk),
            Arc::new(hourly::velocity::Velocity),
            Arc::new(hourly::workload::Workload),
            Arc::new(hourly::alerts::Alerts),
            Arc::new(hourly::refresh_dashboard::RefreshDashboard),
            Arc::new(hourly::reminders::Reminders),
            Arc::new(delivery::ComposeDigests),
            Arc::new(delivery::DeliverNotifications),
        ],
        "daily" => vec![
            Arc::new(daily::github_sync::GithubSync),
            Arc::new(daily::daily_metrics::DailyMetrics),
            Arc::new(daily::anomalies::Anomalies),
            Arc::new(daily::due_soon_digest::DueSoonDigest),
            // Before the export: the live ledger it copies is then bounded.
            Arc::new(daily::log_cleanup::LogCleanup::default()),
            Arc::new(daily::export::Export::default()),
        ],
        "weekly" => vec![
            Arc::new(weekly::weekly_report::WeeklyReport),
            Arc::new(weekly::archive::Archive::default()),
            Arc::new(weekly::health_check::HealthCheck),
            Arc::new(delivery::DeliverNotifications),
        ],
        other => unreachable!("no task list for route {other}"),
    }
}

pub fn routes() -> Vec<Route> {
    specs()
        .into_iter()
        .map(|spec| Route {
            tasks: tasks_of(spec.name),
            spec,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_schedule_and_tasks() {
        let routes = routes();
        assert_eq!(routes.len(), 3);
        for r in &routes {
            assert!(!r.tasks.is_empty(), "{} has no tasks", r.spec.name);
            assert!(r.spec.max_duration.as_secs() > 20);
        }
        let hourly = &routes[0];
        assert_eq!(hourly.spec.schedule.expr(), "0 * * * *");
    }
}

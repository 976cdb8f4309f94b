//! Which route runs which tasks, in which order. Schedules and maxDuration come
//! from vercel.json (embedded at build time), the file the platform reads.

use std::sync::Arc;

use nightshift_core::follow_up::SlotPolicy;
use nightshift_core::schedule::VercelJson;
use nightshift_core::{Route, RouteSpec, Task, bind};

use crate::{TasksConfig, daily, delivery, hourly, weekly};

pub const VERCEL_JSON: &str = include_str!("../../../vercel.json");

/// Every route, in one table: its name, path, job type, slot policy and the
/// tasks it runs, in order. Adding a task is one file, one `mod` line and one line here.
const REGISTRY: &[Entry] = &[
    Entry {
        name: "hourly",
        path: "/api/cron/hourly",
        job_type: "hourly_metrics",
        slots: SlotPolicy::HOURLY,
        tasks: || {
            vec![
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
            ]
        },
    },
    Entry {
        name: "daily",
        path: "/api/cron/daily",
        job_type: "daily_sync",
        slots: SlotPolicy::DAILY,
        tasks: || {
            vec![
                Arc::new(daily::github_sync::GithubSync),
                Arc::new(daily::daily_metrics::DailyMetrics),
                Arc::new(daily::anomalies::Anomalies),
                Arc::new(daily::due_soon_digest::DueSoonDigest),
                // Before the export: the live ledger it copies is then bounded.
                Arc::new(daily::log_cleanup::LogCleanup::default()),
                Arc::new(daily::export::Export::default()),
            ]
        },
    },
    Entry {
        name: "weekly",
        path: "/api/cron/weekly",
        job_type: "weekly_report",
        slots: SlotPolicy::WEEKLY,
        tasks: || {
            vec![
                Arc::new(weekly::weekly_report::WeeklyReport),
                Arc::new(weekly::archive::Archive::default()),
                Arc::new(weekly::health_check::HealthCheck),
                Arc::new(delivery::DeliverNotifications),
            ]
        },
    },
];

struct Entry {
    name: &'static str,
    path: &'static str,
    job_type: &'static str,
    /// Retries, continuations, missed slots: the back-offs and catch-up
    /// windows of crates/nightshift-core/src/spec.rs, chosen per route.
    slots: SlotPolicy,
    tasks: fn() -> Vec<Arc<dyn Task<TasksConfig>>>,
}

impl Entry {
    fn spec(&self, vercel: &VercelJson) -> RouteSpec {
        let (schedule, max_duration) = vercel
            .route(self.path)
            .unwrap_or_else(|e| panic!("vercel.json does not describe {}: {e}", self.path));
        RouteSpec {
            name: self.name,
            path: self.path,
            job_type: self.job_type,
            schedule,
            max_duration,
            slots: self.slots,
        }
    }
}

fn vercel() -> VercelJson {
    VercelJson::parse(VERCEL_JSON).expect("vercel.json is valid JSON")
}

pub fn specs() -> Vec<RouteSpec> {
    let vercel = vercel();
    REGISTRY.iter().map(|e| e.spec(&vercel)).collect()
}

/// Every route with its tasks bound to `env`: what core's `App` runs.
pub fn routes(env: Arc<TasksConfig>) -> Vec<Route> {
    let vercel = vercel();
    REGISTRY
        .iter()
        .map(|e| Route {
            spec: e.spec(&vercel),
            tasks: (e.tasks)()
                .into_iter()
                .map(|task| bind(Arc::clone(&env), task))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_schedule_and_tasks() {
        let routes = routes(Arc::default());
        assert_eq!(routes.len(), 3);
        for r in &routes {
            assert!(!r.tasks.is_empty(), "{} has no tasks", r.spec.name);
            assert!(r.spec.max_duration.as_secs() > 20);
        }
        let hourly = &routes[0];
        assert_eq!(hourly.spec.schedule.expr(), "0 * * * *");
    }
}

//! Every route, every task, on a database with the schema and nothing else.

mod common;

use common::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn every_task_runs_on_an_empty_database(pool: PgPool) {
    let t = real_app(&pool);
    for route in ["hourly", "daily", "weekly"] {
        let a = call_once(&t.app, &format!("/api/cron/{route}")).await;
        assert_eq!(a.status, 200, "{route}: {:?}", a.body);
        assert_eq!(a.body["outcome"], "completed");
        for task in a.body["tasks"].as_array().unwrap() {
            assert_eq!(task["status"], "success", "{route}: {task}");
        }
    }
    let hourly = call_once(&t.app, "/api/cron/hourly?force=true").await;
    let names: Vec<&str> = hourly.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "watch_jobs",
            "sla_risk",
            "escalations",
            "revenue_at_risk",
            "velocity",
            "workload",
            "alerts",
            "refresh_dashboard",
            "reminders",
            "compose_digests",
            "deliver_notifications"
        ]
    );
}

//! Every route, every task, on a database with the schema and nothing else.

use crate::common::*;
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
    // Forced again, each route reports every task of the registry, in its order:
    // the registry is the one list (crates/nightshift-tasks/src/registry.rs).
    for route in routes() {
        let again = call_once(&t.app, &format!("{}?force=true", route.spec.path)).await;
        let ran: Vec<&str> = again.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let listed: Vec<&str> = route.tasks.iter().map(|t| t.name()).collect();
        assert_eq!(ran, listed, "{}", route.spec.name);
        assert!(!listed.is_empty(), "{} runs no task", route.spec.name);
    }
}

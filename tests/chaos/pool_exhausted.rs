//! Scenario 3: all DATABASE_MAX_CONNECTIONS connections of the task pool are
//! held by someone else. A warm route still answers `timeout` within its
//! budget and the ledger (its own connections) records the run; a cold one
//! answers 503 with Retry-After and writes nothing. Once the connections
//! are back, the next call completes the slot, once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nightshift_core::{App, Config};
use nightshift_testkit::db::database_url;
use sqlx::PgPool;

use crate::common::*;
use crate::support::*;

const MAX: u32 = 2;
const BUDGET_SECS: u64 = 2;

async fn production_app(pool: &PgPool) -> Arc<App> {
    let url = database_url(pool).await;
    let cfg = Config::from_lookup(|k| match k {
        "CRON_SECRET" => Some(SECRET.into()),
        "DATABASE_URL" => Some(url.clone()),
        "DATABASE_MAX_CONNECTIONS" => Some(MAX.to_string()),
        "JOB_BUDGET_SECS" => Some(BUDGET_SECS.to_string()),
        _ => None,
    })
    .unwrap();
    Arc::new(App::new(cfg, routes()).unwrap())
}

async fn hold_all(app: &App) -> Vec<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let task_pool = app.db.pool().unwrap();
    let mut held = Vec::new();
    for _ in 0..MAX {
        held.push(task_pool.acquire().await.unwrap());
    }
    held
}

#[sqlx::test(migrations = "./migrations")]
async fn a_held_pool_times_out_in_budget_and_is_recorded(pool: PgPool) {
    clear_of_the_hour_turn(Duration::from_secs(20)).await;
    let app = production_app(&pool).await;
    let base = serve(app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/hourly");
    // Warm: the schema check has run, as in a container that served before.
    let dry = call(&client, &format!("{url}?dry_run=true"), Some(&bearer())).await;
    assert_eq!(dry.status, 200, "{}", dry.body);

    let held = hold_all(&app).await;
    let started = Instant::now();
    let a = call(&client, &url, Some(&bearer())).await;
    let took = started.elapsed();
    assert_eq!(a.status, 504, "{}", a.body);
    assert_eq!(a.body["outcome"], "timeout");
    assert!(
        took < Duration::from_secs(BUDGET_SECS + 2),
        "answered after {took:?}, budget {BUDGET_SECS} s"
    );
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, error_message FROM job_history")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "timeout", "{error:?}");
    let tasks = app.route("hourly").unwrap().tasks.len() as i64;
    assert_eq!(
        task_events(&pool).await,
        tasks,
        "one event per task, whatever happened"
    );

    drop(held);
    let b = call(&client, &url, Some(&bearer())).await;
    assert_eq!(b.body["outcome"], "completed", "{}", b.body);
    assert_eq!(completed_runs(&pool).await, 1);
    assert_eq!(task_events(&pool).await, 2 * tasks);
    assert_ledger_sound(&pool).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_held_pool_on_a_cold_start_is_503_and_writes_nothing(pool: PgPool) {
    let app = production_app(&pool).await;
    let held = hold_all(&app).await;
    let a = call_once(&app, "/api/cron/hourly").await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.headers["retry-after"], "30");
    assert_eq!(a.body["error"], "database_unavailable");
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 0);
    drop(held);
    let b = call_once(&app, "/api/cron/hourly").await;
    assert_eq!(b.body["outcome"], "completed", "{}", b.body);
    assert_ledger_sound(&pool).await;
}

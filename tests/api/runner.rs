//! Tasks that panic, hang, flake, fail for good or run out of time: the
//! others still run and the bookkeeping is always written.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::*;
use nightshift_core::Task;
use serde_json::Value;
use sqlx::PgPool;

async fn run(pool: &PgPool, tasks: Vec<Arc<dyn Task>>, budget: Duration) -> Answer {
    let t = custom_app(pool, tasks, budget);
    call_once(&t.app, "/api/cron/hourly").await
}

fn task<'a>(a: &'a Answer, name: &str) -> &'a Value {
    a.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
}

/// The run row and one sync event per task are there, whatever happened.
async fn assert_bookkeeping(pool: &PgPool, status: &str, tasks: i64) {
    let row: (String, Option<i64>, Option<Value>) =
        sqlx::query_as("SELECT status, execution_time_ms, result FROM job_history")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(row.0, status);
    assert!(row.1.is_some() && row.2.is_some());
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM sync_events WHERE event_type = 'task'"
        )
        .await,
        tasks
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_panic_stays_in_its_task(pool: PgPool) {
    let a = run(
        &pool,
        vec![Arc::new(Panics), Arc::new(Fine("after"))],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(a.status, 500);
    assert_eq!(a.body["outcome"], "failed");
    assert_eq!(task(&a, "panics")["status"], "failed");
    assert!(
        task(&a, "panics")["error"]
            .as_str()
            .unwrap()
            .contains("boom in a task")
    );
    assert_eq!(task(&a, "after")["status"], "success");
    assert_bookkeeping(&pool, "failed", 2).await;
    let msg: String = sqlx::query_scalar("SELECT error_message FROM job_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(msg.starts_with("panics: task panicked"), "{msg}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_hung_task_is_cut_off_and_the_rest_run(pool: PgPool) {
    let a = run(
        &pool,
        vec![Arc::new(Hangs), Arc::new(Fine("after"))],
        Duration::from_millis(1500),
    )
    .await;
    assert_eq!(a.status, 504, "{:?}", a.body);
    assert_eq!(a.body["outcome"], "timeout");
    assert_eq!(task(&a, "hangs")["status"], "timeout");
    assert_eq!(task(&a, "after")["status"], "success");
    assert_bookkeeping(&pool, "timeout", 2).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_transient_error_is_retried(pool: PgPool) {
    let flaky = Arc::new(FlakyOnce(AtomicU32::new(0)));
    let a = run(
        &pool,
        vec![flaky.clone(), Arc::new(Fine("after"))],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(task(&a, "flaky")["status"], "success");
    assert_eq!(task(&a, "flaky")["attempts"], 2);
    assert_eq!(flaky.0.load(Ordering::SeqCst), 2);
    assert_bookkeeping(&pool, "completed", 2).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_permanent_error_is_not_retried(pool: PgPool) {
    let bad = Arc::new(Permanent(AtomicU32::new(0)));
    let a = run(
        &pool,
        vec![bad.clone(), Arc::new(Fine("after"))],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(a.status, 500);
    assert_eq!(task(&a, "permanent")["attempts"], 1);
    assert_eq!(bad.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        task(&a, "permanent")["error"],
        "row 17 has no project: bad data"
    );
    assert_eq!(task(&a, "after")["status"], "success");
    assert_bookkeeping(&pool, "failed", 2).await;
    let failed = count(
        &pool,
        "SELECT count(*) FROM sync_events WHERE status = 'failed' AND source = 'permanent'",
    )
    .await;
    assert_eq!(failed, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn batches_stop_at_the_deadline_with_more_work(pool: PgPool) {
    let a = run(
        &pool,
        vec![Arc::new(Batches), Arc::new(Fine("after"))],
        Duration::from_millis(1200),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["outcome"], "completed");
    assert_eq!(a.body["more_work"], true);
    assert_eq!(task(&a, "batches")["status"], "success");
    assert!(task(&a, "batches")["records_processed"].as_i64().unwrap() > 0);
    assert_eq!(task(&a, "after")["status"], "success");
    assert_bookkeeping(&pool, "completed", 2).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_platform_deadline_shortens_the_budget(pool: PgPool) {
    use tower::ServiceExt;
    let t = real_app(&pool);
    // Lambda says this invocation ends in 40 s: the run gets 40 - 20 s of
    // bookkeeping, not the 280 s that vercel.json's maxDuration would give.
    let req = axum::http::Request::post("/api/cron/hourly")
        .header("authorization", bearer())
        .extension(nightshift_core::InvocationDeadline(
            std::time::SystemTime::now() + Duration::from_secs(40),
        ))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = nightshift_core::single_route_router(t.app.clone(), "hourly")
        .oneshot(req)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    let budget = body["budget_ms"].as_u64().unwrap();
    assert!((19_000..=20_000).contains(&budget), "{body}");
    let lease: (f64,) = sqlx::query_as(
        "SELECT extract(epoch FROM lease_expires_at - now())::float8 FROM job_history",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        lease.0 <= 40.0,
        "the lease ends with the invocation: {}",
        lease.0
    );
    // Without a platform deadline, vercel.json's maxDuration decides.
    let a = call_once(&t.app, "/api/cron/hourly?force=true").await;
    assert_eq!(a.body["budget_ms"], 280_000);
}

//! Scenario 2: Postgres itself goes away (a throwaway cluster of the test's
//! own, never the shared server). Stopped mid-run, the run answers one of
//! its documented errors (500, 503 or 504), whatever it could not write is
//! swept once its lease expires, and the first call after the restart that
//! finds the slot free completes it, once. Unreachable at the start of a
//! call: 503 with Retry-After, and the same process serves again as soon as
//! the server is back.

use std::sync::Arc;
use std::time::Duration;

use nightshift_core::{App, Config};
use sqlx::PgPool;

use crate::common::*;
use crate::own_postgres::OwnPostgres;
use crate::support::*;

async fn migrated(pg: &OwnPostgres) -> PgPool {
    let pool = PgPool::connect(&pg.url()).await.unwrap();
    nightshift_core::db::MIGRATOR.run(&pool).await.unwrap();
    pool
}

/// The app as a route binary builds it from its environment.
fn app_on(pg: &OwnPostgres, budget_secs: u64) -> Arc<App> {
    let url = pg.url();
    let cfg = Config::from_lookup(|k| match k {
        "CRON_SECRET" => Some(SECRET.into()),
        "DATABASE_URL" => Some(url.clone()),
        "JOB_BUDGET_SECS" => Some(budget_secs.to_string()),
        _ => None,
    })
    .unwrap();
    Arc::new(App::new(cfg, routes()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_at_the_start_is_503_then_serves_again() {
    let pg = OwnPostgres::start();
    let pool = migrated(&pg).await;
    let app = app_on(&pg, 10);
    let base = serve(app).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/hourly?force=true");
    pool.close().await;
    pg.stop();

    let a = call(&client, &url, Some(&bearer())).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.headers["retry-after"], "30");
    assert_eq!(a.body["error"], "database_unavailable");

    pg.pg_ctl_start();
    let b = call(&client, &url, Some(&bearer())).await;
    assert_eq!(b.body["outcome"], "completed", "{}", b.body);
    let pool = PgPool::connect(&pg.url()).await.unwrap();
    assert_eq!(run_counts(&pool).await.len(), 1);
    assert_eq!(completed_runs(&pool).await, 1);
    assert_ledger_sound(&pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: scripts/chaos"]
async fn stopped_mid_run_then_restarted_completes_the_slot_once() {
    const BUDGET_SECS: u64 = 4;
    clear_of_the_hour_turn(Duration::from_secs(60)).await;
    let pg = OwnPostgres::start();
    let pool = migrated(&pg).await;
    let base = serve(app_on(&pg, BUDGET_SECS)).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/hourly");

    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE bugs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let pending = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move { call(&client, &url, Some(&bearer())).await }
    });
    lock_waiter(&pool).await;
    let (first, slot): (uuid::Uuid, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT id, slot FROM job_history WHERE status = 'running'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pg.stop();
    drop(lock);
    let a = pending.await.unwrap();
    println!("stopped mid-run: {} {}", a.status, a.body);
    assert!(
        [500, 503, 504].contains(&a.status),
        "{}: {}",
        a.status,
        a.body
    );

    pg.pg_ctl_start();
    let pool = PgPool::connect(&pg.url()).await.unwrap();
    let done = eventually(Duration::from_secs(40), "the slot to run again", || async {
        let b = call(&client, &url, Some(&bearer())).await;
        (b.body["outcome"] != "skipped_duplicate").then_some(b)
    })
    .await;
    assert_eq!(done.body["outcome"], "completed", "{}", done.body);

    let runs: Vec<(uuid::Uuid, String)> = runs_of_slot(&pool, slot).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].0, first);
    assert_ne!(runs[0].1, "completed", "{runs:?}");
    assert_eq!(runs[1].1, "completed");
    // No task of the interrupted run recorded twice.
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT source FROM sync_events WHERE job_id = $1
          AND event_type = 'task' GROUP BY source HAVING count(*) > 1) d",
    )
    .bind(first)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(doubled, 0);
    assert_ledger_sound(&pool).await;
}

//! prune_history moves old ledger rows to the archive without losing or
//! copying any, in bounded batches, and stops cleanly at its deadline.

mod common;

use std::time::Duration;

use chrono::Duration as Age;
use common::*;
use nightshift_core::Task;
use nightshift_tasks::daily::prune_history::PruneHistory;
use sqlx::PgPool;

async fn seed(pool: &PgPool) {
    // 2 500 old events and 100 recent ones; 1 200 old finished runs, one old
    // run still marked running, 10 recent runs.
    sqlx::query(
        "INSERT INTO sync_events (event_type, source, status, created_at)
         SELECT 'task', 'x', 'success', $1 - make_interval(mins => g) FROM generate_series(1, 2500) g
         UNION ALL
         SELECT 'task', 'x', 'success', $2 FROM generate_series(1, 100)",
    )
    .bind(t0() - Age::days(31))
    .bind(t0() - Age::days(1))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, status, trigger, started_at, lease_expires_at)
         SELECT gen_random_uuid(), 'daily_sync', '/api/cron/daily',
                CASE WHEN g = 1 THEN 'running' ELSE 'completed' END, 'cron',
                $1 - make_interval(mins => g), $1
           FROM generate_series(1, 1201) g
         UNION ALL
         SELECT gen_random_uuid(), 'daily_sync', '/api/cron/daily', 'completed', 'cron', $2, $2
           FROM generate_series(1, 10)",
    )
    .bind(t0() - Age::days(40))
    .bind(t0() - Age::days(2))
    .execute(pool)
    .await
    .unwrap();
}

async fn totals(pool: &PgPool) -> [i64; 4] {
    [
        count(pool, "SELECT count(*) FROM sync_events").await,
        count(pool, "SELECT count(*) FROM sync_events_archive").await,
        count(pool, "SELECT count(*) FROM job_history").await,
        count(pool, "SELECT count(*) FROM job_history_archive").await,
    ]
}

#[sqlx::test(migrations = "../../migrations")]
async fn moves_old_rows_in_batches_and_loses_none(pool: PgPool) {
    seed(&pool).await;
    assert_eq!(totals(&pool).await, [2600, 0, 1211, 0]);
    let report = PruneHistory::default()
        .run(&ctx(&pool, t0()))
        .await
        .unwrap();
    assert!(!report.more_work);
    assert_eq!(report.records_processed, 2500 + 1200);
    // sync_events: batches of 1000, 1000, 500; job_history: 1000, 200.
    assert_eq!(report.details["batches"], 5);
    assert_eq!(totals(&pool).await, [100, 2500, 11, 1200]);
    // The old run that is still running stays live.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history WHERE status = 'running'"
        )
        .await,
        1
    );
    // Same columns, same values: the archive is the row that left.
    let same: bool = sqlx::query_scalar(
        "SELECT bool_and(a.status = 'completed' AND a.route = '/api/cron/daily') FROM job_history_archive a",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(same);
    // A second run has nothing to move.
    let again = PruneHistory::default()
        .run(&ctx(&pool, t0()))
        .await
        .unwrap();
    assert_eq!(again.records_processed, 0);
    assert_eq!(totals(&pool).await, [100, 2500, 11, 1200]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn stops_at_the_deadline_and_the_next_run_finishes(pool: PgPool) {
    seed(&pool).await;
    // No time at all: nothing moves, and it says there is more.
    let stopped = PruneHistory::default()
        .run(&ctx_with_deadline(&pool, t0(), Duration::ZERO))
        .await
        .unwrap();
    assert!(stopped.more_work);
    assert_eq!(stopped.records_processed, 0);
    // A batch size that needs many batches, interrupted by nothing but time:
    // whatever was moved is in the archive, whatever was not is still live.
    let small = PruneHistory {
        batch_size: 100,
        ..Default::default()
    };
    let partial = small.run(&ctx(&pool, t0())).await.unwrap();
    let [live_e, arch_e, live_j, arch_j] = totals(&pool).await;
    assert_eq!(live_e + arch_e, 2600);
    assert_eq!(live_j + arch_j, 1211);
    assert_eq!(partial.records_processed, arch_e + arch_j);
    let rest = PruneHistory::default()
        .run(&ctx(&pool, t0()))
        .await
        .unwrap();
    assert!(!rest.more_work);
    assert_eq!(totals(&pool).await, [100, 2500, 11, 1200]);
}

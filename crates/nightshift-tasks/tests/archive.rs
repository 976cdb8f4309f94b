//! archive keeps the newest ledger rows live and moves the rest to the
//! archive without losing or copying any, in bounded batches; it stops
//! cleanly between batches, and purges archive rows past their retention.

mod common;

use std::time::Duration;

use chrono::Duration as Age;
use common::*;
use nightshift_core::Task;
use nightshift_tasks::weekly::archive::Archive;
use sqlx::PgPool;

/// Small live windows so the test data stays small; production keeps
/// 10 000 events and 1 000 runs (`Archive::default()`).
fn archive() -> Archive {
    Archive {
        keep_events: 100,
        keep_runs: 10,
        ..Archive::default()
    }
}

async fn seed(pool: &PgPool) {
    // 2 500 old events, 50 young import events (github_sync), then 100 newest.
    sqlx::query(
        "INSERT INTO sync_events (event_type, source, status, created_at)
         SELECT 'task', 'x', 'success', $1 + make_interval(mins => g) FROM generate_series(1, 2500) g
         UNION ALL
         SELECT 'task', 'github_sync', 'success', $2 FROM generate_series(1, 50)
         UNION ALL
         SELECT 'task', 'x', 'success', $3 FROM generate_series(1, 100)",
    )
    .bind(t0() - Age::days(120))
    .bind(t0() - Age::days(10))
    .bind(t0() - Age::hours(1))
    .execute(pool)
    .await
    .unwrap();
    // 1 200 old finished runs, one old run still marked running, 10 newest.
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

/// Live: 100 newest + 50 young imports; runs: 10 newest + the running one.
const SETTLED: [i64; 4] = [150, 2500, 11, 1200];

#[sqlx::test(migrations = "../../migrations")]
async fn keeps_the_newest_live_and_loses_nothing(pool: PgPool) {
    seed(&pool).await;
    assert_eq!(totals(&pool).await, [2650, 0, 1211, 0]);
    let report = archive().run(&ctx(&pool, t0())).await.unwrap();
    assert!(!report.more_work);
    assert_eq!(report.records_processed, 2500 + 1200);
    // sync_events: batches of 1000, 1000, 500; job_history: 1000, 200;
    // one empty purge batch per archive table.
    assert_eq!(report.details["batches"], 7);
    assert_eq!(totals(&pool).await, SETTLED);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM sync_events WHERE source = 'github_sync'"
        )
        .await,
        50
    );
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
    let again = archive().run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(again.records_processed, 0);
    assert_eq!(totals(&pool).await, SETTLED);
}

#[sqlx::test(migrations = "../../migrations")]
async fn stopped_between_batches_it_loses_nothing_and_resumes(pool: PgPool) {
    seed(&pool).await;
    let stopped = archive()
        .run(&ctx_with_deadline(&pool, t0(), Duration::ZERO))
        .await
        .unwrap();
    assert!(stopped.more_work);
    assert_eq!(stopped.records_processed, 0);
    // Stopped after each batch in turn: live + archive always add up.
    let mut runs = 0;
    loop {
        let one = Archive {
            batch_size: 400,
            max_batches: 1,
            ..archive()
        };
        let report = one.run(&ctx(&pool, t0())).await.unwrap();
        let [live_e, arch_e, live_j, arch_j] = totals(&pool).await;
        assert_eq!(live_e + arch_e, 2650);
        assert_eq!(live_j + arch_j, 1211);
        runs += 1;
        if !report.more_work {
            break;
        }
        assert_eq!(report.records_processed, 400.min(report.records_processed));
        assert!(runs < 20, "never settles");
    }
    assert_eq!(totals(&pool).await, SETTLED);
}

#[sqlx::test(migrations = "../../migrations")]
async fn archive_rows_past_retention_are_purged(pool: PgPool) {
    seed(&pool).await;
    archive().run(&ctx(&pool, t0())).await.unwrap();
    // A year later (default retention 365 days) the oldest archived events
    // (120 days before t0) and runs (40 days before) are gone for good;
    // the import events, no longer young, move to the archive in turn.
    let later = t0() + Age::days(300);
    let report = archive().run(&ctx(&pool, later)).await.unwrap();
    assert_eq!(report.details["sync_events_archived"], 50);
    assert_eq!(report.details["sync_events_purged"], 2500);
    assert_eq!(report.details["job_history_purged"], 0);
    assert_eq!(totals(&pool).await, [100, 50, 11, 1200]);
}

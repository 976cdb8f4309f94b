//! log_cleanup moves sync events and finished runs past LOG_RETENTION_DAYS
//! into the archive, keeping each job type's newest 1 000 runs and every
//! running one, without losing or copying a row, in bounded batches.

mod common;

use std::time::Duration;

use chrono::Duration as Age;
use common::*;
use nightshift_core::Task;
use nightshift_tasks::daily::log_cleanup::LogCleanup;
use sqlx::PgPool;

async fn events(pool: &PgPool, days_old: i64, n: i32) {
    sqlx::query(
        "INSERT INTO sync_events (event_type, source, status, message, created_at)
         SELECT 'task', 'x', 'success', $1::text || ':' || g, $2 FROM generate_series(1, $3) g",
    )
    .bind(format!("{days_old}d"))
    .bind(t0() - Age::days(days_old))
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

/// `n` runs of `job` started `days_old` days ago (minus g minutes).
async fn runs(pool: &PgPool, job: &str, status: &str, days_old: i64, n: i32) {
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, status, trigger, started_at, lease_expires_at)
         SELECT gen_random_uuid(), $1, '/api/cron/x', $2, 'manual', $3 - make_interval(mins => g), $3
           FROM generate_series(1, $4) g",
    )
    .bind(job)
    .bind(status)
    .bind(t0() - Age::days(days_old))
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_31_day_old_event_moves_a_29_day_old_one_stays(pool: PgPool) {
    events(&pool, 31, 2500).await;
    events(&pool, 29, 3).await;
    let before: String = sqlx::query_scalar(
        "SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM sync_events e WHERE created_at < $1",
    )
    .bind(t0() - Age::days(30))
    .fetch_one(&pool)
    .await
    .unwrap();
    let report = LogCleanup::default().run(&ctx(&pool, t0())).await.unwrap();
    assert!(!report.more_work);
    assert_eq!(report.details["sync_events_archived"], 2500);
    // Batches of 1 000: 1 000, 1 000, 500 events, then one empty run batch.
    assert_eq!(report.details["batches"], 4);
    assert_eq!(count(&pool, "SELECT count(*) FROM sync_events").await, 3);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM sync_events WHERE message LIKE '29d:%'"
        )
        .await,
        3
    );
    // Every moved row exactly once, unchanged.
    let after: String = sqlx::query_scalar(
        "SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM sync_events_archive e",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(after, before);
    let again = LogCleanup::default().run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(again.records_processed, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM sync_events_archive").await,
        2500
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn each_job_keeps_its_newest_1000_runs_and_running_ones_never_move(pool: PgPool) {
    // daily: 1 200 old finished runs and one old running one; hourly: 999
    // old runs only; weekly: 5 young ones and 1 000 old ones.
    runs(&pool, "daily_sync", "completed", 40, 1200).await;
    runs(&pool, "daily_sync", "running", 60, 1).await;
    runs(&pool, "hourly_metrics", "failed", 50, 999).await;
    runs(&pool, "weekly_report", "completed", 1, 5).await;
    runs(&pool, "weekly_report", "timeout", 45, 1000).await;
    let report = LogCleanup::default().run(&ctx(&pool, t0())).await.unwrap();
    assert!(!report.more_work);
    let live = |job: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM job_history WHERE job_type = $1")
                .bind(job)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    // daily: its newest 1 000 are finished runs; the 200 older finished
    // ones move, the older running one stays. weekly: the 5 young runs push
    // the 5 oldest of the 1 000 old ones out. hourly: under 1 000, all stay.
    assert_eq!(live("daily_sync").await, 1001);
    assert_eq!(live("hourly_metrics").await, 999);
    assert_eq!(live("weekly_report").await, 1000);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history WHERE status = 'running'"
        )
        .await,
        1
    );
    assert_eq!(report.details["job_history_archived"], 200 + 5);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM job_history_archive").await,
        205
    );
    // The archived ones are the oldest finished of each job.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history_archive a
              WHERE a.started_at > (SELECT min(started_at) FROM job_history h
                                     WHERE h.job_type = a.job_type AND h.status <> 'running')"
        )
        .await,
        0
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn at_its_deadline_it_stops_and_asks_for_more(pool: PgPool) {
    events(&pool, 31, 10).await;
    let report = LogCleanup::default()
        .run(&ctx_with_deadline(&pool, t0(), Duration::ZERO))
        .await
        .unwrap();
    assert!(report.more_work);
    assert_eq!(report.records_processed, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM sync_events").await, 10);
}

#[sqlx::test(migrations = "../../migrations")]
async fn log_retention_days_sets_the_age(pool: PgPool) {
    events(&pool, 8, 2).await;
    events(&pool, 6, 1).await;
    let cfg = nightshift_tasks::TasksConfig {
        log_retention_days: 7,
        ..nightshift_tasks::TasksConfig::default()
    };
    let report = LogCleanup::default()
        .run(&ctx_with_cfg(&pool, t0(), cfg))
        .await
        .unwrap();
    assert_eq!(report.details["sync_events_archived"], 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM sync_events").await, 1);
}

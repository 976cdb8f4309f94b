//! The failure streak has one definition, the SQL function `failure_streak`
//! (migrations/20261203000200_failure_streak.sql): the hourly watch's
//! `consecutive_failures` alert and the status page's `consecutive_failures`
//! count the same runs, for the same planted history and the same `now`.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use nightshift_core::{Config, Task, TaskContext};
use nightshift_tasks::TasksConfig;
use nightshift_tasks::hourly::watch_jobs::{FAILURE_STREAK, WatchJobs};
use sqlx::PgPool;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 21, 17, 5).unwrap()
}

async fn plant(pool: &PgPool, job_type: &str, status: &str, started_at: DateTime<Utc>) {
    sqlx::query!(
        "INSERT INTO job_history (id, job_type, route, status, trigger, started_at, completed_at,
                                  lease_expires_at, execution_time_ms)
         VALUES (gen_random_uuid(), $1, '/api/cron/x', $2, 'manual', $3, $3, $3, 1000)",
        job_type,
        status,
        started_at,
    )
    .execute(pool)
    .await
    .unwrap();
}

fn ctx(pool: &PgPool, now: DateTime<Utc>) -> TaskContext<TasksConfig> {
    TaskContext::new(
        pool.clone(),
        now,
        "hourly_metrics",
        Arc::new(Config::default()),
        nightshift_tasks::specs().into(),
    )
    .with_budget(StdDuration::from_secs(30))
    .with_env(Arc::default())
}

/// The streak the watch alerted on, per job (absent below the threshold).
async fn watched(pool: &PgPool, job_type: &str) -> Option<i64> {
    sqlx::query_scalar!(
        r#"SELECT (details->>'failures')::int8 AS "n!" FROM alerts
            WHERE status = 'open' AND dedupe_key = 'watch_jobs:consecutive_failures:' || $1"#,
        job_type,
    )
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn watch_and_status_count_the_same_streak(pool: PgPool) {
    let now = t0();
    let h = |n: i64| now - Duration::hours(n);
    // weekly: an old failure, a completion, then four failures (timeouts count).
    plant(&pool, "weekly_report", "failed", h(30)).await;
    plant(&pool, "weekly_report", "completed", h(20)).await;
    for (i, status) in ["failed", "timeout", "failed", "failed"].iter().enumerate() {
        plant(&pool, "weekly_report", status, h(10 - i as i64)).await;
    }
    // daily: three failures, then a completion planted after `now`: as of
    // `now` the streak is three for both readers.
    for n in [5, 4, 3] {
        plant(&pool, "daily_sync", "failed", h(n)).await;
    }
    plant(&pool, "daily_sync", "completed", now + Duration::hours(1)).await;
    // hourly: two failures after a completion, below the alert threshold.
    plant(&pool, "hourly_metrics", "completed", h(3)).await;
    plant(&pool, "hourly_metrics", "failed", h(2)).await;
    plant(&pool, "hourly_metrics", "failed", h(1)).await;

    WatchJobs.run(&ctx(&pool, now)).await.unwrap();
    let routes = nightshift_tasks::specs();
    let status = nightshift_status::data::collect(&pool, &routes, &Default::default(), now)
        .await
        .unwrap();
    let mut shown = Vec::new();
    for job in &status.jobs {
        let watch = watched(&pool, job.job_type).await;
        let expected =
            (job.consecutive_failures >= FAILURE_STREAK).then_some(job.consecutive_failures);
        assert_eq!(watch, expected, "{}", job.job_type);
        shown.push((job.job_type, job.consecutive_failures));
    }
    shown.sort();
    assert_eq!(
        shown,
        vec![
            ("daily_sync", 3),
            ("hourly_metrics", 2),
            ("weekly_report", 4)
        ]
    );
}

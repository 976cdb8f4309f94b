//! watch_jobs against planted ledger history, with a fixed clock.

mod common;

use chrono::Duration;
use common::*;
use nightshift_core::Task;
use nightshift_tasks::hourly::watch_jobs::WatchJobs;
use sqlx::PgPool;

async fn findings(pool: &PgPool, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let report = WatchJobs.run(&ctx(pool, now)).await.unwrap();
    let mut keys: Vec<String> = serde_json::from_value(report.details["findings"].clone()).unwrap();
    keys.sort();
    keys
}

async fn open_alerts(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT dedupe_key FROM alerts WHERE status = 'open' ORDER BY 1")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Every slot of every route from `from` to t0, completed: a healthy past.
async fn healthy_history(pool: &PgPool, from: chrono::DateTime<chrono::Utc>) {
    for spec in nightshift_tasks::specs() {
        for slot in spec.schedule.slots_between(from, t0(), 1000) {
            plant(pool, Run::new(spec.job_type, "completed", slot)).await;
        }
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn empty_ledger_has_no_findings(pool: PgPool) {
    let report = WatchJobs.run(&ctx(&pool, t0())).await.unwrap();
    assert!(report.warning.is_none());
    assert_eq!(report.details["findings"], serde_json::json!([]));
    assert_eq!(count(&pool, "SELECT count(*) FROM alerts").await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn stuck_run_alerts_once_and_resolves(pool: PgPool) {
    healthy_history(&pool, t0() - Duration::days(8)).await;
    assert!(findings(&pool, t0()).await.is_empty());
    // The latest daily run was killed: swept to timeout by the ledger.
    let mut swept = Run::new("daily_sync", "timeout", t0() - Duration::hours(1));
    swept.slot = None;
    swept.error = Some("lease expired at 2026-11-24T20:30:00Z before the run finished");
    plant(&pool, swept).await;
    assert_eq!(
        findings(&pool, t0()).await,
        vec!["watch_jobs:stuck_run:daily_sync"]
    );
    let report = WatchJobs.run(&ctx(&pool, t0())).await.unwrap();
    assert!(
        report.events.is_empty(),
        "a lasting condition is raised once"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM alerts").await, 1);
    // A later run completes: the condition clears.
    let mut good = Run::new("daily_sync", "completed", t0() - Duration::minutes(5));
    good.slot = None;
    plant(&pool, good).await;
    let report = WatchJobs.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(report.events.len(), 1);
    assert_eq!(report.events[0].event_type, "alert_resolved");
    assert!(open_alerts(&pool).await.is_empty());
}

#[sqlx::test(migrations = "../../migrations")]
async fn long_runs_and_failure_streaks(pool: PgPool) {
    healthy_history(&pool, t0() - Duration::days(8)).await;
    let mut long = Run::new("hourly_metrics", "running", t0() - Duration::minutes(9));
    long.slot = None;
    plant(&pool, long).await;
    for hours in [3, 2, 1] {
        let mut failed = Run::new("weekly_report", "failed", t0() - Duration::hours(hours));
        failed.slot = None;
        plant(&pool, failed).await;
    }
    assert_eq!(
        findings(&pool, t0()).await,
        vec![
            "watch_jobs:consecutive_failures:weekly_report",
            "watch_jobs:long_run:hourly_metrics"
        ]
    );
    let severity: String =
        sqlx::query_scalar("SELECT severity FROM alerts WHERE kind = 'consecutive_failures'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(severity, "critical");
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_failures_are_not_a_streak(pool: PgPool) {
    healthy_history(&pool, t0() - Duration::days(8)).await;
    for hours in [2, 1] {
        let mut failed = Run::new("weekly_report", "failed", t0() - Duration::hours(hours));
        failed.slot = None;
        plant(&pool, failed).await;
    }
    assert!(findings(&pool, t0()).await.is_empty());
}

#[sqlx::test(migrations = "../../migrations")]
async fn missed_slots_alert_raise_resolve_and_raise_again(pool: PgPool) {
    healthy_history(&pool, t0() - Duration::days(8)).await;
    sqlx::query("DELETE FROM job_history WHERE job_type = 'hourly_metrics' AND slot IN ('2026-11-24T10:00:00Z', '2026-11-24T11:00:00Z')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        findings(&pool, t0()).await,
        vec!["watch_jobs:missed_cron:hourly_metrics"]
    );
    let (message, details): (String, serde_json::Value) =
        sqlx::query_as("SELECT title, details FROM alerts")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(message.contains("missed 2 scheduled run(s)"), "{message}");
    assert_eq!(details["count"], 2);
    // A week later those slots are out of the window (and the week ran well).
    healthy_history(&pool, t0() + Duration::minutes(1)).await;
    let later = t0() + Duration::days(8);
    for spec in nightshift_tasks::specs() {
        for slot in spec.schedule.slots_between(t0(), later, 1000) {
            plant(&pool, Run::new(spec.job_type, "completed", slot)).await;
        }
    }
    assert!(findings(&pool, later).await.is_empty());
    assert!(open_alerts(&pool).await.is_empty());
    // It happens again: a new alert, not the old one reopened.
    sqlx::query(
        "DELETE FROM job_history WHERE job_type = 'daily_sync' AND slot = '2026-12-01T02:00:00Z'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        findings(&pool, later).await,
        vec!["watch_jobs:missed_cron:daily_sync"]
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM alerts").await, 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_new_install_is_not_missing_a_week(pool: PgPool) {
    // The first run ever was the 20:00 slot: nothing before it counts as missed.
    let first = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 24, 20, 0, 0).unwrap();
    plant(&pool, Run::new("hourly_metrics", "completed", first)).await;
    // 21:05: the 21:00 delivery may still be on its way.
    let keys = findings(&pool, first + Duration::minutes(65)).await;
    assert!(keys.is_empty(), "{keys:?}");
    // 21:17: it is late enough to call it missed.
    let keys = findings(&pool, first + Duration::minutes(77)).await;
    assert_eq!(keys, vec!["watch_jobs:missed_cron:hourly_metrics"]);
}

/// The shipped routes with the daily one at 02:30 Europe/Berlin (and a
/// jitter of 15 minutes), as a `schedules` entry would declare it.
fn berlin_ctx(pool: &PgPool, now: chrono::DateTime<chrono::Utc>) -> Ctx {
    let mut specs = nightshift_tasks::specs();
    for s in specs.iter_mut().filter(|s| s.job_type == "daily_sync") {
        s.schedule = nightshift_core::Schedule::parse_in("30 2 * * *", chrono_tz::Europe::Berlin)
            .unwrap()
            .with_jitter(std::time::Duration::from_secs(15 * 60));
    }
    let mut c = ctx(pool, now);
    c.routes = specs.into();
    c
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, y, mo, d, h, mi, 0).unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_local_time_the_zone_skips_is_never_missed(pool: PgPool) {
    // What the platform delivered around the spring-forward night of
    // 2027-03-28: 02:30 CET (01:30 UTC) until the 27th, nothing on the 28th
    // (02:30 does not exist), 02:30 CEST (00:30 UTC) from the 29th.
    let delivered = [
        utc(2027, 3, 25, 1, 30),
        utc(2027, 3, 26, 1, 30),
        utc(2027, 3, 27, 1, 30),
        utc(2027, 3, 29, 0, 30),
        utc(2027, 3, 30, 0, 30),
    ];
    for slot in delivered {
        plant(&pool, Run::new("daily_sync", "completed", slot)).await;
    }
    let now = utc(2027, 3, 30, 12, 0);
    let p = &pool;
    let run = |now| async move {
        let report = WatchJobs.run(&berlin_ctx(p, now)).await.unwrap();
        let keys: Vec<String> = serde_json::from_value(report.details["findings"].clone()).unwrap();
        keys.into_iter()
            .filter(|k| k.contains("daily_sync"))
            .collect::<Vec<_>>()
    };
    assert!(run(now).await.is_empty(), "the 28th had no 02:30 to miss");
    // The 29th's delivery really was missed: that is found, in local time.
    sqlx::query("DELETE FROM job_history WHERE slot = '2027-03-29T00:30:00Z'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(run(now).await, vec!["watch_jobs:missed_cron:daily_sync"]);
    let message: String = sqlx::query_scalar(
        "SELECT message FROM alerts WHERE dedupe_key = 'watch_jobs:missed_cron:daily_sync'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        message.contains("30 2 * * * Europe/Berlin")
            && message.contains("2027-03-29 02:30 CEST (00:30 UTC)"),
        "{message}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_slot_is_not_missed_while_its_jitter_lasts(pool: PgPool) {
    plant(
        &pool,
        Run::new("daily_sync", "completed", utc(2027, 6, 1, 0, 30)),
    )
    .await;
    // The 2nd's 02:30 CEST slot (00:30 UTC): 20 minutes on, past the grace
    // of 10 but inside grace plus the jitter of 15, it is not missed yet.
    let p = &pool;
    let keys = |now| async move {
        let report = WatchJobs.run(&berlin_ctx(p, now)).await.unwrap();
        report.details["findings"].to_string()
    };
    assert!(!keys(utc(2027, 6, 2, 0, 50)).await.contains("daily_sync"));
    assert!(
        keys(utc(2027, 6, 2, 0, 56))
            .await
            .contains("missed_cron:daily_sync")
    );
}

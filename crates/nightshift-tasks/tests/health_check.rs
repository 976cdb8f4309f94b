//! health_check's verdict and reasons for planted histories.

mod common;

use chrono::Duration;
use common::*;
use nightshift_tasks::weekly::health_check::{Level, assess};
use sqlx::PgPool;

async fn verdict(pool: &PgPool) -> (Level, Vec<String>) {
    let h = assess(pool, &nightshift_tasks::specs(), t0(), &Default::default())
        .await
        .unwrap();
    (h.status, h.reasons)
}

/// Each route completed its latest slot.
async fn all_fresh(pool: &PgPool) {
    for spec in nightshift_tasks::specs() {
        plant(
            pool,
            Run::new(spec.job_type, "completed", spec.schedule.slot_at(t0())),
        )
        .await;
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn empty_and_fresh_systems_are_healthy(pool: PgPool) {
    assert_eq!(verdict(&pool).await, (Level::Healthy, vec![]));
    all_fresh(&pool).await;
    assert_eq!(verdict(&pool).await, (Level::Healthy, vec![]));
}

#[sqlx::test(migrations = "../../migrations")]
async fn stale_routes_warn_then_turn_critical(pool: PgPool) {
    all_fresh(&pool).await;
    sqlx::query("DELETE FROM job_history WHERE job_type = 'hourly_metrics'")
        .execute(&pool)
        .await
        .unwrap();
    plant(
        &pool,
        Run::new("hourly_metrics", "completed", t0() - Duration::hours(3)),
    )
    .await;
    let (level, reasons) = verdict(&pool).await;
    assert_eq!(level, Level::Warning);
    assert_eq!(
        reasons,
        vec!["hourly_metrics: last completed run 3 h ago, scheduled every 60 min"]
    );
    sqlx::query("UPDATE job_history SET started_at = started_at - interval '3 hours' WHERE job_type = 'hourly_metrics'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(verdict(&pool).await.0, Level::Critical);
}

#[sqlx::test(migrations = "../../migrations")]
async fn failure_rate_stuck_runs_and_alerts_count(pool: PgPool) {
    all_fresh(&pool).await;
    for h in [30, 20] {
        let mut failed = Run::new("daily_sync", "failed", t0() - Duration::hours(h));
        failed.slot = None;
        plant(&pool, failed).await;
    }
    let (level, reasons) = verdict(&pool).await;
    assert_eq!(level, Level::Critical);
    assert_eq!(
        reasons,
        vec!["daily_sync: 2 of 3 runs failed in 7 days (67%)"]
    );

    sqlx::query("DELETE FROM job_history WHERE status = 'failed'")
        .execute(&pool)
        .await
        .unwrap();
    let mut swept = Run::new("weekly_report", "timeout", t0() - Duration::hours(2));
    swept.slot = None;
    swept.error = Some("lease expired at ...");
    plant(&pool, swept).await;
    let (level, reasons) = verdict(&pool).await;
    assert_eq!(level, Level::Warning);
    assert!(
        reasons.contains(&"weekly_report: 1 stuck run(s) in 24 hours".to_string()),
        "{reasons:?}"
    );

    sqlx::query("DELETE FROM job_history WHERE status = 'timeout'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO alerts (dedupe_key, source, kind, severity, title, status, raised_at, last_seen_at)
         VALUES ('k', 'test', 'x', 'critical', 't', 'open', now(), now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        verdict(&pool).await,
        (
            Level::Critical,
            vec!["1 open critical alert(s)".to_string()]
        )
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn outbox_queue_and_sync_problems_are_named(pool: PgPool) {
    all_fresh(&pool).await;
    sqlx::raw_sql(
        "INSERT INTO projects (name, github_repo, sync_error) VALUES ('Atlas', 'acme/atlas', 'HTTP 404 Not Found');
         INSERT INTO work_queue (kind, project_id, status, enqueued_at, last_error)
              SELECT 'github_sync', id, 'failed', now(), 'boom' FROM projects;",
    )
    .execute(&pool)
    .await
    .unwrap();
    for (key, status) in [("a", "dead"), ("b", "pending")] {
        sqlx::query(
            "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, status,
                                        next_attempt_at, created_at, last_error)
             VALUES ('alert', 'ops@example.com', 'email', 's', 'b', $1, $2, $3, $3, '550 no such user')",
        )
        .bind(key)
        .bind(status)
        .bind(t0() - Duration::hours(5))
        .execute(&pool)
        .await
        .unwrap();
    }
    let h = assess(&pool, &nightshift_tasks::specs(), t0(), &Default::default())
        .await
        .unwrap();
    assert_eq!(h.status, Level::Warning);
    let reasons = h.reasons.join("\n");
    assert!(reasons.contains("1 notification(s) dead"), "{reasons}");
    // No transport configured: that, not lateness, is the reason given.
    assert!(
        reasons.contains("1 e-mail(s) wait for a transport"),
        "{reasons}"
    );
    assert!(reasons.contains("1 work-queue item(s) failed"), "{reasons}");
    assert!(reasons.contains("Atlas (HTTP 404 Not Found)"), "{reasons}");
    assert_eq!(h.system.outbox_dead, 1);
    assert_eq!(h.system.outbox_overdue, 1);
    assert!(h.system.database_bytes > 1_000_000);
}

//! revenue_at_risk, velocity, workload and the dashboard view on small,
//! hand-made data whose right answers are known.

mod common;

use chrono::Duration;
use common::*;
use nightshift_core::Task;
use nightshift_tasks::hourly::{
    refresh_dashboard::RefreshDashboard, revenue_at_risk::RevenueAtRisk, velocity::Velocity,
    workload::Workload,
};
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn revenue_is_exact_and_blockers_apart(pool: PgPool) {
    let a = project(&pool, "Alpha", None).await;
    let b = project(&pool, "Beta", None).await;
    for (p, rev, blocker, status) in [
        (a, "0.10", false, "open"),
        (a, "0.20", true, "in_progress"),
        (b, "1000.00", false, "open"),
        (b, "5000.00", false, "resolved"),
    ] {
        let mut x = Bug::new(p, "medium", t0() - Duration::hours(1));
        x.revenue = rev;
        x.blocker = blocker;
        x.status = status;
        bug(&pool, x).await;
    }
    RevenueAtRisk.run(&ctx(&pool, t0())).await.unwrap();
    // Exact decimals in the stored snapshot (serde_json would read floats).
    let (total, blockers, second): (String, String, String) = sqlx::query_as(
        "SELECT data->>'total', data->>'blockers', data->'projects'->1->>'total' FROM hourly_snapshots",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (total.as_str(), blockers.as_str(), second.as_str()),
        ("1000.30", "0.20", "0.30")
    );
    let projects: serde_json::Value = sqlx::query_scalar(
        "SELECT data->'projects' FROM hourly_snapshots WHERE kind = 'revenue_at_risk'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(projects[0]["name"], "Beta");
    // Same hour again: the snapshot row is replaced, not added.
    RevenueAtRisk
        .run(&ctx(&pool, t0() + Duration::minutes(30)))
        .await
        .unwrap();
    assert_eq!(
        count(&pool, "SELECT count(*) FROM hourly_snapshots").await,
        1
    );
    // The next hour, nothing moved: the same snapshot, reused (issue 19).
    let r = RevenueAtRisk
        .run(&ctx(&pool, t0() + Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(r.details["reused"], true);
    assert_eq!(
        count(
            &pool,
            "SELECT count(DISTINCT data) FROM hourly_snapshots HAVING count(*) = 2"
        )
        .await,
        1
    );
    // A changed amount is rebuilt.
    sqlx::query(
        "UPDATE bugs SET revenue_impact_daily = 2000 WHERE project_id = $1 AND status = 'open'",
    )
    .bind(b)
    .execute(&pool)
    .await
    .unwrap();
    let r = RevenueAtRisk
        .run(&ctx(&pool, t0() + Duration::hours(2)))
        .await
        .unwrap();
    assert_eq!(r.details["reused"], false);
    let total: String = sqlx::query_scalar(
        "SELECT data->>'total' FROM hourly_snapshots ORDER BY hour DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(total, "2000.30");
}

#[sqlx::test(migrations = "../../migrations")]
async fn velocity_counts_weeks_and_trend(pool: PgPool) {
    let up = project(&pool, "Up", None).await;
    let down = project(&pool, "Down", None).await;
    // Up: 1 resolved in week 1, 3 in week 4. Down: the reverse.
    for (p, days_ago) in [
        (up, 25),
        (up, 2),
        (up, 3),
        (up, 4),
        (down, 22),
        (down, 23),
        (down, 24),
        (down, 1),
    ] {
        let mut x = Bug::new(p, "low", t0() - Duration::days(40));
        x.status = "resolved";
        x.resolved_at = Some(t0() - Duration::days(days_ago));
        bug(&pool, x).await;
    }
    let r = Velocity.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(r.details["resolved_4w"], 8);
    let projects: serde_json::Value =
        sqlx::query_scalar("SELECT data->'projects' FROM hourly_snapshots WHERE kind = 'velocity'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(projects[0]["weeks"], serde_json::json!([1, 0, 0, 3]));
    assert_eq!(projects[0]["trend"], "up");
    assert_eq!(projects[1]["weeks"], serde_json::json!([3, 0, 0, 1]));
    assert_eq!(projects[1]["trend"], "down");
    assert_eq!(projects[1]["per_week"], 1.0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn workload_levels_at_their_thresholds(pool: PgPool) {
    let levels: Vec<(i64, String)> = sqlx::query_as(
        "SELECT n, workload_level(n) FROM unnest(ARRAY[0, 9, 10, 19, 20, 34, 35, 80]::int8[]) AS n",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = levels.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(
        names,
        [
            "LOW", "LOW", "MODERATE", "MODERATE", "HIGH", "HIGH", "CRITICAL", "CRITICAL"
        ]
    );

    let p = project(&pool, "Gamma", None).await;
    let idle = user(&pool, "Ida", "engineer", None).await;
    let busy = user(&pool, "Bo", "engineer", None).await;
    // 4 critical (32) + 1 blocker low (1 + 2) = 35: CRITICAL.
    for (sev, blocker) in [
        ("critical", false),
        ("critical", false),
        ("critical", false),
        ("critical", false),
        ("low", true),
    ] {
        let mut x = Bug::new(p, sev, t0());
        x.assignee = Some(busy);
        x.blocker = blocker;
        bug(&pool, x).await;
    }
    let r = Workload.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(
        r.details["levels"],
        serde_json::json!({ "LOW": 1, "MODERATE": 0, "HIGH": 0, "CRITICAL": 1 })
    );
    let hot: serde_json::Value = sqlx::query_scalar(
        "SELECT data->'hotspots'->0 FROM hourly_snapshots WHERE kind = 'workload'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (hot["user_id"].as_i64(), hot["load"].as_i64()),
        (Some(busy), Some(35))
    );
    let _ = idle;
}

#[sqlx::test(migrations = "../../migrations")]
async fn dashboard_view_refreshes(pool: PgPool) {
    let p = project(&pool, "Delta", None).await;
    let mut x = Bug::new(p, "critical", t0());
    x.revenue = "12.50";
    bug(&pool, x).await;
    let r = RefreshDashboard.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(r.records_processed, 1);
    let (open, critical, revenue): (i64, i64, String) = sqlx::query_as(
        "SELECT open_bugs, critical_bugs, revenue_at_risk::text FROM dashboard_projects",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((open, critical, revenue.as_str()), (1, 1, "12.50"));
}

/// Issue 19: a quiet hour takes the latest workload snapshot instead of
/// rebuilding it, and it is the snapshot a rebuild would write; a renamed
/// person or a new bug makes the next hour rebuild.
#[sqlx::test(migrations = "../../migrations")]
async fn workload_reuses_a_quiet_hour_only(pool: PgPool) {
    let p = project(&pool, "Delta", None).await;
    let busy = user(&pool, "Bo", "engineer", None).await;
    let idle = user(&pool, "Ida", "engineer", None).await;
    for _ in 0..3 {
        let mut x = Bug::new(p, "critical", t0());
        x.assignee = Some(busy);
        bug(&pool, x).await;
    }
    let run = |h: i64| {
        let pool = pool.clone();
        async move {
            let r = Workload
                .run(&ctx(&pool, t0() + Duration::hours(h)))
                .await
                .unwrap();
            r.details["reused"].as_bool().unwrap()
        }
    };
    let data = |h: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, serde_json::Value>(
                "SELECT data FROM hourly_snapshots
                  WHERE kind = 'workload' AND hour = date_trunc('hour', $1::timestamptz, 'UTC')",
            )
            .bind(t0() + Duration::hours(h))
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(!run(0).await, "the first hour has nothing to reuse");
    assert!(run(1).await, "nothing moved in the hour");
    assert_eq!(data(0).await, data(1).await);
    assert_eq!(data(1).await["hotspots"][0]["name"], "Bo");
    // What the quiet hour stored is what a rebuild of it writes.
    let reused = data(1).await;
    sqlx::query("UPDATE hourly_snapshots SET inputs = NULL")
        .execute(&pool)
        .await
        .unwrap();
    assert!(!run(1).await, "no digest, no reuse");
    assert_eq!(data(1).await, reused);

    sqlx::query("UPDATE users SET name = 'Bo Renamed' WHERE id = $1")
        .bind(busy)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!run(2).await, "a renamed person is a change");
    assert_eq!(data(2).await["hotspots"][0]["name"], "Bo Renamed");
    assert!(run(3).await);

    for _ in 0..3 {
        let mut x = Bug::new(p, "critical", t0());
        x.assignee = Some(idle);
        bug(&pool, x).await;
    }
    assert!(!run(4).await, "new bugs move a load");
    assert_eq!(
        data(4).await["levels"],
        serde_json::json!({ "LOW": 0, "MODERATE": 0, "HIGH": 2, "CRITICAL": 0 })
    );
}

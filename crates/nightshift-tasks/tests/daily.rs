//! daily_metrics' health score by its formula, anomalies by median and MAD,
//! and the due-soon digest with its per-run cap.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use nightshift_core::Task;
use nightshift_tasks::TasksConfig;
use nightshift_tasks::daily::{
    anomalies::Anomalies, daily_metrics::DailyMetrics, due_soon_digest::DueSoonDigest,
};
use sqlx::PgPool;

async fn score(pool: &PgPool, project: i64, date: chrono::NaiveDate) -> (i32, i32, i32, i32, i32) {
    sqlx::query_as(
        "SELECT health_score, open_bugs, sla_breaches, resolved, prs_merged FROM project_metrics WHERE project_id = $1 AND date = $2",
    )
    .bind(project)
    .bind(date)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn health_score_follows_the_formula(pool: PgPool) {
    let p = project(&pool, "Core", None).await;
    // Open: a breached critical (8), a breached high (3), three fresh lows.
    bug(&pool, Bug::new(p, "critical", t0() - Duration::hours(5))).await;
    bug(&pool, Bug::new(p, "high", t0() - Duration::hours(30))).await;
    for _ in 0..3 {
        bug(&pool, Bug::new(p, "low", t0())).await;
    }
    // Revenue at the threshold costs half of 25 points.
    let mut rich = Bug::new(p, "low", t0());
    rich.revenue = "10000.00";
    bug(&pool, rich).await;
    // Resolved yesterday, and a pull request merged yesterday.
    for _ in 0..2 {
        let mut done = Bug::new(p, "medium", t0() - Duration::days(3));
        done.status = "resolved";
        done.resolved_at = Some(t0() - Duration::days(1));
        bug(&pool, done).await;
    }
    sqlx::query("INSERT INTO pull_requests (project_id, number, title, state, created_at, updated_at, merged_at)
                 VALUES ($1, 1, 'fix', 'merged', $2, $2, $2)")
        .bind(p)
        .bind(t0() - Duration::days(1))
        .execute(&pool)
        .await
        .unwrap();
    let today = t0().date_naive();
    DailyMetrics.run(&ctx(&pool, t0())).await.unwrap();
    // 100 - B(8 + 3) - R(12.5) - C(5) - T(0) = 71.5, rounded half away from zero.
    assert_eq!(score(&pool, p, today).await, (72, 6, 2, 2, 1));
    // A week ago there were 12 open: the backlog halved, T = -10.
    sqlx::query("INSERT INTO project_metrics VALUES ($1, $2, 12, 0, 0, 0, 0, 0, 0, 50)")
        .bind(p)
        .bind(today - Duration::days(7))
        .execute(&pool)
        .await
        .unwrap();
    DailyMetrics.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(score(&pool, p, today).await.0, 82);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM project_metrics").await,
        2,
        "the day's row is updated, not added"
    );
}

async fn history(pool: &PgPool, project: i64, values: &[i32]) {
    let today = t0().date_naive();
    for (i, v) in values.iter().enumerate() {
        sqlx::query(
            "INSERT INTO project_metrics VALUES ($1, $2, $3, 0, 0, 0, 0, 0, 0, 80)
                     ON CONFLICT (project_id, date) DO UPDATE SET open_bugs = EXCLUDED.open_bugs",
        )
        .bind(project)
        .bind(today - Duration::days((values.len() - i) as i64))
        .bind(v)
        .execute(pool)
        .await
        .unwrap();
    }
}

async fn today(pool: &PgPool, project: i64, open: i32) {
    history(pool, project, &[]).await;
    sqlx::query(
        "INSERT INTO project_metrics VALUES ($1, $2, $3, 0, 0, 0, 0, 0, 0, 80)
                 ON CONFLICT (project_id, date) DO UPDATE SET open_bugs = EXCLUDED.open_bugs",
    )
    .bind(project)
    .bind(t0().date_naive())
    .bind(open)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn anomalies_by_median_and_mad(pool: PgPool) {
    let noisy = project(&pool, "Noisy", None).await;
    let flat = project(&pool, "Flat", None).await;
    let young = project(&pool, "Young", None).await;
    // 14 days around 10-12, with one past outlier that the median ignores.
    history(
        &pool,
        noisy,
        &[10, 11, 12, 10, 11, 60, 12, 10, 11, 12, 10, 11, 12, 11],
    )
    .await;
    history(&pool, flat, &[5; 14]).await;
    history(&pool, young, &[1, 1, 1, 1, 1, 1]).await;
    today(&pool, noisy, 13).await;
    today(&pool, flat, 5).await;
    today(&pool, young, 50).await;
    let r = Anomalies.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(
        r.records_processed, 0,
        "13 is within range, 5 = 5, 6 days is too little history: {}",
        r.details
    );

    today(&pool, noisy, 40).await;
    today(&pool, flat, 6).await;
    let r = Anomalies.run(&ctx(&pool, t0())).await.unwrap();
    let mut keys: Vec<String> = serde_json::from_value(r.details["anomalies"].clone()).unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("anomalies:{noisy}:open_bugs"),
            format!("anomalies:{flat}:open_bugs")
        ]
    );
    assert_eq!(r.details["raised"], 2);
    // Same day again: nothing new. Back in range: resolved.
    assert_eq!(
        Anomalies.run(&ctx(&pool, t0())).await.unwrap().details["raised"],
        0
    );
    today(&pool, noisy, 11).await;
    today(&pool, flat, 5).await;
    assert_eq!(
        Anomalies.run(&ctx(&pool, t0())).await.unwrap().details["resolved"],
        2
    );
    let _ = young;
}

#[sqlx::test(migrations = "../../migrations")]
async fn digest_groups_by_project_and_respects_the_cap(pool: PgPool) {
    let mut people = Vec::new();
    for name in ["Ann", "Ben", "Cai"] {
        people.push(user(&pool, name, "engineer", None).await);
    }
    let a = project(&pool, "Alpha", None).await;
    let b = project(&pool, "Beta", None).await;
    let add = |p: i64, who: i64, sev: &'static str, age: Duration, title: &'static str| {
        let pool = pool.clone();
        async move {
            let mut x = Bug::new(p, sev, t0() - age);
            x.assignee = Some(who);
            x.title = title;
            bug(&pool, x).await
        }
    };
    // Ann: one breached in Alpha, one due in 2 days in Beta, one due in 5 days (not listed).
    add(a, people[0], "high", Duration::hours(30), "Checkout fails").await;
    add(b, people[0], "medium", Duration::hours(24), "Slow search").await;
    add(b, people[0], "low", Duration::hours(1), "Typo in footer").await;
    add(a, people[1], "high", Duration::hours(1), "Ben's bug").await;
    add(a, people[2], "critical", Duration::hours(1), "Cai's bug").await;
    let cfg = TasksConfig {
        max_emails_per_run: 2,
        ..TasksConfig::default()
    };
    let mut c = ctx(&pool, t0());
    c.env = Arc::new(cfg);
    let first = DueSoonDigest.run(&c).await.unwrap();
    assert_eq!((first.records_processed, first.more_work), (2, true));
    let ann: String =
        sqlx::query_scalar("SELECT body FROM notifications WHERE recipient = 'ann@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        ann.contains("Alpha:\n  - HIGH") && ann.contains("Checkout fails — breached"),
        "{ann}"
    );
    assert!(
        ann.contains("Beta:\n  - MEDIUM") && ann.contains("Slow search — due"),
        "{ann}"
    );
    assert!(!ann.contains("Typo in footer"), "{ann}");
    let second = DueSoonDigest.run(&c).await.unwrap();
    assert_eq!((second.records_processed, second.more_work), (1, false));
    let third = DueSoonDigest.run(&c).await.unwrap();
    assert_eq!(third.records_processed, 0, "one digest per person and day");
    assert_eq!(count(&pool, "SELECT count(*) FROM notifications").await, 3);
}

//! Alerts raised once, resolved, raised again; reminders once per local day
//! at 08:00 across both daylight-saving changes, and at no other hour.

mod common;

use chrono::{Duration, TimeZone, Timelike, Utc};
use common::*;
use nightshift_core::Task;
use nightshift_tasks::TasksConfig;
use nightshift_tasks::hourly::alerts::Alerts;
use nightshift_tasks::hourly::reminders::Reminders;
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn alert_raised_once_resolved_and_raised_again(pool: PgPool) {
    let owner = user(&pool, "Olga", "manager", None).await;
    let eng = user(&pool, "Eli", "engineer", None).await;
    let p = project(&pool, "Checkout", Some(owner)).await;
    let id = bug(&pool, Bug::new(p, "critical", t0() - Duration::hours(1))).await;
    let cfg = TasksConfig {
        alert_emails: vec!["oncall@example.com".into()],
        ..TasksConfig::default()
    };

    let first = Alerts
        .run(&ctx_with_cfg(&pool, t0(), cfg.clone()))
        .await
        .unwrap();
    assert_eq!(first.details["raised"], 1);
    assert_eq!(first.details["notifications"], 2, "owner and ALERT_EMAILS");
    let second = Alerts
        .run(&ctx_with_cfg(&pool, t0() + Duration::hours(1), cfg.clone()))
        .await
        .unwrap();
    assert_eq!(
        (
            second.details["raised"].as_i64(),
            second.details["notifications"].as_i64()
        ),
        (Some(0), Some(0))
    );

    sqlx::query("UPDATE bugs SET assignee_id = $1 WHERE id = $2")
        .bind(eng)
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let third = Alerts
        .run(&ctx_with_cfg(&pool, t0() + Duration::hours(2), cfg.clone()))
        .await
        .unwrap();
    assert_eq!(third.details["resolved"], 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM alerts WHERE status = 'open'").await,
        0
    );

    sqlx::query("UPDATE bugs SET assignee_id = NULL WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let fourth = Alerts
        .run(&ctx_with_cfg(&pool, t0() + Duration::minutes(150), cfg))
        .await
        .unwrap();
    assert_eq!(fourth.details["raised"], 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM alerts").await, 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM notices").await, 4);
}

/// An alert that lasts is the same row from run to run: seen again, its
/// title, details and `last_seen_at` follow the condition, `raised_at` and
/// the announcement stay those of the first sighting.
#[sqlx::test(migrations = "../../migrations")]
async fn an_alert_that_lasts_is_refreshed_in_place(pool: PgPool) {
    let owner = user(&pool, "Olga", "manager", None).await;
    let p = project(&pool, "Checkout", Some(owner)).await;
    bug(&pool, Bug::new(p, "critical", t0() - Duration::minutes(30))).await;
    let ctx = |at| ctx_with_cfg(&pool, at, TasksConfig::default());
    Alerts.run(&ctx(t0())).await.unwrap();
    let key = format!("alerts:unassigned_critical:{p}");
    let row = || {
        sqlx::query_as::<_, (i64, String, serde_json::Value, chrono::DateTime<Utc>, chrono::DateTime<Utc>)>(
            "SELECT id, title, details, raised_at, last_seen_at FROM alerts WHERE dedupe_key = $1 AND status = 'open'",
        )
        .bind(&key)
        .fetch_one(&pool)
    };
    let (id, title, _, raised, seen) = row().await.unwrap();
    assert_eq!((raised, seen), (t0(), t0()));
    assert!(
        title.contains("1 critical bug(s) without an assignee"),
        "{title}"
    );

    bug(&pool, Bug::new(p, "critical", t0())).await;
    let later = t0() + Duration::hours(1);
    let second = Alerts.run(&ctx(later)).await.unwrap();
    assert_eq!(
        (
            second.details["raised"].as_i64(),
            second.details["resolved"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let (id2, title2, details2, raised2, seen2) = row().await.unwrap();
    assert_eq!((id2, raised2, seen2), (id, t0(), later));
    assert!(
        title2.contains("2 critical bug(s) without an assignee"),
        "{title2}"
    );
    assert_eq!(details2["count"], 2);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM alerts WHERE source = 'alerts'").await,
        1,
        "one row per lasting condition"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notices").await,
        1,
        "announced once, to the owner"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn revenue_threshold_and_breach_alerts(pool: PgPool) {
    let p = project(&pool, "Billing", None).await;
    let eng = user(&pool, "Eli", "engineer", None).await;
    let mut x = Bug::new(p, "critical", t0() - Duration::hours(5));
    x.assignee = Some(eng);
    x.revenue = "600.00";
    bug(&pool, x).await;
    let cfg = TasksConfig {
        alert_revenue_threshold: 500.0,
        ..TasksConfig::default()
    };
    Alerts.run(&ctx_with_cfg(&pool, t0(), cfg)).await.unwrap();
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM alerts ORDER BY kind")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(kinds, ["critical_breach", "revenue_at_risk"]);
    // No owner and no ALERT_EMAILS: nobody to tell, but announced all the same.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM alerts WHERE notified_at IS NULL"
        )
        .await,
        0
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn reminders_fire_once_per_local_day_across_dst(pool: PgPool) {
    let eng = user(&pool, "Eli", "engineer", None).await;
    let p = project(&pool, "Mobile", None).await;
    let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let cfg = nightshift_core::Config {
        org_timezone: ny,
        ..nightshift_core::Config::default()
    };
    // 2026: DST starts Sunday March 8, ends Sunday November 1.
    for (start, days) in [((2026, 3, 6), 5), ((2026, 10, 30), 5)] {
        let from = Utc
            .with_ymd_and_hms(start.0, start.1, start.2, 0, 0, 0)
            .unwrap();
        // A bug due in the next day, every day of the window.
        for d in 0..days {
            let mut b = Bug::new(p, "low", from + Duration::days(d) - Duration::days(6));
            b.assignee = Some(eng);
            b.due_at = Some(from + Duration::days(d) + Duration::hours(20));
            bug(&pool, b).await;
        }
        let mut fired = Vec::new();
        for h in 0..days * 24 {
            let now = from + Duration::hours(h) + Duration::minutes(1);
            let r = Reminders
                .run(&ctx_with(&pool, now, cfg.clone(), TasksConfig::default()))
                .await
                .unwrap();
            if r.details["sent"] == true {
                fired.push(now.with_timezone(&ny));
                assert_eq!(r.details["reminders"], 1);
            }
            // Any other call in the same hour finds the day claimed.
            let again = Reminders
                .run(&ctx_with(
                    &pool,
                    now + Duration::minutes(30),
                    cfg.clone(),
                    TasksConfig::default(),
                ))
                .await
                .unwrap();
            assert_ne!(again.details["sent"], true);
        }
        assert_eq!(fired.len() as i64, days, "one per local day: {fired:?}");
        assert!(fired.iter().all(|t| t.hour() == 8), "{fired:?}");
        let mut dates: Vec<_> = fired.iter().map(|t| t.date_naive()).collect();
        dates.dedup();
        assert_eq!(dates.len(), fired.len());
    }
    // The UTC hour moved with DST: 13:00 UTC in winter, 12:00 UTC in summer.
    let utc_hours: Vec<i32> = sqlx::query_scalar("SELECT extract(hour FROM claimed_at AT TIME ZONE 'UTC')::int4 FROM task_claims ORDER BY claimed_at")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(utc_hours, [13, 13, 12, 12, 12, 12, 12, 13, 13, 13]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn with_a_slack_webhook_the_channel_hears_every_alert_once(pool: PgPool) {
    let owner = user(&pool, "Olga", "manager", None).await;
    let p = project(&pool, "Checkout", Some(owner)).await;
    bug(&pool, Bug::new(p, "critical", t0() - Duration::hours(1))).await;
    let mut cfg = TasksConfig::default();
    cfg.delivery.slack_webhook_url =
        Some("https://hooks.slack.test/services/T/B/X".to_owned().into());
    let first = Alerts
        .run(&ctx_with_cfg(&pool, t0(), cfg.clone()))
        .await
        .unwrap();
    assert_eq!(first.details["notifications"], 2, "owner and the channel");
    let slack: Vec<(String, String)> =
        sqlx::query_as("SELECT channel, dedupe_key FROM notices WHERE channel = 'slack'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(slack.len(), 1);
    assert!(slack[0].1.ends_with(":slack"), "{slack:?}");
    Alerts
        .run(&ctx_with_cfg(&pool, t0() + Duration::hours(1), cfg))
        .await
        .unwrap();
    assert_eq!(count(&pool, "SELECT count(*) FROM notices").await, 2);
}

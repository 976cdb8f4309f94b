//! A paused job answers `skipped_paused` to every call, forced or not, claims
//! nothing, and leaves a warning event; resuming lets the next call run.

use crate::common::*;
use nightshift_core::pause;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn paused_job_skips_every_call_until_resumed(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let (p, made) = pause::pause(&pool, "hourly_metrics", "test", Some("db upgrade"), t0())
        .await
        .unwrap();
    assert!(made);
    let (again, made) = pause::pause(&pool, "hourly_metrics", "someone else", None, t0())
        .await
        .unwrap();
    assert!(!made, "a second pause is a no-op");
    assert_eq!(again.paused_by, p.paused_by);

    for path in ["/api/cron/hourly", "/api/cron/hourly?force=true"] {
        let a = call(&client, &format!("{base}{path}"), Some(&bearer())).await;
        assert_eq!(a.status, 200, "{path}: {:?}", a.body);
        assert_eq!(a.body["outcome"], "skipped_paused", "{path}");
        assert!(a.body["run_id"].is_null());
        let msg = a.body["message"].as_str().unwrap();
        assert!(
            msg.contains("paused") && msg.contains("db upgrade"),
            "{msg}"
        );
    }
    // Auth still comes first: a paused job does not tell strangers it is paused.
    let a = call(&client, &format!("{base}/api/cron/hourly"), None).await;
    assert_eq!(a.status, 401);
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 0);
    let skipped: Vec<(String, String)> = sqlx::query_as(
        "SELECT status, message FROM sync_events WHERE event_type = 'job_skipped' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(skipped.len(), 2);
    assert!(
        skipped
            .iter()
            .all(|(s, m)| s == "warning" && m.contains("paused"))
    );

    // A dry run says so, and writes nothing.
    let a = call(
        &client,
        &format!("{base}/api/cron/hourly?dry_run=true"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(a.body["outcome"], "dry_run");
    assert!(a.body["message"].as_str().unwrap().contains("is paused"));

    // Other jobs are not affected.
    let a = call(
        &client,
        &format!("{base}/api/cron/weekly?dry_run=true"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(a.body["outcome"], "dry_run");

    assert!(
        pause::resume(&pool, "hourly_metrics", "test", t0())
            .await
            .unwrap()
    );
    assert!(
        !pause::resume(&pool, "hourly_metrics", "test", t0())
            .await
            .unwrap()
    );
    let a = call(&client, &format!("{base}/api/cron/hourly"), Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed", "{:?}", a.body);
}

#[test]
fn unknown_job_names_the_valid_ones() {
    let specs = nightshift_tasks::specs();
    assert_eq!(
        pause::resolve(&specs, "hourly").unwrap().job_type,
        "hourly_metrics"
    );
    assert_eq!(pause::resolve(&specs, "daily_sync").unwrap().name, "daily");
    let err = pause::resolve(&specs, "monthly").unwrap_err().to_string();
    assert!(
        err.contains("hourly (hourly_metrics)") && err.contains("weekly"),
        "{err}"
    );
}

/// Slots skipped while paused are the operator's choice: watch_jobs does not
/// raise them as missed runs once the job is resumed.
#[sqlx::test(migrations = "./migrations")]
async fn slots_skipped_while_paused_are_not_missed(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/hourly");
    let a = call(&client, &url, Some(&bearer())).await; // slot 21:00
    assert_eq!(a.body["outcome"], "completed", "{:?}", a.body);
    pause::pause(&pool, "hourly_metrics", "test", None, t0())
        .await
        .unwrap();
    for _ in 0..2 {
        t.clock.advance(chrono::Duration::hours(1)); // slots 22:00 and 23:00
        let a = call(&client, &url, Some(&bearer())).await;
        assert_eq!(a.body["outcome"], "skipped_paused");
    }
    pause::resume(&pool, "hourly_metrics", "test", t0())
        .await
        .unwrap();
    t.clock.advance(chrono::Duration::hours(1)); // slot 00:00, watch_jobs runs first
    let a = call(&client, &url, Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed", "{:?}", a.body);
    let missed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM alerts WHERE dedupe_key = 'watch_jobs:missed_cron:hourly_metrics'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(missed, 0);

    // A slot with no call at all is still missed.
    t.clock.advance(chrono::Duration::hours(2)); // 01:00 never called
    let a = call(&client, &url, Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed");
    let title: String = sqlx::query_scalar(
        "SELECT title FROM alerts WHERE dedupe_key = 'watch_jobs:missed_cron:hourly_metrics'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(title.contains("missed 1 scheduled run"), "{title}");
}

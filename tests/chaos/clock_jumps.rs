//! Scenario 7: the clock jumps. Forward past several hourly slots, the
//! missed slots are reported by `watch_jobs` (an open alert) and not
//! replayed: one run for the current slot only. Backwards, a call whose slot
//! already completed is a duplicate and runs nothing.

use chrono::{Duration, TimeZone, Utc};
use sqlx::PgPool;

use crate::common::*;
use crate::support::*;

#[sqlx::test(migrations = "./migrations")]
async fn a_forward_jump_alerts_missed_slots_and_runs_only_the_current_one(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/hourly");
    let hourly = |slot: chrono::DateTime<Utc>| ("hourly_metrics".to_string(), Some(slot));

    let first = call(&client, &url, Some(&bearer())).await;
    assert_eq!(first.body["outcome"], "completed", "{}", first.body);

    // 21:17 -> 02:17 the next day: 22:00, 23:00, 00:00 and 01:00 never ran.
    t.clock.advance(Duration::hours(5));
    let after_jump = call(&client, &url, Some(&bearer())).await;
    assert_eq!(
        after_jump.body["outcome"], "completed",
        "{}",
        after_jump.body
    );
    let slot = |h| Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap();
    assert_eq!(after_jump.body["slot"], serde_json::json!(slot(2)));
    let missed: (String, serde_json::Value) = sqlx::query_as(
        "SELECT title, details FROM alerts
          WHERE source = 'watch_jobs' AND status = 'open'
            AND dedupe_key = 'watch_jobs:missed_cron:hourly_metrics'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(missed.0.contains("missed 4 scheduled run(s)"), "{missed:?}");
    assert_eq!(missed.1["count"], 4);

    // Delivered again (the platform retries), and the clock steps back to
    // the first slot: both are duplicates of completed slots.
    let again = call(&client, &url, Some(&bearer())).await;
    assert_eq!(again.body["outcome"], "skipped_duplicate", "{}", again.body);
    t.clock.set(t0());
    let back = call(&client, &url, Some(&bearer())).await;
    assert_eq!(back.status, 200);
    assert_eq!(back.body["outcome"], "skipped_duplicate", "{}", back.body);

    let first_slot = Utc.with_ymd_and_hms(2026, 11, 24, 21, 0, 0).unwrap();
    let runs: Vec<_> = run_counts(&pool)
        .await
        .into_iter()
        .map(|(job, slot, status, n)| ((job, slot), status, n))
        .collect();
    assert_eq!(
        runs,
        vec![
            (hourly(first_slot), "completed".to_string(), 1),
            (hourly(slot(2)), "completed".to_string(), 1),
        ],
        "the missed slots were replayed or a slot ran twice"
    );
    // Each run wrote one event per task, and the duplicates wrote none.
    let tasks = t.app.route("hourly").unwrap().tasks.len() as i64;
    assert_eq!(task_events(&pool).await, 2 * tasks);
    assert_ledger_sound(&pool).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_backward_jump_never_runs_an_older_slot_twice(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/hourly");
    assert_eq!(call(&client, &url, Some(&bearer())).await.status, 200);
    // Back two hours: the 19:00 slot never ran, so it may run, once.
    t.clock.advance(Duration::hours(-2));
    let outcomes = [
        call(&client, &url, Some(&bearer())).await,
        call(&client, &url, Some(&bearer())).await,
    ]
    .map(|a| a.body["outcome"].as_str().unwrap().to_string());
    assert_eq!(outcomes, ["completed", "skipped_duplicate"]);
    // Forward again to the slot that already completed.
    t.clock.set(t0() + Duration::minutes(30));
    let again = call(&client, &url, Some(&bearer())).await;
    assert_eq!(again.body["outcome"], "skipped_duplicate", "{}", again.body);
    assert_eq!(completed_runs(&pool).await, 2);
    assert_ledger_sound(&pool).await;
}

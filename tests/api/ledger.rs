//! The ledger's guarantees under real concurrency on a real Postgres.

#[path = "ledger/claim_races.rs"]
mod claim_races;

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use nightshift_core::{Task, TaskContext, TaskReport};
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn fifty_concurrent_calls_run_the_slot_once(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/hourly");
    let calls = (0..50).map(|_| {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move { call(&client, &url, Some(&bearer())).await })
    });
    let answers: Vec<Answer> = futures_join(calls).await;
    let outcomes: Vec<&str> = answers
        .iter()
        .map(|a| a.body["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "completed").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == "skipped_duplicate")
            .count(),
        49,
        "{outcomes:?}"
    );
    assert!(answers.iter().all(|a| a.status == 200));
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM job_history WHERE status = 'completed' AND slot = '2026-11-24T21:00:00Z'").await,
        1
    );
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

/// A running row whose lease ends `lease` (an interval, e.g. "-5 minutes")
/// from the database's now: leases are on its clock, not the test's.
async fn plant_running(pool: &PgPool, slot: &str, lease: &str) -> uuid::Uuid {
    sqlx::query_scalar(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, started_at, lease_expires_at)
         VALUES (gen_random_uuid(), 'hourly_metrics', '/api/cron/hourly', $1::timestamptz, 'running', 'cron',
                 $1::timestamptz, now() + $2::interval) RETURNING id",
    )
    .bind(slot)
    .bind(lease)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn expired_lease_is_swept_and_the_slot_runs_again(pool: PgPool) {
    // A run of this very slot whose process died: its lease ran out a
    // minute ago, with an e-mail in hand whose own claim would last an hour.
    let dead = plant_running(&pool, "2026-11-24T21:00:00Z", "-1 minute").await;
    sqlx::query(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, status,
                                    attempts, next_attempt_at, created_at, claimed_until, held_by)
         VALUES ('alert', 'ops@example.com', 'email', 'S', 'B', 'held', 'sending', 1,
                 '2026-11-24T21:00:00Z', '2026-11-24T21:00:00Z', now() + interval '1 hour', $1)",
    )
    .bind(dead)
    .execute(&pool)
    .await
    .unwrap();
    let t = real_app(&pool);
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["outcome"], "completed");
    assert_eq!(a.body["swept"], 1);
    let (status, msg): (String, String) =
        sqlx::query_as("SELECT status, error_message FROM job_history WHERE id = $1")
            .bind(dead)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "timeout");
    assert!(
        msg.starts_with("lease expired at ") && msg.contains("before the run finished"),
        "{msg}"
    );
    // Released by the sweep itself: due again, held by nobody.
    let (mail, holder): (String, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT status, held_by FROM notifications WHERE dedupe_key = 'held'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((mail.as_str(), holder), ("pending", None));
    assert_eq!(
        count(
            &pool,
            "SELECT (details->>'released_outbox_rows')::int8 FROM sync_events WHERE event_type = 'run_swept'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM sync_events WHERE event_type = 'run_swept'"
        )
        .await,
        1
    );
    // The new run is the slot's second attempt.
    assert_eq!(
        count(&pool, "SELECT max(attempt)::int8 FROM job_history").await,
        2
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_live_run_blocks_others_and_forced_runs_wait(pool: PgPool) {
    // Another run of the job, still within its lease, for the previous slot.
    plant_running(&pool, "2026-11-24T20:00:00Z", "13 minutes").await;
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    for q in ["", "?force=true", "?tasks=watch_jobs"] {
        let a = call(
            &client,
            &format!("{base}/api/cron/hourly{q}"),
            Some(&bearer()),
        )
        .await;
        assert_eq!(a.status, 409, "{q}: {:?}", a.body);
        assert_eq!(a.body["outcome"], "skipped_running");
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 1);
    // Other jobs are not blocked by it.
    let a = call(&client, &format!("{base}/api/cron/daily"), Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed", "{:?}", a.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn forced_runs_do_not_take_the_slot_and_failed_slots_retry(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/daily");
    let a = call(&client, &format!("{url}?force=true"), Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed");
    assert!(a.body["slot"].is_null());
    // The scheduled slot is still free after a forced run...
    let a = call(&client, &url, Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed");
    assert_eq!(a.body["slot"], "2026-11-24T02:00:00Z");
    // ...and taken after the scheduled one; forcing still works.
    let a = call(&client, &url, Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "skipped_duplicate");
    let a = call(&client, &format!("{url}?force=true"), Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed");
    // A failed scheduled run leaves its slot open for another attempt.
    sqlx::query("UPDATE job_history SET status = 'failed' WHERE slot IS NOT NULL")
        .execute(&pool)
        .await
        .unwrap();
    let a = call(&client, &url, Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed", "{:?}", a.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 4);
}

/// A task that plays the sweeper of a later invocation while its own run is
/// still going, as if this process had frozen past its lease (which it
/// first ends on the database's clock, the one sweeps decide on).
struct SweptFromUnder;

#[async_trait::async_trait]
impl Task for SweptFromUnder {
    fn name(&self) -> &'static str {
        "swept_from_under"
    }
    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        sqlx::query(
            "UPDATE job_history SET lease_expires_at = now() - interval '1 s' WHERE id = $1",
        )
        .bind(ctx.run_id)
        .execute(&ctx.pool)
        .await?;
        let swept = nightshift_core::ledger::sweep(&ctx.pool, ctx.now).await?;
        anyhow::ensure!(swept == vec![ctx.run_id], "expected to sweep this run");
        Ok(TaskReport::default())
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn late_completion_does_not_overwrite_the_sweeper(pool: PgPool) {
    let t = custom_app(
        &pool,
        vec![Arc::new(SweptFromUnder)],
        Duration::from_secs(5),
    );
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.status, 504, "{:?}", a.body);
    assert_eq!(a.body["outcome"], "timeout");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("sweeper's verdict")
    );
    let (status, result): (String, Option<serde_json::Value>) =
        sqlx::query_as("SELECT status, result FROM job_history")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "timeout");
    assert!(
        result.is_none(),
        "the late completion wrote its result over the sweeper's verdict"
    );
    // Its task event came after the sweep: fenced, only the sweep's is there.
    let events: Vec<String> = sqlx::query_scalar("SELECT event_type FROM sync_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(events, ["run_swept"], "a swept run wrote its events");
}

//! Ledger counts every scenario takes before and after its fault, a
//! poll-with-deadline helper (no sleeps as synchronisation), and the kill
//! harness of the killed-process scenarios (`kill`).

mod kill;
pub use kill::*;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use sqlx::PgPool;

/// Rows per (job_type, slot, status), oldest slot first.
pub type RunCounts = Vec<(String, Option<DateTime<Utc>>, String, i64)>;

pub async fn run_counts(pool: &PgPool) -> RunCounts {
    sqlx::query_as(
        "SELECT job_type, slot, status, count(*) FROM job_history
          GROUP BY 1, 2, 3 ORDER BY 1, 2 NULLS LAST, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// No scheduled slot has two completed runs, and nothing is still running:
/// the two ways a fault could double or strand work in the ledger.
pub async fn assert_ledger_sound(pool: &PgPool) {
    let twice: Vec<(String, DateTime<Utc>, i64)> = sqlx::query_as(
        "SELECT job_type, slot, count(*) FROM job_history
          WHERE status = 'completed' AND slot IS NOT NULL
          GROUP BY 1, 2 HAVING count(*) > 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(twice.is_empty(), "slots completed twice: {twice:?}");
    let running: i64 =
        sqlx::query_scalar("SELECT count(*) FROM job_history WHERE status = 'running'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        running,
        0,
        "runs left running: {:?}",
        run_counts(pool).await
    );
}

/// Task events (one per task of each run that got to its tasks).
pub async fn task_events(pool: &PgPool) -> i64 {
    crate::common::count(
        pool,
        "SELECT count(*) FROM sync_events WHERE event_type = 'task'",
    )
    .await
}

pub async fn completed_runs(pool: &PgPool) -> i64 {
    crate::common::count(
        pool,
        "SELECT count(*) FROM job_history WHERE status = 'completed'",
    )
    .await
}

/// The runs of one slot, oldest first.
pub async fn runs_of_slot(pool: &PgPool, slot: DateTime<Utc>) -> Vec<(uuid::Uuid, String)> {
    sqlx::query_as("SELECT id, status FROM job_history WHERE slot = $1 ORDER BY started_at")
        .bind(slot)
        .fetch_all(pool)
        .await
        .unwrap()
}

pub async fn events_of(pool: &PgPool, run: uuid::Uuid) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT event_type, source FROM sync_events WHERE job_id = $1 ORDER BY event_type, source",
    )
    .bind(run)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Polls `check` until it yields a value or `within` has passed.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "gave up after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Scenarios on the system clock need their calls in one hourly slot: when
/// the hour turns within `need`, wait for the next hour to start.
pub async fn clear_of_the_hour_turn(need: Duration) {
    let now = Utc::now();
    let left = 3600 - (now.minute() * 60 + now.second()) as u64;
    if left <= need.as_secs() {
        eventually(Duration::from_secs(left + 5), "the next hour", || async {
            (Utc::now().hour() != now.hour()).then_some(())
        })
        .await;
    }
}

/// The backend waiting on a lock in `db`, once there is one.
pub async fn lock_waiter(pool: &PgPool) -> i32 {
    eventually(
        Duration::from_secs(20),
        "a run blocked on the lock",
        || async {
            sqlx::query_scalar::<_, i32>(
                "SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'
                AND pid <> pg_backend_pid() LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .unwrap()
        },
    )
    .await
}

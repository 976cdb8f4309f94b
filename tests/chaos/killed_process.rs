//! Scenario 1: the route process is killed with SIGKILL in the middle of a
//! run (its task blocked on a lock the test holds on `bugs`), as a platform
//! does to a function past its limit. A new process called after the lease
//! (JOB_BUDGET_SECS + 20 s) expired sweeps the dead run to `timeout` and runs
//! the slot: exactly one completed run, and the killed run's events are
//! neither lost nor written twice.

use std::time::Duration;

use nightshift_testkit::db::database_url;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

const BUDGET_SECS: u64 = 4;

#[sqlx::test(migrations = "./migrations")]
#[ignore = "slow: scripts/chaos"]
async fn a_killed_run_is_swept_and_its_slot_runs_once(pool: PgPool) {
    // The lease is 24 s and both processes must call within one hourly slot.
    clear_of_the_hour_turn(Duration::from_secs(60)).await;
    let env = [
        ("DATABASE_URL", database_url(&pool).await),
        ("JOB_BUDGET_SECS", BUDGET_SECS.to_string()),
    ];
    let bin = env!("CARGO_BIN_EXE_hourly");
    let doomed = start_blocked(&pool, bin, "/api/cron/hourly", &env).await;
    let (killed, slot): (Uuid, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT id, slot FROM job_history WHERE status = 'running'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let events_at_kill = events_of(&pool, killed).await;
    doomed.kill().await;

    // A fresh process (a new container), called until the lease has expired.
    let answer = call_after_the_lease(bin, "/api/cron/hourly", &env, "skipped_duplicate").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["outcome"], "completed");
    assert_eq!(answer.body["swept"], 1);

    let runs: Vec<(Uuid, String)> = runs_of_slot(&pool, slot).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0], (killed, "timeout".to_string()));
    assert_eq!(runs[1].1, "completed");
    // The killed run's events: what it wrote before dying, plus the sweep.
    let mut expected = events_at_kill.clone();
    expected.push(("run_swept".into(), "ledger".into()));
    expected.sort();
    assert_eq!(events_of(&pool, killed).await, expected);
    let tasks = nightshift_tasks::routes(Default::default())[0].tasks.len();
    let fresh_tasks = events_of(&pool, runs[1].0)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "task")
        .count();
    assert_eq!(fresh_tasks, tasks);
    assert_ledger_sound(&pool).await;
}

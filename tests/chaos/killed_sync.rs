//! Scenario 1b: the daily route is killed with SIGKILL in the middle of the
//! GitHub sync (its store blocked on a lock the test holds on `bugs`), with a
//! repository's queue item leased to it. The first run after the killed
//! run's lease sweeps it, and the sweep releases the item in the same
//! statement (docs/architecture.md §3, crash recovery): that run syncs the
//! repository to the end and answers `more_work: false`, instead of leaving
//! it to the item's own, longer lease and the next day's slot.

use nightshift_testkit::db::database_url;
use nightshift_testkit::{Replay, synthetic_issues};
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::*;
use crate::support::*;

const ISSUES: usize = 30;

#[sqlx::test(migrations = "./migrations")]
#[ignore = "slow: scripts/chaos"]
async fn a_sync_killed_mid_repository_is_finished_by_the_first_run_after_its_lease(pool: PgPool) {
    let replay = Replay::start().await;
    for (path, page, canned) in synthetic_issues("acme/killed", 7001, ISSUES, 100, &replay.url()) {
        replay.add(&path, Some(page), canned);
    }
    let project: i64 = sqlx::query_scalar(
        "INSERT INTO projects (name, github_repo, sync_enabled) VALUES ('killed', 'acme/killed', true)
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let env = [
        ("DATABASE_URL", database_url(&pool).await),
        ("JOB_BUDGET_SECS", "4".to_string()),
        ("GITHUB_API_URL", replay.url()),
        ("GITHUB_TOKEN", "ghp_chaos".to_string()),
        ("EXPORT_URL", tasks_config().export_url),
    ];
    let (bin, path) = (
        env!("CARGO_BIN_EXE_daily"),
        "/api/cron/daily?tasks=github_sync",
    );
    let doomed = start_blocked(&pool, bin, path, &env).await;
    let killed: Uuid = sqlx::query_scalar("SELECT id FROM job_history WHERE status = 'running'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let held: Option<Uuid> = sqlx::query_scalar(
        "SELECT held_by FROM work_queue WHERE status = 'running' AND project_id = $1",
    )
    .bind(project)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(held, Some(killed), "the item names the run holding it");
    doomed.kill().await;

    // A fresh process, called until the killed run's lease (4 + 20 s) expired.
    let answer = call_after_the_lease(bin, path, &env, "skipped_running").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["outcome"], "completed", "{}", answer.body);
    assert_eq!(answer.body["swept"], 1);
    assert_eq!(answer.body["more_work"], false, "{}", answer.body);
    let details = &answer.body["tasks"][0]["details"];
    assert_eq!(
        (
            details["synced"].as_i64(),
            details["left_in_queue"].as_i64()
        ),
        (Some(1), Some(0)),
        "{details}"
    );
    // Every issue imported once; the item done on its second claim.
    let imported: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(DISTINCT external_number) FROM bugs WHERE project_id = $1)
              + (SELECT count(DISTINCT number) FROM pull_requests WHERE project_id = $1)",
    )
    .bind(project)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(imported, ISSUES as i64);
    let item: (String, i32, Option<Uuid>) =
        sqlx::query_as("SELECT status, attempts, held_by FROM work_queue WHERE project_id = $1")
            .bind(project)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(item, ("done".into(), 2, None));
    let released: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM sync_events WHERE job_id = $1 AND event_type = 'run_swept'",
    )
    .bind(killed)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(released["released_queue_items"], 1, "{released}");
    assert_eq!(
        run_status_of(&pool, killed).await,
        "timeout",
        "the killed run is swept"
    );
    assert_ledger_sound(&pool).await;
}

async fn run_status_of(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM job_history WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

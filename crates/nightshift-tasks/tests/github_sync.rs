//! github_sync against the replay server: recorded GitHub pagination, ETags,
//! rate limits, renames, failures of one repository among others, deadlines.

mod common;
#[path = "github_sync/foreign_cursor.rs"]
mod foreign_cursor;
#[path = "github_sync/people.rs"]
mod people;
#[path = "github_sync/renames.rs"]
mod renames;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use common::*;
use nightshift_core::{Task, TaskContext};
use nightshift_tasks::TasksConfig;
use nightshift_tasks::daily::github_sync::GithubSync;
use nightshift_testkit::{Canned, Replay, synthetic_issues};
use sqlx::PgPool;

const REPO: &str = "octokit-fixture-org/tmp-scenario-paginate-issues-20220719043836917-izyoe";

fn sync_ctx(
    pool: &PgPool,
    replay: &Replay,
    now: chrono::DateTime<chrono::Utc>,
    budget: Duration,
) -> TaskContext<TasksConfig> {
    let mut c = ctx_with_deadline(pool, now, budget);
    c.env = Arc::new(TasksConfig {
        github_api_url: replay.url(),
        github_token: Some("ghp_test".to_string().into()),
        github_concurrency: 4,
        ..TasksConfig::default()
    });
    c
}

async fn repo_project(pool: &PgPool, name: &str, repo: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO projects (name, github_repo, sync_enabled) VALUES ($1, $2, true) RETURNING id",
    )
    .bind(name)
    .bind(repo)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn run(
    pool: &PgPool,
    replay: &Replay,
    now: chrono::DateTime<chrono::Utc>,
) -> nightshift_core::TaskReport {
    GithubSync
        .run(&sync_ctx(pool, replay, now, Duration::from_secs(30)))
        .await
        .unwrap()
}

/// Answers served with 200, ignoring the one-off probe requests.
fn oks(replay: &Replay) -> usize {
    replay.requests().iter().filter(|r| r.status == 200).count()
}

async fn rows_digest(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(coalesce((SELECT string_agg(b::text, '|' ORDER BY id) FROM bugs b), '') ||
                    coalesce((SELECT string_agg(p::text, '|' ORDER BY id) FROM pull_requests p), ''))",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn recorded_pages_to_the_end_then_only_304s(pool: PgPool) {
    let replay = Replay::start().await;
    let p = repo_project(&pool, "Fixture", REPO).await;
    let first = run(&pool, &replay, t0()).await;
    assert_eq!(first.details["bugs"], 13, "{}", first.details);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM bugs WHERE external_source = 'github'"
        )
        .await,
        13
    );
    let (since, next): (Option<chrono::DateTime<chrono::Utc>>, Option<String>) =
        sqlx::query_as("SELECT since, next_url FROM github_sync_cursors WHERE project_id = $1")
            .bind(p)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(since.is_some() && next.is_none());
    let digest = rows_digest(&pool).await;

    replay.clear_requests();
    let second = run(&pool, &replay, t0() + chrono::Duration::days(1)).await;
    assert_eq!(second.details["not_modified"], 1, "{}", second.details);
    assert_eq!(
        oks(&replay),
        0,
        "a second run over an unchanged repository made 200 requests: {:?}",
        replay.requests()
    );
    assert!(replay.requests().iter().all(|r| r.status == 304));
    assert_eq!(
        rows_digest(&pool).await,
        digest,
        "the second run changed rows"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn pull_requests_are_not_bugs_and_skips_are_counted(pool: PgPool) {
    let replay = Replay::start().await;
    for (path, page, canned) in synthetic_issues("acme/api", 77, 250, 100, &replay.url()) {
        replay.add(&path, Some(page), canned);
    }
    repo_project(&pool, "API", "acme/api").await;
    sqlx::query(
        "INSERT INTO projects (name, github_repo, sync_enabled) VALUES ('Off', 'acme/off', false)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO projects (name, github_repo, sync_enabled, confidential) VALUES ('Secret', 'acme/secret', true, true)")
        .execute(&pool)
        .await
        .unwrap();
    let r = run(&pool, &replay, t0()).await;
    assert_eq!(
        (
            r.details["bugs"].as_i64(),
            r.details["pull_requests"].as_i64()
        ),
        (Some(200), Some(50)),
        "{}",
        r.details
    );
    assert_eq!(r.details["skipped"], 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM pull_requests").await, 50);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM bugs WHERE status = 'closed' AND resolved_at IS NOT NULL"
        )
        .await,
        67
    );
    assert!(replay.requests().iter().all(
        |r| !r.path_and_query.contains("acme/off") && !r.path_and_query.contains("acme/secret")
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn rate_limit_mid_repository_pauses_then_resumes(pool: PgPool) {
    let replay = Replay::start().await;
    repo_project(&pool, "Fixture", REPO).await;
    let reset = chrono::Utc
        .with_ymd_and_hms(2026, 11, 24, 22, 0, 0)
        .unwrap();
    replay.script(
        "/repositories/515435940/issues",
        Canned::json(
            403,
            serde_json::json!({"message": "API rate limit exceeded"}),
        )
        .header("X-RateLimit-Remaining", "0")
        .header("X-RateLimit-Reset", reset.timestamp().to_string()),
        Some(1),
    );
    let first = run(&pool, &replay, t0()).await;
    assert_eq!(first.details["paused"], 1);
    assert_eq!(first.details["bugs"], 3, "page 1 is kept");
    assert!(first.more_work);
    assert!(first.warning.is_some());
    assert!(first.events.iter().any(|e| {
        e.message
            .contains("rate limit exhausted until 2026-11-24T22:00:00")
    }));
    // Before the reset nothing is fetched; after it the walk resumes at page 2.
    replay.clear_requests();
    let early = run(&pool, &replay, reset - chrono::Duration::minutes(5)).await;
    assert_eq!(
        (early.details["synced"].as_i64(), replay.requests().len()),
        (Some(0), 0)
    );
    let later = run(&pool, &replay, reset + chrono::Duration::minutes(1)).await;
    assert_eq!(later.details["synced"], 1, "{}", later.details);
    assert!(!later.more_work);
    let pages: Vec<String> = replay
        .requests()
        .iter()
        .map(|r| r.path_and_query.clone())
        .collect();
    assert!(
        pages[0].contains("/repositories/515435940/issues") && pages[0].contains("page=2"),
        "{pages:?}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM bugs").await, 13);
}

#[sqlx::test(migrations = "../../migrations")]
async fn one_bad_repository_does_not_stop_the_others(pool: PgPool) {
    let replay = Replay::start().await;
    for (path, page, canned) in synthetic_issues("acme/good", 1, 30, 100, &replay.url()) {
        replay.add(&path, Some(page), canned);
    }
    repo_project(&pool, "Good", "acme/good").await;
    let missing = repo_project(&pool, "Missing", "acme/missing").await;
    repo_project(&pool, "Garbled", "acme/garbled").await;
    repo_project(&pool, "Flaky", REPO).await;
    repo_project(&pool, "Slow", "acme/slow").await;
    replay.script(
        "/repos/acme/garbled/issues",
        Canned::raw(200, "{\"not\": \"a list\"}"),
        None,
    );
    // 500 then 502, then the recording: the core's retries carry it through.
    replay.script(
        &format!("/repos/{REPO}/issues"),
        Canned::raw(500, "oops"),
        Some(1),
    );
    replay.script(
        &format!("/repos/{REPO}/issues"),
        Canned::raw(502, "bad gateway"),
        Some(1),
    );
    // A secondary limit: wait as told, then go on.
    replay.script(
        "/repos/acme/slow/issues",
        Canned::json(429, serde_json::json!({"message": "slow down"})).header("Retry-After", "1"),
        Some(1),
    );
    replay.script(
        "/repos/acme/slow/issues",
        Canned::json(200, serde_json::json!([])),
        None,
    );
    let r = run(&pool, &replay, t0()).await;
    assert_eq!(
        (r.details["synced"].as_i64(), r.details["failed"].as_i64()),
        (Some(3), Some(2)),
        "{}",
        r.details
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM bugs").await, 13 + 24);
    let err: Option<String> = sqlx::query_scalar("SELECT sync_error FROM projects WHERE id = $1")
        .bind(missing)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(err.unwrap().contains("not found"));
    let garbled: String =
        sqlx::query_scalar("SELECT sync_error FROM projects WHERE name = 'Garbled'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(garbled.starts_with("malformed response from"), "{garbled}");
    assert_eq!(r.events.len(), 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_rejected_token_fails_the_task(pool: PgPool) {
    let replay = Replay::start().await;
    repo_project(&pool, "Fixture", REPO).await;
    replay.script(
        &format!("/repos/{REPO}/issues"),
        Canned::json(401, serde_json::json!({"message": "Bad credentials"})),
        None,
    );
    let err = GithubSync
        .run(&sync_ctx(&pool, &replay, t0(), Duration::from_secs(30)))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GITHUB_TOKEN was rejected (401 Bad credentials)"
    );
    // The item goes back to the queue for a run with a good token.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM work_queue WHERE status = 'pending'"
        )
        .await,
        1
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_renamed_repository_is_followed(pool: PgPool) {
    let replay = Replay::start().await;
    // The repository now lives at acme/new-name (id 4242); its old name
    // answers with a redirect to /repositories/4242, as GitHub does.
    for (_, page, canned) in synthetic_issues("acme/new-name", 4242, 10, 100, &replay.url()) {
        replay.add("/repositories/4242/issues", Some(page), canned);
    }
    let p = repo_project(&pool, "Renamed", "acme/old-name").await;
    let moved = format!(
        "{}/repositories/4242/issues?state=all&per_page=100",
        replay.url()
    );
    replay.script(
        "/repos/acme/old-name/issues",
        Canned::raw(301, "").header("Location", moved),
        None,
    );
    let r = run(&pool, &replay, t0()).await;
    assert_eq!(
        (
            r.details["bugs"].as_i64(),
            r.details["pull_requests"].as_i64()
        ),
        (Some(8), Some(2)),
        "{}",
        r.details
    );
    let (id, name): (Option<i64>, String) =
        sqlx::query_as("SELECT github_repo_id, github_repo FROM projects WHERE id = $1")
            .bind(p)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((id, name.as_str()), (Some(4242), "acme/new-name"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_walk_stopped_at_the_deadline_resumes_without_duplicates(pool: PgPool) {
    let replay = Replay::start().await;
    for (path, page, canned) in synthetic_issues("acme/big", 9, 500, 100, &replay.url()) {
        replay.add(&path, Some(page), canned.delay(700));
    }
    repo_project(&pool, "Big", "acme/big").await;
    let first = GithubSync
        .run(&sync_ctx(&pool, &replay, t0(), Duration::from_millis(2900)))
        .await
        .unwrap();
    assert!(first.more_work, "{}", first.details);
    let stored_first = count(&pool, "SELECT count(*) FROM bugs").await
        + count(&pool, "SELECT count(*) FROM pull_requests").await;
    assert!(stored_first > 0 && stored_first < 500, "{stored_first}");
    let second = run(&pool, &replay, t0()).await;
    assert!(!second.more_work, "{}", second.details);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM bugs").await
            + count(&pool, "SELECT count(*) FROM pull_requests").await,
        500
    );
    // Every page was fetched with 200 exactly once.
    assert_eq!(
        replay.fetched_twice(),
        Vec::<String>::new(),
        "a page was fetched twice"
    );
}

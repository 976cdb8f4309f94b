//! The whole daily route, twice, against recorded GitHub traffic: the second
//! run fetches nothing new and leaves every row as the first one did.

use crate::common::*;
use nightshift_testkit::Replay;
use sqlx::PgPool;

const REPO: &str = "octokit-fixture-org/tmp-scenario-paginate-issues-20220719043836917-izyoe";

async fn digest(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(concat_ws('#',
            (SELECT string_agg(t::text, '|' ORDER BY id) FROM bugs t),
            (SELECT string_agg(t::text, '|' ORDER BY id) FROM pull_requests t),
            (SELECT string_agg(t::text, '|' ORDER BY project_id, date) FROM project_metrics t),
            (SELECT string_agg(t::text, '|' ORDER BY id) FROM notifications t),
            (SELECT string_agg(t::text, '|' ORDER BY project_id) FROM github_sync_cursors t)))",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_daily_run_twice_gives_the_same_rows(pool: PgPool) {
    let replay = Replay::start().await;
    let exports = std::env::temp_dir().join(format!("nightshift-daily-{}", uuid::Uuid::new_v4()));
    let mut env = tasks_config();
    env.github_api_url = replay.url();
    env.github_token = Some("ghp_test".to_string().into());
    env.export_url = exports.display().to_string();
    let t = app_with(&pool, config(), routes_with(env));
    let owner: i64 = sqlx::query_scalar("INSERT INTO users (name, email, role) VALUES ('Olga', 'olga@example.com', 'manager') RETURNING id")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO projects (name, owner_id, github_repo, sync_enabled) VALUES ('Fixture', $1, $2, true)")
        .bind(owner)
        .bind(REPO)
        .execute(&pool)
        .await
        .unwrap();

    let first = call_once(&t.app, "/api/cron/daily").await;
    assert_eq!(first.body["outcome"], "completed", "{:?}", first.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM bugs").await, 13);
    let before = digest(&pool).await;

    replay.clear_requests();
    let second = call_once(&t.app, "/api/cron/daily?force=true").await;
    assert_eq!(second.body["outcome"], "completed", "{:?}", second.body);
    assert_eq!(digest(&pool).await, before);
    assert!(
        replay.requests().iter().all(|r| r.status == 304),
        "{:?}",
        replay.requests()
    );
    let _ = std::fs::remove_dir_all(exports);
}

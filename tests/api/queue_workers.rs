//! `?worker=true`: parallel invocations drain the work queue a scheduled run
//! left behind, next to each other, each page fetched once.

use std::time::Duration;

use crate::common::*;
use nightshift_testkit::{Replay, synthetic_issues};
use sqlx::PgPool;

fn daily_app(pool: &PgPool, replay: &Replay, budget: Duration) -> TestApp {
    let mut cfg = config();
    cfg.job_budget = Some(budget);
    let mut env = tasks_config();
    env.github_api_url = replay.url();
    env.github_concurrency = 2;
    app_with(pool, cfg, routes_with(env))
}

#[sqlx::test(migrations = "./migrations")]
async fn workers_finish_what_the_scheduled_run_left(pool: PgPool) {
    let replay = Replay::start().await;
    for r in 0..8u64 {
        let repo = format!("acme/repo-{r}");
        for (path, page, canned) in synthetic_issues(&repo, 100 + r, 300, 100, &replay.url()) {
            replay.add(&path, Some(page), canned.delay(250));
        }
        sqlx::query("INSERT INTO projects (name, github_repo, sync_enabled) VALUES ($1, $2, true)")
            .bind(format!("Repo {r}"))
            .bind(&repo)
            .execute(&pool)
            .await
            .unwrap();
    }
    // A sync with too little time for 8 repositories × 3 pages (only the
    // sync runs, so its time is all the budget).
    let short = daily_app(&pool, &replay, Duration::from_millis(1500));
    let first = call_once(&short.app, "/api/cron/daily?tasks=github_sync").await;
    assert_eq!(first.body["outcome"], "completed", "{:?}", first.body);
    assert_eq!(first.body["more_work"], true);
    let left = count(
        &pool,
        "SELECT count(*) FROM work_queue WHERE status = 'pending'",
    )
    .await;
    assert!(left > 0);

    // Three workers at once pick up the rest.
    let long = daily_app(&pool, &replay, Duration::from_secs(60));
    let base = serve(long.app.clone()).await;
    let client = reqwest::Client::new();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{base}/api/cron/daily?worker=true"));
            tokio::spawn(async move { call(&client, &url, Some(&bearer())).await })
        })
        .collect();
    for c in calls {
        let a = c.await.unwrap();
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert_eq!(a.body["trigger"], "worker");
        assert!(a.body["slot"].is_null());
        let names: Vec<&str> = a.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["github_sync"]);
    }
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM work_queue WHERE status IN ('pending', 'running')"
        )
        .await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM bugs").await
            + count(&pool, "SELECT count(*) FROM pull_requests").await,
        8 * 300
    );
    assert_eq!(
        replay.fetched_twice(),
        Vec::<String>::new(),
        "a page was fetched twice"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history WHERE trigger = 'worker' AND status = 'completed'"
        )
        .await,
        3
    );
    // A worker drains, it never enqueues: one more finds nothing to do, and
    // the projects the others finished are not queued (and synced) again.
    let items = count(&pool, "SELECT count(*) FROM work_queue").await;
    let extra = call_once(&long.app, "/api/cron/daily?worker=true").await;
    assert_eq!(extra.body["outcome"], "completed", "{:?}", extra.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM work_queue").await, items);
    assert_eq!(extra.body["tasks"][0]["details"]["queued"], 0);
    // A route without a queue has nothing for a worker to do.
    let a = call_once(&long.app, "/api/cron/hourly?worker=true").await;
    assert_eq!(a.status, 400);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("no task that works a queue")
    );
}

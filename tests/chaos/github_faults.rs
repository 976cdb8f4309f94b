//! Scenario 4: GitHub misbehaving differently for each repository within
//! one daily run: page 2 answers 500, 502, a connection reset mid-body, a
//! 403 and a 429 with an exhausted rate limit (remaining 0, reset in an
//! hour), or malformed JSON; one repository's page 2 trickles in slowly and
//! one is healthy. The healthy and slow repositories sync fully; the failing
//! ones keep page 1 and their cursor on page 2. A later run with GitHub
//! healthy (and past the reset) resumes each at page 2 and completes it:
//! per repository, bugs + pull requests equal the source's issue count.

use chrono::Duration;
use nightshift_tasks::TasksConfig;
use nightshift_testkit::{Canned, Replay, synthetic_issues};
use serde_json::json;
use sqlx::PgPool;

use crate::common::*;
use crate::support::*;

/// Issues per repository: two pages of 100.
const ISSUES: usize = 150;

/// What page 2 of each repository answers in the first run.
fn faults(reset: i64) -> Vec<(&'static str, Option<Canned>)> {
    let limited = |status| {
        Canned::json(status, json!({"message": "API rate limit exceeded"}))
            .header("X-RateLimit-Limit", "5000")
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", reset.to_string())
    };
    vec![
        ("acme/healthy", None),
        ("acme/slow", None),
        ("acme/e500", Some(Canned::raw(500, "oops"))),
        (
            "acme/e502",
            Some(Canned::raw(502, "<html>bad gateway</html>")),
        ),
        (
            "acme/reset",
            Some(Canned::raw(200, &"[".repeat(4000)).cut_after(100)),
        ),
        ("acme/limit403", Some(limited(403))),
        ("acme/limit429", Some(limited(429))),
        (
            "acme/garbled",
            Some(Canned::raw(200, "[{\"number\": 3, \"title\": ")),
        ),
    ]
}

async fn imported(pool: &PgPool, project: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT (SELECT count(DISTINCT external_number) FROM bugs WHERE project_id = $1)
              + (SELECT count(DISTINCT number) FROM pull_requests WHERE project_id = $1)",
    )
    .bind(project)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn rows(pool: &PgPool) -> i64 {
    count(
        pool,
        "SELECT (SELECT count(*) FROM bugs) + (SELECT count(*) FROM pull_requests)",
    )
    .await
}

#[sqlx::test(migrations = "./migrations")]
async fn failing_repositories_keep_their_cursor_and_complete_later(pool: PgPool) {
    let replay = Replay::start().await;
    let reset = (t0() + Duration::hours(1)).timestamp();
    let mut env = TasksConfig::from_lookup(|k| match k {
        "GITHUB_API_URL" => Some(replay.url()),
        "GITHUB_TOKEN" => Some("ghp_chaos".into()),
        "GITHUB_CONCURRENCY" => Some("4".into()),
        _ => None,
    })
    .unwrap();
    env.export_url = tasks_config().export_url;
    let t = app_with(&pool, config(), routes_with(env));
    let mut projects = Vec::new();
    for (i, (repo, fault)) in faults(reset).into_iter().enumerate() {
        let repo_id = 9000 + i as u64;
        for (path, page, canned) in synthetic_issues(repo, repo_id, ISSUES, 100, &replay.url()) {
            if page == 2 && repo == "acme/slow" {
                replay.script(&path, canned.clone().trickle(2048, 40), Some(1));
            }
            replay.add(&path, Some(page), canned);
        }
        if let Some(f) = fault {
            replay.script(&format!("/repositories/{repo_id}/issues"), f, None);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO projects (name, github_repo, sync_enabled) VALUES ($1, $1, true) RETURNING id",
        )
        .bind(repo)
        .fetch_one(&pool)
        .await
        .unwrap();
        projects.push((repo, repo_id, id));
    }
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/daily?tasks=github_sync");

    let first = call(&client, &url, Some(&bearer())).await;
    assert!([200, 500].contains(&first.status), "{}", first.body);
    for &(repo, _, id) in &projects {
        let want = if ["acme/healthy", "acme/slow"].contains(&repo) {
            ISSUES as i64
        } else {
            100
        };
        assert_eq!(
            imported(&pool, id).await,
            want,
            "{repo} after the faulty run"
        );
    }
    assert_eq!(
        rows(&pool).await,
        2 * 150 + 6 * 100,
        "an issue imported twice"
    );

    // GitHub is healthy again and the rate limit has reset.
    replay.clear_scripts();
    replay.clear_requests();
    t.clock.advance(Duration::hours(2));
    let second = call(&client, &url, Some(&bearer())).await;
    assert_eq!(second.body["outcome"], "completed", "{}", second.body);
    for &(repo, repo_id, id) in &projects {
        assert_eq!(
            imported(&pool, id).await,
            ISSUES as i64,
            "{repo} after recovery"
        );
        if ["acme/healthy", "acme/slow"].contains(&repo) {
            continue;
        }
        // Resumed from the kept cursor, not from page 1.
        let first_fetch = replay
            .requests()
            .into_iter()
            .find(|r| {
                r.path_and_query.contains(repo)
                    || r.path_and_query.contains(&format!("/{repo_id}/"))
            })
            .map(|r| r.path_and_query);
        assert!(
            first_fetch
                .as_deref()
                .is_some_and(|p| p.contains(&format!("/repositories/{repo_id}/issues"))
                    && p.contains("page=2")),
            "{repo} restarted at {first_fetch:?}"
        );
    }
    assert_eq!(
        rows(&pool).await,
        8 * ISSUES as i64,
        "an issue imported twice"
    );
    assert_ledger_sound(&pool).await;
}

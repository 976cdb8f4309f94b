//! A cursor whose next page names another origin (a restored bucket, an
//! edited row) is not followed: the repository starts over from page 1 on
//! GITHUB_API_URL, and the other origin sees no request (issue 33).

use super::*;

#[sqlx::test(migrations = "../../migrations")]
async fn a_next_page_on_another_origin_is_dropped_and_the_walk_starts_over(pool: PgPool) {
    let replay = Replay::start().await;
    let elsewhere = Replay::start().await;
    let p = repo_project(&pool, "Fixture", REPO).await;
    sqlx::query(
        "INSERT INTO github_sync_cursors (project_id, next_url, updated_at) VALUES ($1, $2, now())",
    )
    .bind(p)
    .bind(format!(
        "{}/repos/{REPO}/issues?page=2",
        elsewhere.url().trim_end_matches('/')
    ))
    .execute(&pool)
    .await
    .unwrap();
    let report = run(&pool, &replay, t0()).await;
    assert!(
        elsewhere.requests().is_empty(),
        "fetched from another origin: {:?}",
        elsewhere.requests()
    );
    assert_eq!(report.details["bugs"], 13, "{}", report.details);
    let next: Option<String> =
        sqlx::query_scalar("SELECT next_url FROM github_sync_cursors WHERE project_id = $1")
            .bind(p)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(next, None);
}

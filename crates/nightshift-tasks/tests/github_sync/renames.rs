//! Repository names that would escape their API path: refused by the
//! database, and by the sync when a rename's redirect brings one.

use super::*;

#[sqlx::test(migrations = "../../migrations")]
async fn the_check_refuses_names_that_escape_their_path(pool: PgPool) {
    let long_owner = format!("{}/x", "o".repeat(40));
    let long_name = format!("o/{}", "n".repeat(101));
    for bad in [
        "../..",
        "acme/..",
        "./acme",
        "acme/.",
        &long_owner,
        &long_name,
    ] {
        let r = sqlx::query("INSERT INTO projects (name, github_repo) VALUES ('P', $1)")
            .bind(bad)
            .execute(&pool)
            .await;
        assert!(r.is_err(), "{bad} was stored");
    }
    let fine = format!("{}/{}", "o".repeat(39), "n".repeat(100));
    for good in ["acme/.github", "a-b/c_d.e", fine.as_str()] {
        // Project names are unique: each row is named after its repository.
        sqlx::query("INSERT INTO projects (name, github_repo) VALUES ($1, $1)")
            .bind(good)
            .execute(&pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_redirect_to_a_bad_name_fails_that_project_only(pool: PgPool) {
    let replay = Replay::start().await;
    for (_, page, canned) in synthetic_issues("acme/..", 4242, 3, 100, &replay.url()) {
        replay.add("/repositories/4242/issues", Some(page), canned);
    }
    for (path, page, canned) in synthetic_issues("acme/good", 1, 5, 100, &replay.url()) {
        replay.add(&path, Some(page), canned);
    }
    let moved = repo_project(&pool, "Moved", "acme/old-name").await;
    repo_project(&pool, "Good", "acme/good").await;
    let location = format!(
        "{}/repositories/4242/issues?state=all&per_page=100",
        replay.url()
    );
    replay.script(
        "/repos/acme/old-name/issues",
        Canned::raw(301, "").header("Location", location),
        None,
    );
    let r = run(&pool, &replay, t0()).await;
    assert_eq!(
        (r.details["synced"].as_i64(), r.details["failed"].as_i64()),
        (Some(1), Some(1)),
        "{}",
        r.details
    );
    let (name, error): (String, Option<String>) =
        sqlx::query_as("SELECT github_repo, sync_error FROM projects WHERE id = $1")
            .bind(moved)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(name, "acme/old-name", "the bad name is not stored");
    let error = error.unwrap_or_default();
    assert!(
        error.contains("\"acme/..\" is no GitHub owner/name"),
        "{error}"
    );
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bugs b JOIN projects p ON p.id = b.project_id WHERE p.name = 'Moved'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 0, "nothing of the bad page is kept");
}

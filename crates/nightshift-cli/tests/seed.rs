//! `nightshift seed` and `nightshift project add`, run as the built binary
//! against a fresh database per test.

use nightshift_testkit::cli;
use nightshift_testkit::db::{database_url, drop_db, scratch_db, url_of};
use sqlx::PgPool;

const NOW: &str = "2026-11-24T12:00:00Z";

/// Runs `nightshift ARGS` against `url`; returns (success, stdout + stderr).
async fn nightshift(url: &str, args: &[&str]) -> (bool, String) {
    let r = cli::run(env!("CARGO_BIN_EXE_nightshift"), url, args, &[], &[]).await;
    (r.code == 0, r.text())
}

async fn seed(url: &str, projects: &str, bugs: &str, seed: &str) {
    let args = [
        "seed",
        "--projects",
        projects,
        "--bugs",
        bugs,
        "--seed",
        seed,
        "--now",
        NOW,
    ];
    let (ok, out) = nightshift(url, &args).await;
    assert!(ok, "{out}");
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// A fingerprint of every bug row, generated columns included.
const BUGS_MD5: &str = "SELECT md5(string_agg(b::text, E'\\n' ORDER BY id)) FROM bugs b";

/// An extra database next to the test's own, migrated by `nightshift migrate`.
/// Its name derives from the test database's, so parallel tests never share
/// one; it is dropped by `drop_db` (and on the next run if a test died).
async fn extra_db(pool: &PgPool, suffix: &str) -> String {
    let name = scratch_db(pool, &format!("seed_{suffix}")).await;
    let (ok, out) = nightshift(&url_of(&name), &["migrate"]).await;
    assert!(ok, "{out}");
    name
}

async fn bugs_md5(db: &str) -> String {
    let pool = PgPool::connect(&url_of(db)).await.unwrap();
    let md5: String = sqlx::query_scalar(BUGS_MD5).fetch_one(&pool).await.unwrap();
    pool.close().await;
    md5
}

#[sqlx::test(migrations = "../../migrations")]
async fn seed_builds_a_small_organisation(pool: PgPool) {
    let url = database_url(&pool).await;
    let (ok, out) = nightshift(
        &url,
        &["seed", "--projects", "5", "--bugs", "500", "--now", NOW],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("5 projects") && out.contains("500 bugs"),
        "{out}"
    );

    assert_eq!(count(&pool, "SELECT count(*) FROM projects").await, 5);
    assert_eq!(count(&pool, "SELECT count(*) FROM bugs").await, 500);
    // One executive at the top; everyone else reports to the level above.
    assert_eq!(
        count(&pool, "SELECT count(*) FROM users WHERE manager_id IS NULL").await,
        1
    );
    let bad_chain = "SELECT count(*) FROM users u LEFT JOIN users m ON m.id = u.manager_id
        WHERE (u.role, m.role) NOT IN (('director', 'executive'), ('manager', 'director'),
                                       ('engineer', 'manager'))
          AND u.role <> 'executive'";
    assert_eq!(count(&pool, bad_chain).await, 0);
    assert!(
        count(&pool, "SELECT count(*) FROM users WHERE role = 'engineer'").await >= 12,
        "at least 12 engineers"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM projects p JOIN users u ON u.id = p.owner_id
              WHERE u.role = 'manager' AND NOT p.sync_enabled"
        )
        .await,
        5
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(DISTINCT severity) FROM bugs WHERE severity IN ('critical', 'high', 'medium', 'low')"
        )
        .await,
        4
    );
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM bugs WHERE status = 'open' AND severity = 'critical'
                AND assignee_id IS NULL"
        )
        .await
            > 0
    );
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM bugs WHERE status IN ('open', 'in_progress')
                AND sla_deadline < now()"
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM bugs WHERE title LIKE '%<script>%'"
        )
        .await,
        1
    );
    // Consistency the tasks rely on.
    let inconsistent = "SELECT count(*) FROM bugs WHERE external_source <> 'seed'
        OR (status IN ('resolved', 'closed')) <> (resolved_at IS NOT NULL)
        OR resolved_at <= created_at OR resolved_at >= '2026-11-24T12:00:00Z'
        OR created_at < timestamptz '2026-11-24T12:00:00Z' - interval '90 days'
        OR followers <> '{}' OR escalation_level <> 0
        -- Open bugs carry their band at the seed's clock (decision 73).
        OR sla_risk IS DISTINCT FROM CASE WHEN status IN ('open', 'in_progress')
            THEN risk_band_at('2026-11-24T12:00:00Z', sla_deadline, sla_window_hours) END";
    assert_eq!(count(&pool, inconsistent).await, 0);
    // People as GitHub and the import know them: a login each; a manager and
    // their engineers share a team, which no other manager has.
    let no_login = "SELECT count(*) FROM users WHERE github_login IS NULL
        OR github_login <> lower(github_login) OR (team IS NULL) <> (role NOT IN ('manager', 'engineer'))";
    assert_eq!(count(&pool, no_login).await, 0);
    let split_teams = "SELECT count(*) FROM users e JOIN users m ON m.id = e.manager_id
        WHERE e.role = 'engineer' AND e.team IS DISTINCT FROM m.team";
    assert_eq!(count(&pool, split_teams).await, 0);
    assert_eq!(
        count(
            &pool,
            "SELECT count(DISTINCT team) - count(*) FILTER (WHERE role = 'manager') FROM users"
        )
        .await,
        0
    );
    // Every bug was opened by an engineer of the owning manager's team.
    let stray_creator = "SELECT count(*) FROM bugs b JOIN projects p ON p.id = b.project_id
        LEFT JOIN users c ON c.id = b.creator_id
        WHERE c.role IS DISTINCT FROM 'engineer' OR c.manager_id IS DISTINCT FROM p.owner_id";
    assert_eq!(count(&pool, stray_creator).await, 0);
    let numbering = "SELECT count(*) FROM (SELECT project_id FROM bugs GROUP BY project_id
        HAVING min(external_number) <> 1 OR max(external_number) <> count(*)) t";
    assert_eq!(count(&pool, numbering).await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn same_seed_same_rows_other_seed_other_rows(pool: PgPool) {
    seed(&database_url(&pool).await, "5", "500", "7").await;
    let same = extra_db(&pool, "same").await;
    let other = extra_db(&pool, "other").await;
    seed(&url_of(&same), "5", "500", "7").await;
    seed(&url_of(&other), "5", "500", "8").await;

    let mine: String = sqlx::query_scalar(BUGS_MD5).fetch_one(&pool).await.unwrap();
    let (same_md5, other_md5) = (bugs_md5(&same).await, bugs_md5(&other).await);
    drop_db(&pool, &same).await;
    drop_db(&pool, &other).await;
    assert_eq!(mine, same_md5, "same seed and --now, same rows");
    assert_ne!(mine, other_md5, "another seed, other rows");
}

#[sqlx::test(migrations = "../../migrations")]
async fn seed_refuses_a_database_with_projects(pool: PgPool) {
    let url = database_url(&pool).await;
    seed(&url, "2", "20", "42").await;
    let (ok, out) = nightshift(&url, &["seed", "--projects", "2", "--bugs", "20"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("the database already has 2 projects; seed fills an empty database only"),
        "{out}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM bugs").await, 20);
}

#[sqlx::test(migrations = "../../migrations")]
async fn project_add_inserts_a_synced_project(pool: PgPool) {
    let url = database_url(&pool).await;
    seed(&url, "3", "30", "42").await;
    let owner: String =
        sqlx::query_scalar("SELECT email FROM users WHERE role = 'manager' ORDER BY id LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();

    let add = [
        "project",
        "add",
        "Ledger Sync",
        "--github",
        "acme/ledger_sync.rs",
    ];
    let (ok, out) = nightshift(&url, &[&add[..], &["--owner", &owner]].concat()).await;
    assert!(ok, "{out}");
    // The seed's ids are taken: the new project comes after them.
    assert!(out.contains("added project 4 \"Ledger Sync\""), "{out}");
    let (sync, repo, owner_email): (bool, String, String) = sqlx::query_as(
        "SELECT p.sync_enabled, p.github_repo, u.email FROM projects p
           JOIN users u ON u.id = p.owner_id WHERE p.name = 'Ledger Sync'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(sync);
    assert_eq!(repo, "acme/ledger_sync.rs");
    assert_eq!(owner_email, owner);

    let (ok, out) = nightshift(
        &url,
        &["project", "add", "Other", "--github", "acme/ledger_sync.rs"],
    )
    .await;
    assert!(!ok && out.contains("already uses the repository"), "{out}");
    let (ok, out) = nightshift(
        &url,
        &["project", "add", "Ledger Sync", "--github", "acme/new"],
    )
    .await;
    assert!(
        !ok && out.contains("a project named \"Ledger Sync\" already exists"),
        "{out}"
    );
    for bad in [
        "acme",
        "acme/",
        "/repo",
        "acme/a/b",
        "acme/has space",
        "acme/..",
    ] {
        let (ok, out) = nightshift(&url, &["project", "add", "Bad", "--github", bad]).await;
        assert!(!ok && out.contains("is not OWNER/REPO"), "{bad}: {out}");
    }
    let (ok, out) = nightshift(
        &url,
        &[
            "project",
            "add",
            "Orphan",
            "--github",
            "acme/orphan",
            "--owner",
            "nobody@example.com",
        ],
    )
    .await;
    assert!(!ok && out.contains("no user has the email"), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM projects").await, 4);
}

#[tokio::test]
async fn every_new_subcommand_has_an_example() {
    for cmd in [
        &["seed", "--help"][..],
        &["project", "--help"],
        &["project", "add", "--help"],
    ] {
        let (ok, out) = nightshift("postgres://unused/none", cmd).await;
        assert!(ok, "{out}");
        assert!(out.contains("Example:"), "{cmd:?}: {out}");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn history_days_fill_project_metrics_oldest_first(pool: PgPool) {
    let url = database_url(&pool).await;
    let args = [
        "seed",
        "--projects",
        "4",
        "--bugs",
        "300",
        "--now",
        NOW,
        "--history-days",
        "10",
    ];
    let (ok, out) = nightshift(&url, &args).await;
    assert!(ok, "{out}");
    // One row per active project and day.
    let active = count(
        &pool,
        "SELECT count(*) FROM projects WHERE status = 'active'",
    )
    .await;
    assert!(active > 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM project_metrics").await,
        10 * active
    );
    let (first, last): (chrono::NaiveDate, chrono::NaiveDate) =
        sqlx::query_as("SELECT min(date), max(date) FROM project_metrics")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((last - first).num_days(), 9);
    assert_eq!(last.to_string(), "2026-11-24");
}

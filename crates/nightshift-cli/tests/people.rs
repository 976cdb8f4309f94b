//! `nightshift people` import's merge, `list` and `mute`/`unmute`, run as the
//! built binary against a fresh database per test.

use nightshift_testkit::cli;
use nightshift_testkit::db::database_url;
use serde_json::Value;
use sqlx::PgPool;

/// Runs `nightshift ARGS`; returns (exit code, stdout, stderr).
async fn nightshift(url: &str, args: &[&str]) -> (i32, String, String) {
    let r = cli::run(env!("CARGO_BIN_EXE_nightshift"), url, args, &[], &[]).await;
    (r.code, r.stdout, r.stderr)
}

async fn id(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A person as the GitHub sync creates them: the login, no e-mail.
async fn login_only(pool: &PgPool, login: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (name, github_login, role) VALUES ($1, $1, 'engineer') RETURNING id",
    )
    .bind(login)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_login_only_person_is_merged_into_the_imported_one(pool: PgPool) {
    let url = database_url(&pool).await;
    let ana = id(&pool, "INSERT INTO users (name, email, role) VALUES ('Ana Silva', 'ana@example.com', 'engineer') RETURNING id").await;
    let gh = login_only(&pool, "ana-gh").await;
    sqlx::query("UPDATE users SET team = 'Core', notify = false WHERE id = $1")
        .bind(gh)
        .execute(&pool)
        .await
        .unwrap();
    let xi = login_only(&pool, "xi").await;
    let report = id(&pool, &format!("INSERT INTO users (name, github_login, role, manager_id) VALUES ('r', 'rep', 'engineer', {gh}) RETURNING id")).await;
    let p = id(
        &pool,
        &format!("INSERT INTO projects (name, owner_id) VALUES ('P', {gh}) RETURNING id"),
    )
    .await;
    let bug = |assignee: i64, followers: &str| {
        format!(
            "INSERT INTO bugs (project_id, title, assignee_id, creator_id, followers) VALUES ({p}, 't', {assignee}, {gh}, '{followers}') RETURNING id"
        )
    };
    let b1 = id(&pool, &bug(gh, &format!("{{{xi},{gh}}}"))).await;
    let b2 = id(&pool, &bug(gh, &format!("{{{ana}}}"))).await;
    let b3 = id(&pool, &bug(xi, &format!("{{{gh},{ana},{gh}}}"))).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO escalations (bug_id, level, from_priority, to_priority, assignee_id, manager_id, created_at)
           VALUES ({b1}, 1, 'P2', 'P1', {gh}, {gh}, now());
         INSERT INTO pull_requests (project_id, number, title, state, author, author_id, created_at, updated_at)
           VALUES ({p}, 1, 'pr', 'open', 'ana-gh', {gh}, now(), now());
         INSERT INTO notices (user_id, channel, kind, urgency, headline, dedupe_key, created_at)
           VALUES ({gh}, 'email', 'risk', 1, 'h', 'k1', now())"
    )))
    .execute(&pool)
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "email,github_login\nana@example.com,Ana-GH\n").unwrap();
    let (code, out, err) = nightshift(&url, &["people", "import", file.to_str().unwrap()]).await;
    assert_eq!(
        (code, out.trim()),
        (0, "0 created, 0 updated, 1 merged, 0 unchanged"),
        "{err}"
    );

    let gone: i64 = id(
        &pool,
        &format!("SELECT count(*) FROM users WHERE id = {gh}"),
    )
    .await;
    assert_eq!(gone, 0);
    let (login, team, notify): (String, Option<String>, bool) =
        sqlx::query_as("SELECT github_login, team, notify FROM users WHERE id = $1")
            .bind(ana)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (login.as_str(), team.as_deref(), notify),
        ("Ana-GH", Some("Core"), false)
    );
    let refs = format!(
        "SELECT (SELECT count(*) FROM bugs WHERE assignee_id = {ana}) * 1000
              + (SELECT count(*) FROM bugs WHERE creator_id = {ana}) * 100
              + (SELECT count(*) FROM escalations WHERE assignee_id = {ana} AND manager_id = {ana}) * 10
              + (SELECT count(*) FROM users WHERE id = {report} AND manager_id = {ana})
              + (SELECT count(*) FROM projects WHERE owner_id = {ana}) * 10000
              + (SELECT count(*) FROM pull_requests WHERE author_id = {ana}) * 100000
              + (SELECT count(*) FROM notices WHERE user_id = {ana}) * 1000000"
    );
    assert_eq!(id(&pool, &refs).await, 1_112_311);
    let followers: Vec<Vec<i64>> =
        sqlx::query_scalar("SELECT followers FROM bugs WHERE id = ANY ($1) ORDER BY id")
            .bind([b1, b2, b3])
            .fetch_all(&pool)
            .await
            .unwrap();
    // Moved, once each, and never the bug's own assignee.
    assert_eq!(followers, [vec![xi], vec![], vec![ana]]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn list_shows_login_only_people_with_their_bugs(pool: PgPool) {
    let url = database_url(&pool).await;
    let boss = id(&pool, "INSERT INTO users (name, email, role, team) VALUES ('Max Boss', 'max@example.com', 'manager', 'Core') RETURNING id").await;
    let gh = login_only(&pool, "octocat").await;
    sqlx::query("UPDATE users SET manager_id = $1 WHERE id = $2")
        .bind(boss)
        .bind(gh)
        .execute(&pool)
        .await
        .unwrap();
    let p = id(
        &pool,
        "INSERT INTO projects (name) VALUES ('P') RETURNING id",
    )
    .await;
    sqlx::query(
        "INSERT INTO bugs (project_id, title, severity, status, assignee_id, is_blocker)
         SELECT $1, 't', s, st, $2, b
           FROM (VALUES ('critical', 'open', false), ('high', 'in_progress', false),
                        ('medium', 'closed', false), ('low', 'open', true)) AS v(s, st, b)",
    )
    .bind(p)
    .bind(gh)
    .execute(&pool)
    .await
    .unwrap();

    let (code, out, err) = nightshift(&url, &["people", "list", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let people: Value = serde_json::from_str(&out).unwrap();
    let cat = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["github_login"] == "octocat")
        .unwrap();
    // 8 + 4 + (1 + 2 blocker) = 15: MODERATE; the closed bug does not count.
    assert_eq!(
        (
            &cat["email"],
            &cat["has_address"],
            &cat["open_bugs"],
            &cat["workload"],
            &cat["manager"],
            &cat["notify"]
        ),
        (
            &Value::Null,
            &Value::Bool(false),
            &3.into(),
            &"MODERATE".into(),
            &"Max Boss".into(),
            &Value::Bool(true)
        )
    );
    let max = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "max@example.com")
        .unwrap();
    assert_eq!(
        (&max["open_bugs"], &max["workload"], &max["has_address"]),
        (&0.into(), &"LOW".into(), &Value::Bool(true))
    );

    let (code, table, _) = nightshift(&url, &["people", "list"]).await;
    assert_eq!(code, 0);
    let row = table.lines().find(|l| l.contains("octocat")).unwrap();
    assert!(
        row.contains("MODERATE") && row.contains("Max Boss") && row.ends_with("none"),
        "{row}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn mute_and_unmute_by_email_or_login(pool: PgPool) {
    let url = database_url(&pool).await;
    let ana = id(&pool, "INSERT INTO users (name, email, github_login, role) VALUES ('Ana', 'ana@example.com', 'ana-gh', 'engineer') RETURNING id").await;
    let notify = || async {
        id(
            &pool,
            &format!("SELECT notify::int::int8 FROM users WHERE id = {ana}"),
        )
        .await
    };

    let (code, out, _) = nightshift(&url, &["people", "mute", "ANA@example.com"]).await;
    assert_eq!((code, out.trim()), (0, "Ana (ANA@example.com) muted"));
    assert_eq!(notify().await, 0);
    let (_, out, _) = nightshift(&url, &["people", "mute", "ana-gh"]).await;
    assert_eq!(out.trim(), "Ana (ana-gh) muted (already)");
    let (code, _, _) = nightshift(&url, &["people", "unmute", "Ana-GH"]).await;
    assert_eq!((code, notify().await), (0, 1));

    for who in ["nobody@example.com", "nobody"] {
        let (code, _, err) = nightshift(&url, &["people", "mute", who]).await;
        assert_eq!(code, 1, "{who}");
        assert!(
            err.contains("no person has the") && err.contains(who),
            "{err}"
        );
    }
    assert_eq!(notify().await, 1);
}

#[tokio::test]
async fn every_people_command_has_an_example() {
    for cmd in [
        &["people"][..],
        &["people", "import"],
        &["people", "list"],
        &["people", "mute"],
        &["people", "unmute"],
    ] {
        let (code, out, _) =
            nightshift("postgres://unused/none", &[cmd, &["--help"]].concat()).await;
        assert!(code == 0 && out.contains("Example:"), "{cmd:?}: {out}");
    }
}

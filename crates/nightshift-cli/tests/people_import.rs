//! `nightshift people import`, run as the built binary against a fresh
//! database per test: idempotence, every kind of bad row, the dry run.

use nightshift_testkit::cli;
use nightshift_testkit::db::database_url;
use sqlx::PgPool;

/// Writes `csv` to a file and runs `nightshift people import FILE ARGS`;
/// returns (exit code, stdout, stderr).
async fn import(url: &str, csv: &str, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, csv).unwrap();
    let mut all = vec!["people".into(), "import".into(), file.into_os_string()];
    all.extend(args.iter().map(|a| a.into()));
    let r = cli::run(env!("CARGO_BIN_EXE_nightshift"), url, &all, &[], &[]).await;
    (r.code, r.stdout, r.stderr)
}

/// Every row of users and bugs: equal before and after means nothing was
/// written.
async fn digest(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(coalesce((SELECT string_agg(u::text, '|' ORDER BY id) FROM users u), '') ||
                    coalesce((SELECT string_agg(b::text, '|' ORDER BY id) FROM bugs b), ''))",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Columns out of order, an extra column, no timezone column, a quoted
/// comma, a manager who comes later in the file.
const ORG: &str = "github_login,email,notes,name,manager_email,team,role
ana-s,ana@example.com,likes Rust,\"Silva, Ana\",max@example.com,Core,
,bo@example.com,,,max@example.com,Core,engineer
cy,,,Cy Login,max@example.com,,
maxb,max@example.com,,Max Boss,,Core,Manager
";

#[sqlx::test(migrations = "../../migrations")]
async fn importing_the_same_file_twice_changes_nothing(pool: PgPool) {
    let url = database_url(&pool).await;
    let (code, out, err) = import(&url, ORG, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "4 created, 0 updated, 0 merged, 0 unchanged");
    // name | email | login | role | team | manager's e-mail
    let people: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws(' | ', u.name, coalesce(u.email, '-'), coalesce(u.github_login, '-'),
                          u.role, coalesce(u.team, '-'), coalesce(m.email, '-'))
           FROM users u LEFT JOIN users m ON m.id = u.manager_id ORDER BY u.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        people,
        [
            "Silva, Ana | ana@example.com | ana-s | engineer | Core | max@example.com",
            // No name: the e-mail's local part.
            "bo | bo@example.com | - | engineer | Core | max@example.com",
            "Cy Login | - | cy | engineer | - | max@example.com",
            "Max Boss | max@example.com | maxb | manager | Core | -",
        ]
    );

    let before = digest(&pool).await;
    let (code, out, err) = import(&url, ORG, &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "0 created, 0 updated, 0 merged, 4 unchanged");
    assert_eq!(digest(&pool).await, before);

    // Empty cells keep what a person has; a changed one updates.
    let (code, out, err) = import(
        &url,
        "email,team,timezone\nana@example.com,,Europe/Lisbon\n",
        &[],
    )
    .await;
    assert_eq!(
        (code, out.trim()),
        (0, "0 created, 1 updated, 0 merged, 0 unchanged"),
        "{err}"
    );
    let (team, tz): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT team, timezone FROM users WHERE email = 'ana@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (team.as_deref(), tz.as_deref()),
        (Some("Core"), Some("Europe/Lisbon"))
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_bad_row_is_named_and_nothing_is_written(pool: PgPool) {
    let url = database_url(&pool).await;
    sqlx::query(
        "INSERT INTO users (name, email, github_login, role)
         VALUES ('Taken', 'taken@example.com', 'taken', 'engineer')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let header = "email,name,github_login,manager_email,team,role,timezone\n";
    let good = "ok@example.com,Ok,ok-login,,,,\n";
    let cases: [(&str, &str, &str); 9] = [
        (
            "n1@example.com,,,boss@example.com,,,",
            "manager_email",
            "no person has the e-mail boss@example.com",
        ),
        (
            "dup@example.com,,ok-login,,,,",
            "github_login",
            "ok-login is also on line 2",
        ),
        (
            "OK@example.com,,,,,,",
            "email",
            "OK@example.com is also on line 2",
        ),
        (
            "n4@example.com,,Taken,,,,",
            "github_login",
            "Taken belongs to another person, taken@example.com",
        ),
        (
            "n5@example.com,,,,,,Mars/Olympus",
            "timezone",
            "\"Mars/Olympus\" is not an IANA time zone",
        ),
        (
            "n6@example.com,,,,,intern,",
            "role",
            "\"intern\" is not a role",
        ),
        (
            "new.example.com,,,,,,",
            "email",
            "\"new.example.com\" is not an e-mail address",
        ),
        (
            ",Nobody,,,,,",
            "email",
            "neither email nor github_login is given",
        ),
        (
            "n9@example.com,,has_underscore,,,,",
            "github_login",
            "\"has_underscore\" is not a GitHub login",
        ),
    ];
    let before = digest(&pool).await;
    for (row, column, reason) in cases {
        let (code, out, err) = import(&url, &format!("{header}{good}{row}\n"), &[]).await;
        assert_eq!(code, 1, "{row}: {out}{err}");
        let expected = format!("line 3, column {column}: {reason}");
        assert!(
            err.contains(&expected),
            "{row}: expected {expected:?} in {err}"
        );
        assert!(
            err.contains("1 bad row(s)") && err.contains("nothing was imported"),
            "{err}"
        );
        assert_eq!(digest(&pool).await, before, "{row}: something was written");
    }

    // All of them at once: every one is listed, in file order.
    let all: String = cases.iter().map(|(row, _, _)| format!("{row}\n")).collect();
    let (code, _, err) = import(&url, &format!("{header}{good}{all}"), &[]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("9 bad row(s)"), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.trim_start().starts_with("line "))
        .collect();
    assert_eq!(lines.len(), 9, "{err}");
    for (k, (_, column, _)) in cases.iter().enumerate() {
        assert!(
            lines[k]
                .trim_start()
                .starts_with(&format!("line {}, column {column}:", k + 3)),
            "{}",
            lines[k]
        );
    }
    assert_eq!(digest(&pool).await, before);

    // A header without email or github_login is no import at all.
    let (code, _, err) = import(&url, "name,team\nAna,Core\n", &[]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("needs an email or a github_login column"),
        "{err}"
    );
    let (code, _, err) = import(
        &url,
        &format!("{header}a@example.com,\"Silva, Ana\",x\n"),
        &[],
    )
    .await;
    assert!(
        code == 1 && err.contains("line 2, column -: 3 fields where the header has 7"),
        "{err}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_dry_run_says_what_it_would_do_and_writes_nothing(pool: PgPool) {
    let url = database_url(&pool).await;
    sqlx::query(
        "INSERT INTO users (name, email, github_login, role) VALUES
           ('Ana', 'ana@example.com', NULL, 'engineer'),
           ('ana-gh', NULL, 'ana-gh', 'engineer'),
           ('Bo', 'bo@example.com', NULL, 'engineer')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let before = digest(&pool).await;
    let csv = "email,github_login,team\nana@example.com,ana-gh,\nbo@example.com,,Core\nnew@example.com,,\n";
    let (code, out, err) = import(
        &url,
        &format!("{csv}bo@example.com,,Core\n"),
        &["--dry-run"],
    )
    .await;
    // The duplicate e-mail is still caught by a dry run.
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("line 5, column email: bo@example.com is also on line 3"),
        "{err}"
    );

    let (code, out, err) = import(&url, csv, &["--dry-run"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "line 2: merge ana@example.com",
            "line 3: update bo@example.com",
            "line 4: create new@example.com",
            "dry run: 1 created, 1 updated, 1 merged, 0 unchanged; nothing was written",
        ]
    );
    assert_eq!(digest(&pool).await, before);
}

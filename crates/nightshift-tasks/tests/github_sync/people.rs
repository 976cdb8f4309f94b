//! People from GitHub: authors, assignees and followers by login, through
//! the replay of tests/fixtures/github/issues-with-assignees.json (ours).

use chrono::{DateTime, TimeZone, Utc};
use nightshift_core::Task;
use nightshift_tasks::hourly::escalations::Escalations;
use serde_json::{Value, json};

use super::*;

const PEOPLE_REPO: &str = "nightshift-fixtures/people";
const PATH: &str = "/repos/nightshift-fixtures/people/issues";

/// The recording's issues were opened 2026-11-23 08:01-08:07 UTC.
fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

async fn people_project(pool: &PgPool, owner: Option<i64>) -> i64 {
    let p = repo_project(pool, "People", PEOPLE_REPO).await;
    sqlx::query("UPDATE projects SET owner_id = $2 WHERE id = $1")
        .bind(p)
        .bind(owner)
        .execute(pool)
        .await
        .unwrap();
    p
}

/// A person with an e-mail (as `nightshift people import` leaves them).
async fn person(pool: &PgPool, name: &str, login: Option<&str>, manager: Option<i64>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (name, email, github_login, role, manager_id)
         VALUES ($1, lower(split_part($1, ' ', 1)) || '@example.com', $2, 'manager', $3) RETURNING id",
    )
    .bind(name)
    .bind(login)
    .bind(manager)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// What a bug's people and labels became. People are shown by login, or by
/// e-mail for those who have none.
#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Seen {
    creator: Option<String>,
    assignee: Option<String>,
    followers: Vec<String>,
    revenue: String,
    sla_hours: Option<i32>,
}

async fn bug_no(pool: &PgPool, number: i32) -> Seen {
    sqlx::query_as(
        "SELECT (SELECT coalesce(lower(github_login), email) FROM users WHERE id = b.creator_id) AS creator,
                (SELECT coalesce(lower(github_login), email) FROM users WHERE id = b.assignee_id) AS assignee,
                ARRAY(SELECT coalesce(lower(u.github_login), u.email)
                        FROM unnest(b.followers) WITH ORDINALITY AS f(id, o)
                        JOIN users u ON u.id = f.id ORDER BY f.o) AS followers,
                b.revenue_impact_daily::text AS revenue, b.sla_hours
           FROM bugs b WHERE b.external_source = 'github' AND b.external_number = $1",
    )
    .bind(number)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn seen(
    creator: &str,
    assignee: Option<&str>,
    followers: &[&str],
    revenue: &str,
    sla: Option<i32>,
) -> Seen {
    Seen {
        creator: Some(creator.into()),
        assignee: assignee.map(Into::into),
        followers: followers.iter().map(|f| f.to_string()).collect(),
        revenue: revenue.into(),
        sla_hours: sla,
    }
}

/// The recording with some issues' assignees changed on GitHub (and their
/// `updated_at` moved on, as GitHub does).
fn reassigned(changes: &[(u64, &[&str])], updated: DateTime<Utc>) -> Value {
    let mut body = nightshift_testkit::recorded_body("issues-with-assignees.json", PATH);
    for issue in body.as_array_mut().unwrap() {
        let Some((_, logins)) = changes.iter().find(|(n, _)| issue["number"] == *n) else {
            continue;
        };
        let users: Vec<Value> = logins
            .iter()
            .map(|l| json!({ "login": l, "type": "User" }))
            .collect();
        issue["assignee"] = users.first().cloned().unwrap_or(Value::Null);
        issue["assignees"] = Value::Array(users);
        issue["updated_at"] = json!(updated.to_rfc3339());
    }
    body
}

async fn logins(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT lower(github_login) FROM users WHERE github_login IS NOT NULL ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn logins_become_creators_assignees_followers_and_authors(pool: PgPool) {
    let replay = Replay::start().await;
    // Imported before the first sync, with an e-mail: reused, not duplicated.
    let carol = person(&pool, "Carol Jones", Some("carol"), None).await;
    people_project(&pool, None).await;
    let r = run(&pool, &replay, at(9, 30)).await;
    assert_eq!(
        (
            r.details["bugs"].as_i64(),
            r.details["pull_requests"].as_i64()
        ),
        (Some(5), Some(2))
    );

    let everyone = [
        "alice-dev",
        "bob",
        "carol",
        "dave",
        "dependabot[bot]",
        "erin",
        "frank",
    ];
    assert_eq!(
        logins(&pool).await,
        everyone,
        "once each, whatever the case"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM users WHERE email IS NULL AND role = 'engineer' AND name = github_login").await,
        6,
        "new people: the login as name, engineers, no e-mail"
    );
    let carol_now: (i64, Option<String>) =
        sqlx::query_as("SELECT id, email FROM users WHERE lower(github_login) = 'carol'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(carol_now, (carol, Some("carol@example.com".into())));

    // #1: Alice-Dev, nobody assigned, malformed revenue and SLA ignored.
    assert_eq!(
        bug_no(&pool, 1).await,
        seen("alice-dev", None, &[], "0.00", None)
    );
    assert_eq!(
        bug_no(&pool, 2).await,
        seen("bob", Some("carol"), &[], "1200.00", Some(48))
    );
    // Several assignees: the first assigned, the others follow, in order.
    assert_eq!(
        bug_no(&pool, 3).await,
        seen(
            "alice-dev",
            Some("dave"),
            &["carol", "erin"],
            "1200.50",
            None
        )
    );
    assert_eq!(
        bug_no(&pool, 6).await,
        seen("erin", Some("erin"), &[], "0.00", None)
    );
    // Only `assignee`, empty `assignees`: the lone assignee counts.
    assert_eq!(
        bug_no(&pool, 7).await,
        seen("frank", Some("frank"), &[], "0.00", None)
    );

    let authors: Vec<(i32, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT p.number, p.author, lower(u.github_login) FROM pull_requests p
           LEFT JOIN users u ON u.id = p.author_id ORDER BY p.number",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        authors,
        [
            (4, Some("Bob".into()), Some("bob".into())),
            (
                5,
                Some("dependabot[bot]".into()),
                Some("dependabot[bot]".into())
            )
        ]
    );

    // The same page again (a 200, not a 304): nobody new, nothing doubled.
    let users = count(&pool, "SELECT count(*) FROM users").await;
    replay.script(PATH, Canned::json(200, reassigned(&[], at(10, 0))), None);
    run(&pool, &replay, at(11, 0)).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM users").await, users);
    assert_eq!(bug_no(&pool, 3).await.followers, ["carol", "erin"]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn github_wins_when_it_names_someone_escalation_keeps_an_owner(pool: PgPool) {
    let replay = Replay::start().await;
    let boss = person(&pool, "Max Boss", Some("maxb"), None).await;
    let owner = person(&pool, "Olga Owner", None, Some(boss)).await;
    people_project(&pool, Some(owner)).await;
    run(&pool, &replay, at(9, 30)).await;

    // 13:01: #1 (critical, unassigned, 4 h window) is past its SLA, the only
    // one; escalation gives it to the owner and adds her manager.
    let e = Escalations.run(&ctx(&pool, at(13, 1))).await.unwrap();
    assert_eq!(e.details["bugs"], 1, "{}", e.details);
    let escalated = seen(
        "alice-dev",
        Some("olga@example.com"),
        &["maxb"],
        "0.00",
        None,
    );
    assert_eq!(bug_no(&pool, 1).await, escalated);

    // On GitHub: #2 moves from Carol to Dave, #3 loses its assignees, #1
    // still has nobody.
    let body = reassigned(&[(2, &["DAVE"]), (3, &[]), (1, &[])], at(13, 30));
    replay.script(PATH, Canned::json(200, body), None);
    run(&pool, &replay, at(14, 0)).await;
    assert_eq!(bug_no(&pool, 2).await.assignee.as_deref(), Some("dave"));
    assert_eq!(bug_no(&pool, 2).await.followers, Vec::<String>::new());
    // Never escalated, nobody named: unassigned (followers stay).
    let three = bug_no(&pool, 3).await;
    assert_eq!(
        (three.assignee, three.followers),
        (None, vec!["carol".into(), "erin".into()])
    );
    // Escalated, nobody named: the owner keeps it.
    assert_eq!(bug_no(&pool, 1).await, escalated);

    // GitHub names someone for the escalated bug: GitHub wins, and the
    // manager escalation added still follows (once, though GitHub names him).
    replay.clear_scripts();
    let body = reassigned(&[(1, &["Erin", "MaxB"])], at(14, 30));
    replay.script(PATH, Canned::json(200, body), None);
    run(&pool, &replay, at(15, 0)).await;
    assert_eq!(
        bug_no(&pool, 1).await,
        seen("alice-dev", Some("erin"), &["maxb"], "0.00", None)
    );
    // The assignee is never his own follower.
    replay.clear_scripts();
    let body = reassigned(&[(1, &["maxb"])], at(15, 30));
    replay.script(PATH, Canned::json(200, body), None);
    run(&pool, &replay, at(16, 0)).await;
    assert_eq!(
        bug_no(&pool, 1).await,
        seen("alice-dev", Some("maxb"), &[], "0.00", None)
    );
    let level: i32 =
        sqlx::query_scalar("SELECT escalation_level FROM bugs WHERE external_number = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(level, 1, "the sync never undoes an escalation");
}

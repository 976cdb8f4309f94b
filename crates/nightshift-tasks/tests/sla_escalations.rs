//! SLA risk at its exact boundaries, and escalations that happen once per bug
//! and level however often (or however concurrently) the task runs.

mod common;

use chrono::Duration;
use common::*;
use nightshift_core::Task;
use nightshift_tasks::delivery::ComposeDigests;
use nightshift_tasks::hourly::escalations::Escalations;
use nightshift_tasks::hourly::sla_risk::SlaRisk;
use sqlx::PgPool;

const RISK: &str = "SELECT sla_risk FROM bugs WHERE id = $1";

#[sqlx::test(migrations = "../../migrations")]
async fn risk_boundaries_are_exact(pool: PgPool) {
    let p = project(&pool, "Payments", None).await;
    // A critical bug has a 4-hour (240-minute) window.
    let at = |minutes_ago: i64, secs: i64| {
        t0() - Duration::minutes(minutes_ago) - Duration::seconds(secs)
    };
    let cases = [
        (at(240, 0), "breached"), // the deadline instant itself
        (at(239, 59), "high"),    // one second to go
        (at(216, 0), "medium"),   // exactly 10% left: not under 10%
        (at(216, 1), "high"),     // just under 10%
        (at(180, 0), "low"),      // exactly 25% left: not under 25%
        (at(180, 1), "medium"),   // just under 25%
        (at(0, 0), "low"),
    ];
    let mut ids = Vec::new();
    for (created, _) in &cases {
        ids.push(bug(&pool, Bug::new(p, "critical", *created)).await);
    }
    // An override: a 10-hour window, 5 hours in, is low.
    let mut long = Bug::new(p, "critical", t0() - Duration::hours(5));
    long.sla_hours = Some(10);
    let long = bug(&pool, long).await;
    // A resolved bug keeps no risk.
    let mut done = Bug::new(p, "low", t0() - Duration::days(30));
    done.status = "resolved";
    let done = bug(&pool, done).await;
    sqlx::query("UPDATE bugs SET sla_risk = 'breached' WHERE id = $1")
        .bind(done)
        .execute(&pool)
        .await
        .unwrap();

    let report = SlaRisk.run(&ctx(&pool, t0())).await.unwrap();
    for ((_, want), id) in cases.iter().zip(&ids) {
        assert_eq!(
            text(&pool, RISK, *id).await.as_deref(),
            Some(*want),
            "bug {id}"
        );
    }
    assert_eq!(text(&pool, RISK, long).await.as_deref(), Some("low"));
    assert_eq!(text(&pool, RISK, done).await, None);
    let snap = &report.details["snapshot"];
    assert_eq!(snap["open"], 8);
    assert_eq!(snap["breached"], 1);
    assert_eq!(snap["by_severity"]["critical"]["high"], 2);
    // Nothing changed: a second run writes nothing.
    let again = SlaRisk.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(again.details["changed"], 0);
}

struct Org {
    project: i64,
    director: i64,
    manager: i64,
    engineer: i64,
    owner: i64,
}

async fn org(pool: &PgPool) -> Org {
    let director = user(pool, "Dana", "director", None).await;
    let manager = user(pool, "Mia", "manager", Some(director)).await;
    let engineer = user(pool, "Eli", "engineer", Some(manager)).await;
    let owner = user(pool, "Olga", "manager", Some(director)).await;
    let project = project(pool, "Checkout", Some(owner)).await;
    Org {
        project,
        director,
        manager,
        engineer,
        owner,
    }
}

/// (address, dedupe key) of every notice to a person.
async fn notified(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT u.email, n.dedupe_key FROM notices n JOIN users u ON u.id = n.user_id
          ORDER BY u.email, n.dedupe_key",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_breach_escalates_once_per_level(pool: PgPool) {
    let o = org(&pool).await;
    // A high bug (24-hour window) one hour past its deadline.
    let mut b = Bug::new(o.project, "high", t0() - Duration::hours(25));
    b.assignee = Some(o.engineer);
    let id = bug(&pool, b).await;

    let first = Escalations.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(first.details["escalations"], 1);
    let (level, priority, followers): (i32, String, Vec<i64>) =
        sqlx::query_as("SELECT escalation_level, priority, followers FROM bugs WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (level, priority.as_str(), followers),
        (1, "P1", vec![o.manager])
    );
    assert_eq!(
        notified(&pool).await,
        vec![
            (
                "eli@example.com".into(),
                format!("escalation:{id}:1:{}", o.engineer)
            ),
            (
                "mia@example.com".into(),
                format!("escalation:{id}:1:{}", o.manager)
            ),
        ]
    );
    // Again in the same hour, and again later before the next rule: nothing.
    for later in [0, 20] {
        let r = Escalations
            .run(&ctx(&pool, t0() + Duration::hours(later)))
            .await
            .unwrap();
        assert_eq!(r.details["escalations"], 0);
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM escalations").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM notices").await, 2);

    // Two windows in: level 2. Four windows in: level 3, and the director hears.
    Escalations
        .run(&ctx(&pool, t0() + Duration::hours(23)))
        .await
        .unwrap();
    Escalations
        .run(&ctx(&pool, t0() + Duration::hours(71)))
        .await
        .unwrap();
    let rows: Vec<(i32, String, String)> =
        sqlx::query_as("SELECT level, from_priority, to_priority FROM escalations ORDER BY level")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "P2".into(), "P1".into()),
            (2, "P1".into(), "P0".into()),
            (3, "P0".into(), "P0".into())
        ]
    );
    let to_director = count(
        &pool,
        "SELECT count(*) FROM notices n JOIN users u ON u.id = n.user_id
          WHERE u.email = 'dana@example.com'",
    )
    .await;
    assert_eq!(to_director, 1);
    let _ = o.director;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_long_breach_climbs_every_level_at_once(pool: PgPool) {
    let o = org(&pool).await;
    let mut b = Bug::new(o.project, "low", t0() - Duration::days(30));
    b.priority = "P3";
    b.assignee = Some(o.engineer);
    let id = bug(&pool, b).await;
    let r = Escalations.run(&ctx(&pool, t0())).await.unwrap();
    assert_eq!(r.details["escalations"], 3);
    assert_eq!(
        text(&pool, "SELECT priority FROM bugs WHERE id = $1", id)
            .await
            .as_deref(),
        Some("P0")
    );
    assert_eq!(
        count(&pool, "SELECT max(escalation_level)::int8 FROM bugs").await,
        3
    );
    // Every level is recorded; people hear of the highest one only.
    assert_eq!(count(&pool, "SELECT count(*) FROM escalations").await, 3);
    assert_eq!(
        notified(&pool).await,
        vec![
            (
                "dana@example.com".into(),
                format!("escalation:{id}:3:{}", o.director)
            ),
            (
                "eli@example.com".into(),
                format!("escalation:{id}:3:{}", o.engineer)
            ),
            (
                "mia@example.com".into(),
                format!("escalation:{id}:3:{}", o.manager)
            ),
        ]
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unassigned_critical_goes_to_the_owner(pool: PgPool) {
    let o = org(&pool).await;
    let id = bug(
        &pool,
        Bug::new(o.project, "critical", t0() - Duration::hours(5)),
    )
    .await;
    Escalations.run(&ctx(&pool, t0())).await.unwrap();
    let (assignee, reassigned): (Option<i64>, bool) =
        sqlx::query_as("SELECT b.assignee_id, e.reassigned FROM bugs b JOIN escalations e ON e.bug_id = b.id WHERE b.id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((assignee, reassigned), (Some(o.owner), true));
    let recipients: Vec<String> = notified(&pool).await.into_iter().map(|r| r.0).collect();
    assert_eq!(
        recipients,
        vec!["dana@example.com", "olga@example.com"],
        "owner and the owner's manager"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_runs_escalate_once(pool: PgPool) {
    let o = org(&pool).await;
    for i in 0..50 {
        let mut b = Bug::new(o.project, "medium", t0() - Duration::hours(73 + i));
        b.assignee = Some(o.engineer);
        bug(&pool, b).await;
    }
    let (c1, c2) = (ctx(&pool, t0()), ctx(&pool, t0()));
    let (a, b) = tokio::join!(Escalations.run(&c1), Escalations.run(&c2));
    let total = a.unwrap().details["escalations"].as_i64().unwrap()
        + b.unwrap().details["escalations"].as_i64().unwrap();
    assert_eq!(total, 50);
    assert_eq!(count(&pool, "SELECT count(*) FROM escalations").await, 50);
    assert_eq!(count(&pool, "SELECT count(*) FROM notices").await, 100);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM bugs WHERE priority = 'P1' AND escalation_level = 1"
        )
        .await,
        50
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_html_title_stays_text(pool: PgPool) {
    let o = org(&pool).await;
    let mut b = Bug::new(o.project, "high", t0() - Duration::hours(30));
    b.assignee = Some(o.engineer);
    b.title = "<script>alert(1)</script> in search box";
    bug(&pool, b).await;
    let c = ctx(&pool, t0());
    Escalations.run(&c).await.unwrap();
    ComposeDigests.run(&c).await.unwrap();
    // The outbox is plain text: the title is carried verbatim, never as markup
    // and never mangled into entities; renderers escape it when they show it.
    let headline: String = sqlx::query_scalar("SELECT headline FROM notices LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        headline.ends_with(": <script>alert(1)</script> in search box"),
        "{headline}"
    );
    let body: String =
        sqlx::query_scalar("SELECT body FROM notifications WHERE recipient = 'eli@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        body.contains(" in Checkout: <script>alert(1)</script> in search box\n"),
        "{body}"
    );
}

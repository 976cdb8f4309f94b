//! People hear from a run once: escalations, breach-risk warnings, alerts
//! and reminders for one person become one digest, delivered through a real
//! SMTP server; a project joining with a backlog sends one summary each;
//! muted people get nothing; people without an address wait for one.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use nightshift_core::{Config, Task};
use nightshift_mail::DeliveryConfig;
use nightshift_tasks::TasksConfig;
use nightshift_tasks::delivery::{ComposeDigests, DeliverNotifications};
use nightshift_tasks::hourly::{alerts::Alerts, escalations::Escalations, sla_risk::SlaRisk};
use nightshift_testkit::smtp::SmtpSink;
use secrecy::SecretString;
use sqlx::PgPool;

fn cfg(smtp: Option<String>) -> TasksConfig {
    TasksConfig {
        delivery: DeliveryConfig {
            email_from: Some("Nightshift <nightshift@example.com>".into()),
            smtp_url: smtp.map(SecretString::from),
            ..DeliveryConfig::default()
        },
        ..TasksConfig::default()
    }
}

/// Links in digests point at BASE_URL's dashboard.
fn runtime() -> Config {
    Config {
        base_url: Some("https://ops.example.com".into()),
        ..Config::default()
    }
}

/// The notice-writing part of the hourly route, then composition.
async fn hour(pool: &PgPool, now: DateTime<Utc>, cfg: &TasksConfig) -> Ctx {
    let c = ctx_with(pool, now, runtime(), cfg.clone());
    SlaRisk.run(&c).await.unwrap();
    Escalations.run(&c).await.unwrap();
    Alerts.run(&c).await.unwrap();
    ComposeDigests.run(&c).await.unwrap();
    c
}

/// (recipient, kind) of every outbox row.
async fn outbox(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT recipient, kind FROM notifications ORDER BY recipient, id")
        .fetch_all(pool)
        .await
        .unwrap()
}

struct Team {
    lead: i64,
    eli: i64,
    ann: i64,
    owner: i64,
}

async fn team(pool: &PgPool) -> Team {
    let lead = user(pool, "Mia", "manager", None).await;
    let eli = user(pool, "Eli", "engineer", Some(lead)).await;
    let ann = user(pool, "Ann", "engineer", Some(lead)).await;
    let owner = user(pool, "Olga", "director", None).await;
    sqlx::query("UPDATE users SET team = 'Payments' WHERE id IN ($1, $2, $3)")
        .bind(lead)
        .bind(eli)
        .bind(ann)
        .execute(pool)
        .await
        .unwrap();
    Team {
        lead,
        eli,
        ann,
        owner,
    }
}

async fn assigned(pool: &PgPool, p: i64, sev: &str, created: DateTime<Utc>, who: i64) -> i64 {
    let mut b = Bug::new(p, sev, created);
    b.assignee = Some(who);
    bug(pool, b).await
}

#[sqlx::test(migrations = "../../migrations")]
async fn one_digest_per_person_per_run_most_urgent_first(pool: PgPool) {
    let t = team(&pool).await;
    let p = project(&pool, "Checkout", Some(t.owner)).await;
    // Eli: three breaches in one run.
    for (sev, hours) in [("high", 25), ("medium", 73), ("low", 169)] {
        assigned(&pool, p, sev, t0() - Duration::hours(hours), t.eli).await;
    }
    // A critical past its SLA raises a critical alert for the owner.
    assigned(&pool, p, "critical", t0() - Duration::hours(5), t.ann).await;
    hour(&pool, t0(), &cfg(None)).await;

    let rows = outbox(&pool).await;
    let mut people: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    people.dedup();
    assert_eq!(people.len(), rows.len(), "one row per person: {rows:?}");
    assert!(rows.iter().all(|r| r.1 == "digest"), "{rows:?}");
    assert_eq!(
        people,
        [
            "ann@example.com",
            "eli@example.com",
            "mia@example.com",
            "olga@example.com"
        ]
    );
    let (subject, body, priority): (String, String, i16) = sqlx::query_as(
        "SELECT subject, body, priority FROM notifications WHERE recipient = 'eli@example.com'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(subject, "[Nightshift] 3 escalations");
    assert_eq!(priority, 2);
    let order: Vec<usize> = ["high bug", "medium bug", "low bug"]
        .iter()
        .map(|s| body.find(s).unwrap_or_else(|| panic!("{s} in {body}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{body}");
    assert!(body.contains("Status page: https://ops.example.com/api/status?format=html"));
    // The owner's digest carries the critical alert, so it goes out first.
    let owner: (String, i16) = sqlx::query_as(
        "SELECT subject, priority FROM notifications WHERE recipient = 'olga@example.com'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(owner.1, 1, "{owner:?}");
    assert!(owner.0.contains("1 critical alert"), "{owner:?}");

    // The next run finds nothing new: nobody hears again.
    hour(&pool, t0() + Duration::minutes(30), &cfg(None)).await;
    assert_eq!(outbox(&pool).await, rows);
}

#[sqlx::test(migrations = "../../migrations")]
async fn breach_risk_warns_its_people_once_per_level(pool: PgPool) {
    let t = team(&pool).await;
    let p = project(&pool, "Checkout", Some(t.owner)).await;
    // A high bug (24 h window) created 19 h ago: 5 h left is under 25%.
    let id = assigned(&pool, p, "high", t0() - Duration::hours(19), t.eli).await;
    sqlx::query("UPDATE bugs SET creator_id = $2, followers = ARRAY[$3] WHERE id = $1")
        .bind(id)
        .bind(t.ann)
        .bind(t.owner)
        .execute(&pool)
        .await
        .unwrap();
    let told = |kind: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, String)>(
                "SELECT u.name, n.details FROM notices n JOIN users u ON u.id = n.user_id
                  WHERE n.dedupe_key LIKE $1 ORDER BY u.name",
            )
            .bind(format!("risk:%:{kind}:%"))
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    hour(&pool, t0(), &cfg(None)).await;
    let medium = told("medium").await;
    let names: Vec<&str> = medium.iter().map(|r| r.0.as_str()).collect();
    // Creator, assignee, follower, and the team's lead.
    assert_eq!(names, ["Ann", "Eli", "Mia", "Olga"]);
    assert!(
        medium[2].1.ends_with("You are its team lead."),
        "{medium:?}"
    );
    assert!(medium[0].1.contains("You are its creator."), "{medium:?}");

    // Still medium an hour later: nothing new.
    hour(&pool, t0() + Duration::hours(1), &cfg(None)).await;
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notices WHERE kind = 'risk'").await,
        4
    );
    // Under 10% left (2.4 h): high, told once more.
    hour(&pool, t0() + Duration::hours(3), &cfg(None)).await;
    assert_eq!(told("high").await.len(), 4);
    hour(&pool, t0() + Duration::hours(4), &cfg(None)).await;
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notices WHERE kind = 'risk'").await,
        8
    );
    // Nothing was sent in between (no transport), so the second warning
    // joined the first in each person's one waiting digest.
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notifications").await,
        4,
        "{:?}",
        outbox(&pool).await
    );
    let subject: String =
        sqlx::query_scalar("SELECT subject FROM notifications WHERE recipient = 'eli@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(subject, "[Nightshift] 2 bugs at risk");
    let _ = t.lead;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_project_joining_with_a_backlog_sends_one_summary_each(pool: PgPool) {
    let t = team(&pool).await;
    let p = new_project(&pool, "Legacy", Some(t.owner)).await;
    for i in 0..30 {
        assigned(
            &pool,
            p,
            "low",
            t0() - Duration::days(40) + Duration::hours(i),
            t.eli,
        )
        .await;
    }
    // One at risk (medium: under 25% of 72 h left), not breached yet.
    assigned(&pool, p, "medium", t0() - Duration::hours(60), t.ann).await;
    let c = hour(&pool, t0(), &cfg(None)).await;

    // Every level is recorded: 30 bugs at level 3.
    assert_eq!(count(&pool, "SELECT count(*) FROM escalations").await, 90);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM notices WHERE kind = 'escalation'"
        )
        .await,
        0
    );
    let backlog: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT u.name, n.headline, n.details FROM notices n JOIN users u ON u.id = n.user_id
          WHERE n.kind = 'backlog' ORDER BY u.name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = backlog.iter().map(|b| b.0.as_str()).collect();
    // Eli (assignee), Mia (his manager, and team lead of Ann's bug at risk),
    // Ann (her bug at risk). Level 3 would tell Mia's manager: she has none.
    assert_eq!(names, ["Ann", "Eli", "Mia"], "{backlog:?}");
    let eli = &backlog[1];
    assert!(
        eli.1
            .contains("30 bug(s) past their SLA (L3 30, L2 0, L1 0)"),
        "{eli:?}"
    );
    assert_eq!(
        eli.2.matches("\n  - [L3]").count(),
        10,
        "top ten: {}",
        eli.2
    );
    assert!(
        eli.2.ends_with("… and 20 more on the status page"),
        "{}",
        eli.2
    );
    let mia = &backlog[2];
    assert!(mia.1.ends_with("0 at high and 1 at medium risk"), "{mia:?}");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notifications").await,
        3,
        "one e-mail per person"
    );
    let watched: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT watched_since FROM projects WHERE id = $1")
            .bind(p)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(watched, Some(c.now));

    // A bug breaching after the join is news again, bug by bug.
    assigned(&pool, p, "high", t0() - Duration::hours(23), t.ann).await;
    hour(&pool, t0() + Duration::hours(2), &cfg(None)).await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM notices WHERE kind = 'escalation'"
        )
        .await,
        2,
        "Ann and her manager"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notices WHERE kind = 'backlog'").await,
        3
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn unsent_digests_take_new_items_in_and_mail_goes_out_once(pool: PgPool) {
    let sink = SmtpSink::start().await.unwrap();
    let t = team(&pool).await;
    let p = project(&pool, "Checkout", Some(t.owner)).await;
    assigned(&pool, p, "high", t0() - Duration::hours(25), t.eli).await;
    hour(&pool, t0(), &cfg(None)).await;
    // Not sent yet (no transport in that run); an hour later another breach.
    assigned(&pool, p, "high", t0() - Duration::hours(25), t.eli).await;
    let c = hour(&pool, t0() + Duration::hours(1), &cfg(Some(sink.url()))).await;
    let rows = outbox(&pool).await;
    assert_eq!(rows.len(), 2, "Eli and Mia, one row each: {rows:?}");
    let subject: String =
        sqlx::query_scalar("SELECT subject FROM notifications WHERE recipient = 'eli@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(subject, "[Nightshift] 2 escalations");

    DeliverNotifications.run(&c).await.unwrap();
    let mail = sink.messages();
    assert_eq!(mail.len(), 2);
    let eli = mail
        .iter()
        .find(|m| m.to == ["eli@example.com"])
        .expect("Eli got mail");
    assert!(String::from_utf8_lossy(&eli.data).contains("Subject: [Nightshift] 2 escalations"));
    let body: String =
        sqlx::query_scalar("SELECT body FROM notifications WHERE recipient = 'eli@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(body.matches("- [L1 → P1] high bug").count(), 2, "{body}");

    // A sent digest is never reopened: a later breach makes a new one.
    assigned(&pool, p, "high", t0() - Duration::hours(24), t.eli).await;
    hour(&pool, t0() + Duration::hours(2), &cfg(Some(sink.url()))).await;
    assert_eq!(outbox(&pool).await.len(), 4);
}

#[sqlx::test(migrations = "../../migrations")]
async fn muted_people_get_nothing_and_addressless_ones_wait(pool: PgPool) {
    let t = team(&pool).await;
    let p = project(&pool, "Checkout", Some(t.owner)).await;
    sqlx::query("UPDATE users SET notify = false WHERE id = $1")
        .bind(t.lead)
        .execute(&pool)
        .await
        .unwrap();
    let ghost: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, github_login, role, manager_id) VALUES ('octocat', 'octocat', 'engineer', $1) RETURNING id",
    )
    .bind(t.lead)
    .fetch_one(&pool)
    .await
    .unwrap();
    assigned(&pool, p, "high", t0() - Duration::hours(25), ghost).await;
    let c = hour(&pool, t0(), &cfg(None)).await;
    let report = ComposeDigests.run(&c).await.unwrap();
    assert_eq!(report.details["people_without_address"], 1);
    assert!(report.warning.unwrap().contains("no e-mail address"));
    assert!(outbox(&pool).await.is_empty(), "{:?}", outbox(&pool).await);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notices WHERE status = 'muted'").await,
        1
    );

    // An address arrives: the waiting notice goes out with the next run.
    sqlx::query("UPDATE users SET email = 'octo@example.com' WHERE id = $1")
        .bind(ghost)
        .execute(&pool)
        .await
        .unwrap();
    hour(&pool, t0() + Duration::hours(1), &cfg(None)).await;
    assert_eq!(
        outbox(&pool).await,
        [("octo@example.com".to_owned(), "digest".to_owned())]
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_slack_channel_gets_one_post_per_run(pool: PgPool) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T/B/X"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&slack)
        .await;
    let t = team(&pool).await;
    let p = project(&pool, "Checkout", Some(t.owner)).await;
    for hours in [25, 26, 27] {
        assigned(&pool, p, "high", t0() - Duration::hours(hours), t.eli).await;
    }
    // A critical past its SLA: an alert for the channel too.
    assigned(&pool, p, "critical", t0() - Duration::hours(5), t.ann).await;
    let mut cfg = cfg(None);
    cfg.delivery.slack_webhook_url = Some(format!("{}/services/T/B/X", slack.uri()).into());
    let c = hour(&pool, t0(), &cfg).await;
    let posts: Vec<(String, String)> =
        sqlx::query_as("SELECT subject, body FROM notifications WHERE channel = 'slack'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].0, "Nightshift: 1 critical alert, 4 escalations");
    assert_eq!(posts[0].1.lines().count(), 5, "{}", posts[0].1);
    DeliverNotifications.run(&c).await.unwrap();
    // MockServer checks `.expect(1)` when dropped.
}

/// A pile larger than one pass (200 notices held in memory at once) still
/// makes one digest per person: the later passes fold into the digests the
/// first one wrote, and every notice ends up in its person's.
#[sqlx::test(migrations = "../../migrations")]
async fn a_pile_larger_than_a_pass_still_makes_one_digest_each(pool: PgPool) {
    let t = team(&pool).await;
    let people = vec![t.eli, t.ann, t.lead];
    sqlx::query(
        "INSERT INTO notices (user_id, channel, kind, urgency, headline, dedupe_key, created_at)
         SELECT ($1::int8[])[1 + i % 3], 'email', 'reminder', 50, format('reminder %s', i),
                format('pile:%s', i), $2
           FROM generate_series(0, 2499) AS i",
    )
    .bind(&people)
    .bind(t0())
    .execute(&pool)
    .await
    .unwrap();
    let c = ctx_with(&pool, t0(), runtime(), cfg(None));
    let report = ComposeDigests.run(&c).await.unwrap();
    assert_eq!(report.details["notices"], 2500, "{:?}", report.details);
    assert_eq!(report.details["digests"], 3, "{:?}", report.details);
    // Thirteen passes of 200 (the last 100), recipient by recipient in the
    // order of their ids (Mia 833, Eli 834, Ann 833): each person's notices
    // span five passes, the first begins their digest and the four after it
    // fold into it.
    assert_eq!(report.details["folded"], 12, "{:?}", report.details);
    assert!(!report.more_work);
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT recipient, subject FROM notifications ORDER BY recipient")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (
                "ann@example.com".into(),
                "[Nightshift] 833 reminders".into()
            ),
            (
                "eli@example.com".into(),
                "[Nightshift] 834 reminders".into()
            ),
            (
                "mia@example.com".into(),
                "[Nightshift] 833 reminders".into()
            ),
        ]
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notices WHERE status <> 'digested' OR notification_id IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

//! The weekly report end to end: gathered from planted data, rendered,
//! stored once per ISO week, sent through a real SMTP server, and read back
//! as MIME: a text part, an HTML part, and inline PNG charts the HTML shows.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use mail_parser::{MessageParser, MimeHeaders};
use nightshift_core::Task;
use nightshift_mail::DeliveryConfig;
use nightshift_tasks::TasksConfig;
use nightshift_tasks::delivery::DeliverNotifications;
use nightshift_tasks::weekly::weekly_report::WeeklyReport;
use nightshift_testkit::smtp::SmtpSink;
use secrecy::SecretString;
use sqlx::PgPool;

async fn plant_week(pool: &PgPool, monday: chrono::DateTime<Utc>) {
    let cto = user(pool, "Ada", "executive", None).await;
    let dev = user(pool, "Linus", "engineer", Some(cto)).await;
    let shop = project(pool, "Checkout", Some(cto)).await;
    let search = project(pool, "Search", Some(cto)).await;
    for (p, title, severity, revenue) in [
        (shop, "<script>alert(1)</script>", "critical", "5000"),
        (shop, "Card form loses focus", "high", "1200"),
        (search, "Typo tolerance off", "medium", "0"),
    ] {
        bug(
            pool,
            Bug {
                title,
                revenue,
                assignee: Some(dev),
                ..Bug::new(p, severity, monday - Duration::days(3))
            },
        )
        .await;
    }
    // Three weeks of daily health, getting better.
    sqlx::query(
        "INSERT INTO project_metrics (project_id, date, open_bugs, critical_bugs, blockers, resolved,
                                      prs_merged, revenue_at_risk, sla_breaches, health_score)
         SELECT p, ($1::date - g), 3, 1, 0, 1, 2, 6200, 1, 60 + (21 - g)
           FROM unnest($2::int8[]) AS p, generate_series(1, 21) AS g",
    )
    .bind(monday)
    .bind(vec![shop, search])
    .execute(pool)
    .await
    .unwrap();
    let mut run = Run::new("hourly_metrics", "failed", monday - Duration::days(2));
    run.error = Some("database <b>timeout</b>");
    plant(pool, run).await;
    plant(
        pool,
        Run::new("hourly_metrics", "completed", monday - Duration::days(1)),
    )
    .await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn one_report_per_week_sent_once_with_inline_charts(pool: PgPool) {
    let monday = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    plant_week(&pool, monday).await;
    let sink = SmtpSink::start().await.unwrap();
    // Links in the report point at BASE_URL's dashboard.
    let runtime = nightshift_core::Config {
        base_url: Some("https://ops.example.com".into()),
        ..nightshift_core::Config::default()
    };
    let cfg = TasksConfig {
        delivery: DeliveryConfig {
            smtp_url: Some(SecretString::from(sink.url())),
            email_from: Some("Nightshift <nightshift@example.com>".into()),
            report_emails: vec!["cto@example.com".into()],
            ..DeliveryConfig::default()
        },
        ..TasksConfig::default()
    };
    let now = monday + Duration::hours(9);
    let report = WeeklyReport
        .run(&ctx_with(&pool, now, runtime.clone(), cfg.clone()))
        .await
        .unwrap();
    assert_eq!(report.details["iso_week"], "2026-W48");
    assert_eq!(report.details["rendered"], true);
    assert_eq!(report.details["enqueued"], 1);
    DeliverNotifications
        .run(&ctx_with(&pool, now, runtime.clone(), cfg.clone()))
        .await
        .unwrap();

    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["cto@example.com"]);
    let msg = MessageParser::default().parse(&got[0].data).unwrap();
    assert!(msg.subject().unwrap().contains("2026-W48"));
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("Checkout"), "{text}");
    let html = msg.body_html(0).unwrap();
    assert!(
        !html.contains("<script>alert(1)"),
        "unescaped title in the HTML"
    );
    // askama escapes with numeric entities.
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<b>timeout</b>"));
    let cids: Vec<&str> = html
        .split("cid:")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(cids.len() >= 2, "expected two charts, got {cids:?}");
    for cid in &cids {
        let part = msg
            .parts
            .iter()
            .find(|p| p.content_id() == Some(*cid))
            .unwrap_or_else(|| panic!("no MIME part with Content-ID {cid}"));
        let ct = part.content_type().unwrap();
        assert_eq!((ct.ctype(), ct.subtype()), ("image", Some("png")));
        assert!(part.contents().starts_with(b"\x89PNG\r\n\x1a\n"));
    }

    // The same week again, hours later: nothing rendered, nothing sent.
    let again = WeeklyReport
        .run(&ctx_with(
            &pool,
            now + Duration::hours(5),
            runtime.clone(),
            cfg.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(again.details["rendered"], false);
    assert_eq!(again.details["enqueued"], 0);
    DeliverNotifications
        .run(&ctx_with(&pool, now + Duration::hours(5), runtime, cfg))
        .await
        .unwrap();
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM reports").await, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn without_recipients_the_report_is_stored_and_says_so(pool: PgPool) {
    let monday = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    let report = WeeklyReport
        .run(&ctx(&pool, monday + Duration::hours(9)))
        .await
        .unwrap();
    assert!(report.warning.unwrap().contains("REPORT_EMAILS"));
    assert_eq!(count(&pool, "SELECT count(*) FROM reports").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM notifications").await, 0);
}

//! The outbox delivered through real transports: a real SMTP server on
//! loopback, and local HTTP servers answering as Slack and SendGrid do.
//! Logical time drives the retry schedule (15, 30, 60 minutes, then dead).

#[path = "delivery/auth_refused.rs"]
mod auth_refused;
mod common;
#[path = "delivery/hostile_slack.rs"]
mod hostile_slack;
#[path = "delivery/late_claim.rs"]
mod late_claim;

use chrono::{DateTime, Duration, Utc};
use common::*;
use nightshift_core::{Task, TaskReport};
use nightshift_mail::DeliveryConfig;
use nightshift_tasks::TasksConfig;
use nightshift_tasks::delivery::DeliverNotifications;
use nightshift_testkit::smtp::SmtpSink;
use secrecy::SecretString;
use sqlx::PgPool;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn cfg(delivery: DeliveryConfig) -> TasksConfig {
    TasksConfig {
        delivery: DeliveryConfig {
            email_from: Some("Nightshift <nightshift@example.com>".into()),
            ..delivery
        },
        ..TasksConfig::default()
    }
}

fn smtp(url: String) -> TasksConfig {
    cfg(DeliveryConfig {
        smtp_url: Some(SecretString::from(url)),
        ..DeliveryConfig::default()
    })
}

async fn enqueue(pool: &PgPool, key: &str, channel: &str, recipient: &str) {
    sqlx::query(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key,
                                    next_attempt_at, created_at)
         VALUES ('alert', $1, $2, '[CRITICAL] Checkout down', 'Checkout answers 500.', $3, $4, $4)",
    )
    .bind(recipient)
    .bind(channel)
    .bind(key)
    .bind(t0())
    .execute(pool)
    .await
    .unwrap();
}

async fn deliver(pool: &PgPool, now: DateTime<Utc>, cfg: &TasksConfig) -> TaskReport {
    DeliverNotifications
        .run(&ctx_with_cfg(pool, now, cfg.clone()))
        .await
        .unwrap()
}

#[derive(Debug, PartialEq)]
struct Row {
    status: String,
    attempts: i32,
    next: DateTime<Utc>,
    error: Option<String>,
}

async fn row(pool: &PgPool, key: &str) -> Row {
    let (status, attempts, next, error) = sqlx::query_as(
        "SELECT status, attempts, next_attempt_at, last_error FROM notifications WHERE dedupe_key = $1",
    )
    .bind(key)
    .fetch_one(pool)
    .await
    .unwrap();
    Row {
        status,
        attempts,
        next,
        error,
    }
}

/// An SMTP server that is down: a loopback port nothing listens on.
fn closed_port_url() -> String {
    format!("smtp://127.0.0.1:{}", nightshift_testkit::free_port())
}

#[sqlx::test(migrations = "../../migrations")]
async fn smtp_delivers_once_and_marks_sent(pool: PgPool) {
    let sink = SmtpSink::start().await.unwrap();
    enqueue(&pool, "a", "email", "ops@example.com").await;
    let cfg = smtp(sink.url());
    let report = deliver(&pool, t0(), &cfg).await;
    assert_eq!(report.records_processed, 1, "{:?}", report.details);
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["ops@example.com"]);
    let raw = String::from_utf8_lossy(&got[0].data);
    assert!(raw.contains("Subject: [CRITICAL] Checkout down"), "{raw}");
    let r = row(&pool, "a").await;
    assert_eq!((r.status.as_str(), r.attempts), ("sent", 1));
    // Nothing is due any more: a second run sends nothing.
    let again = deliver(&pool, t0() + Duration::hours(3), &cfg).await;
    assert_eq!(again.records_processed, 0);
    assert_eq!(sink.messages().len(), 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn smtp_down_waits_15_30_60_minutes_then_dead_with_an_alert(pool: PgPool) {
    enqueue(&pool, "a", "email", "ops@example.com").await;
    let cfg = smtp(closed_port_url());
    let mut now = t0();
    for (attempt, wait) in [(1, 15), (2, 30), (3, 60)] {
        let report = deliver(&pool, now, &cfg).await;
        assert_eq!(report.records_failed, 1);
        let r = row(&pool, "a").await;
        assert_eq!((r.status.as_str(), r.attempts), ("pending", attempt));
        assert_eq!(r.next, now + Duration::minutes(wait));
        // Not due a minute before its time.
        let early = deliver(&pool, r.next - Duration::minutes(1), &cfg).await;
        assert_eq!(early.records_failed, 0);
        now = r.next;
    }
    let report = deliver(&pool, now, &cfg).await;
    assert_eq!(report.details["dead"], 1);
    let r = row(&pool, "a").await;
    assert_eq!((r.status.as_str(), r.attempts), ("dead", 4));
    assert!(r.error.is_some());
    let alert: (String, String) = sqlx::query_as(
        "SELECT kind, title FROM alerts WHERE source = 'deliver_notifications' AND status = 'open'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(alert.0, "notifications_dead");
    assert!(alert.1.starts_with("1 notification"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_server_back_before_the_third_attempt_delivers_once(pool: PgPool) {
    let sink = SmtpSink::start().await.unwrap();
    sink.reject_data(451, "4.3.0 Try again later");
    enqueue(&pool, "a", "email", "ops@example.com").await;
    let cfg = smtp(sink.url());
    deliver(&pool, t0(), &cfg).await;
    deliver(&pool, t0() + Duration::minutes(15), &cfg).await;
    assert_eq!(row(&pool, "a").await.attempts, 2);
    assert!(sink.messages().is_empty());
    sink.accept_all();
    let report = deliver(&pool, t0() + Duration::minutes(45), &cfg).await;
    assert_eq!(report.records_processed, 1);
    deliver(&pool, t0() + Duration::hours(5), &cfg).await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(row(&pool, "a").await.status, "sent");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_permanent_rejection_is_dead_at_once(pool: PgPool) {
    let sink = SmtpSink::start().await.unwrap();
    sink.reject_rcpt(550, "5.1.1 No such user here");
    enqueue(&pool, "a", "email", "gone@example.com").await;
    deliver(&pool, t0(), &smtp(sink.url())).await;
    let r = row(&pool, "a").await;
    assert_eq!((r.status.as_str(), r.attempts), ("dead", 1));
    assert!(r.error.unwrap().contains("No such user"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_concurrent_deliveries_never_send_the_same_notification_twice(pool: PgPool) {
    let sink = SmtpSink::start().await.unwrap();
    for i in 0..40 {
        enqueue(
            &pool,
            &format!("k{i}"),
            "email",
            &format!("u{i}@example.com"),
        )
        .await;
    }
    let cfg = smtp(sink.url());
    let (a, b) = tokio::join!(deliver(&pool, t0(), &cfg), deliver(&pool, t0(), &cfg));
    assert_eq!(a.records_processed + b.records_processed, 40);
    let mut to: Vec<String> = sink.messages().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 40);
    assert_eq!(sink.messages().len(), 40);
}

#[sqlx::test(migrations = "../../migrations")]
async fn at_most_max_emails_per_run(pool: PgPool) {
    let sink = SmtpSink::start().await.unwrap();
    for i in 0..12 {
        enqueue(&pool, &format!("k{i}"), "email", "ops@example.com").await;
    }
    let cfg = TasksConfig {
        max_emails_per_run: 5,
        ..smtp(sink.url())
    };
    let first = deliver(&pool, t0(), &cfg).await;
    assert_eq!(first.records_processed, 5);
    assert!(first.more_work);
    assert_eq!(sink.messages().len(), 5);
}

#[sqlx::test(migrations = "../../migrations")]
async fn without_a_transport_rows_wait_and_the_task_says_why(pool: PgPool) {
    enqueue(&pool, "a", "email", "ops@example.com").await;
    let report = deliver(&pool, t0(), &TasksConfig::default()).await;
    assert!(report.warning.unwrap().contains("SMTP_URL"));
    let r = row(&pool, "a").await;
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 0));
}

fn slack(url: String) -> TasksConfig {
    cfg(DeliveryConfig {
        slack_webhook_url: Some(SecretString::from(url)),
        ..DeliveryConfig::default()
    })
}

#[sqlx::test(migrations = "../../migrations")]
async fn slack_ok_rate_limit_and_no_service(pool: PgPool) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T0/B0/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/T0/B0/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7200"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/T0/B0/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .mount(&server)
        .await;
    for (key, hook) in [("ok", "ok"), ("limited", "limited"), ("gone", "gone")] {
        sqlx::query("DELETE FROM notifications")
            .execute(&pool)
            .await
            .unwrap();
        enqueue(&pool, key, "slack", "slack").await;
        let cfg = slack(format!("{}/services/T0/B0/{hook}", server.uri()));
        deliver(&pool, t0(), &cfg).await;
        let r = row(&pool, key).await;
        match key {
            "ok" => assert_eq!(r.status, "sent"),
            // Slack's hint (2 h) beats our first delay (15 min).
            "limited" => {
                assert_eq!(r.status, "pending");
                assert_eq!(r.next, t0() + Duration::hours(2));
            }
            _ => {
                assert_eq!(r.status, "dead");
                assert!(r.error.unwrap().contains("no_service"));
            }
        }
    }
    let body: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(body["text"], "[CRITICAL] Checkout down");
}

#[sqlx::test(migrations = "../../migrations")]
async fn sendgrid_5xx_retries_and_4xx_is_dead(pool: PgPool) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.test"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "errors": [{ "message": "Does not contain a valid address.", "field": "personalizations.0.to" }]
        })))
        .mount(&server)
        .await;
    enqueue(&pool, "a", "email", "ops@example.com").await;
    let cfg = cfg(DeliveryConfig {
        sendgrid_api_key: Some(SecretString::from("SG.test".to_owned())),
        sendgrid_api_url: server.uri(),
        ..DeliveryConfig::default()
    });
    deliver(&pool, t0(), &cfg).await;
    let r = row(&pool, "a").await;
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 1));
    deliver(&pool, r.next, &cfg).await;
    let r = row(&pool, "a").await;
    assert_eq!((r.status.as_str(), r.attempts), ("dead", 2));
    assert!(r.error.unwrap().contains("valid address"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_cap_is_spent_by_priority_so_the_report_never_waits(pool: PgPool) {
    let sink = SmtpSink::start().await.unwrap();
    // Older bulk and digest rows wait already; the report and a critical
    // digest arrive last.
    let plant = |key: String, priority: i16, minutes_ago: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key,
                                            priority, next_attempt_at, created_at)
                 VALUES ('digest', $1 || '@example.com', 'email', 's', 'b', $1, $2, $3, $3)",
            )
            .bind(key)
            .bind(priority)
            .bind(t0() - Duration::minutes(minutes_ago))
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    for i in 0..30 {
        plant(format!("bulk{i}"), 3, 300).await;
        plant(format!("digest{i}"), 2, 200).await;
    }
    plant("critical".into(), 1, 1).await;
    plant("report".into(), 0, 0).await;
    let cfg = TasksConfig {
        max_emails_per_run: 5,
        ..smtp(sink.url())
    };
    deliver(&pool, t0(), &cfg).await;
    let mut to: Vec<String> = sink.messages().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "critical@example.com",
            "digest0@example.com",
            "digest1@example.com",
            "digest2@example.com",
            "report@example.com"
        ],
        "the report, the critical digest, then the oldest digests; bulk waits"
    );
}

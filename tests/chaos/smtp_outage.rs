//! Scenario 5: the SMTP server is down for an hour of logical time, then
//! back. The hourly route's `deliver_notifications` is called every five
//! minutes throughout; every notification reaches the server exactly once
//! (SmtpSink counts what it accepted) and none is dead.

use chrono::Duration;
use nightshift_tasks::TasksConfig;
use nightshift_testkit::smtp::SmtpSink;
use sqlx::PgPool;

use crate::common::*;
use crate::support::*;

const NOTIFICATIONS: i64 = 12;

fn smtp_config(url: String) -> TasksConfig {
    let mut env = TasksConfig::from_lookup(|k| match k {
        "SMTP_URL" => Some(url.clone()),
        "EMAIL_FROM" => Some("Nightshift <nightshift@example.com>".into()),
        _ => None,
    })
    .unwrap();
    env.export_url = tasks_config().export_url;
    env
}

#[sqlx::test(migrations = "./migrations")]
async fn an_hour_without_smtp_delays_but_never_loses_or_doubles_mail(pool: PgPool) {
    sqlx::query(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key,
                                    next_attempt_at, created_at)
         SELECT 'alert', 'ops' || n || '@example.com', 'email', 'Alert ' || n, 'Body ' || n,
                'chaos-' || n, $2, $2
           FROM generate_series(1, $1::int) AS n",
    )
    .bind(NOTIFICATIONS as i32)
    .bind(t0())
    .execute(&pool)
    .await
    .unwrap();

    // Down: a loopback port nothing listens on.
    let down_url = format!("smtp://127.0.0.1:{}", free_port());
    let sink = SmtpSink::start().await.unwrap();
    let down = app_with(&pool, config(), routes_with(smtp_config(down_url)));
    let up = app_with(&pool, config(), routes_with(smtp_config(sink.url())));
    let (down_base, up_base) = (serve(down.app.clone()).await, serve(up.app.clone()).await);
    let client = reqwest::Client::new();

    for step in 0..=36 {
        let at = t0() + Duration::minutes(5 * step);
        let (t, base) = if step < 12 {
            (&down, &down_base)
        } else {
            (&up, &up_base)
        };
        t.clock.set(at);
        let a = call(
            &client,
            &format!("{base}/api/cron/hourly?tasks=deliver_notifications"),
            Some(&bearer()),
        )
        .await;
        // A failed delivery is a warning of the task, not a failed run.
        assert_eq!(a.status, 200, "at {at}: {}", a.body);
        if step < 12 {
            assert!(sink.messages().is_empty());
        }
    }

    let got = sink.messages();
    let mut to: Vec<String> = got.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(got.len() as i64, NOTIFICATIONS, "mail lost or doubled");
    assert_eq!(
        to.len() as i64,
        NOTIFICATIONS,
        "one recipient got two mails"
    );
    let states: Vec<(String, i32, i64)> =
        sqlx::query_as("SELECT status, attempts, count(*) FROM notifications GROUP BY 1, 2")
            .fetch_all(&pool)
            .await
            .unwrap();
    // Attempts at 0, 15 and 45 minutes failed; the fourth, at 105, went out.
    assert_eq!(states, vec![("sent".to_string(), 4, NOTIFICATIONS)]);
    assert_ledger_sound(&pool).await;
}

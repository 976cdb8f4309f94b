//! `nightshift bench notify`: what the first hourly run over a seeded
//! organisation tells people, and how long it takes next to the run after it.
//! With `--planted N`: whether the weekly report goes out in the run that
//! wrote it when N digests already wait in the outbox (a real SMTP server on
//! loopback accepts the mail). scripts/bench notify gives each round a
//! freshly seeded database.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use nightshift_core::App;
use nightshift_mail::DeliveryConfig;
use nightshift_testkit::smtp::SmtpSink;
use secrecy::SecretString;

use super::{BenchArgs, ms, ratio};
use crate::pool_of;

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    if args.planted > 0 {
        report_behind_digests(args.planted).await
    } else {
        first_run().await
    }
}

async fn first_run() -> anyhow::Result<()> {
    let (app, _, secret) = crate::run::local_app()?;
    let pool = pool_of(&app).await?;
    let sizes = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM bugs) AS "bugs!", (SELECT count(*) FROM users) AS "people!""#
    )
    .fetch_one(&pool)
    .await?;
    let (bugs, people) = (sizes.bugs, sizes.people);
    let t = Instant::now();
    hourly(&app, &secret).await?;
    let first = t.elapsed();
    // What the run told people, before anything else can change it.
    let told = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM notifications WHERE channel = 'email') AS "emails!",
                (SELECT count(DISTINCT lower(recipient)) FROM notifications WHERE channel = 'email')
                    AS "recipients!",
                (SELECT count(DISTINCT assignee_id) FROM bugs WHERE status IN ('open', 'in_progress'))
                    AS "with_work!",
                (SELECT count(*) FROM notices) AS "notices!""#
    )
    .fetch_one(&pool)
    .await?;
    let (emails, recipients, with_work, notices) =
        (told.emails, told.recipients, told.with_work, told.notices);
    let t = Instant::now();
    hourly(&app, &secret).await?;
    let second = t.elapsed();
    let (writes, _, _) = super::write_floor::backlog_writes(&pool).await?;
    let max_per_person: i64 = sqlx::query_scalar!(
        r#"SELECT COALESCE(max(n), 0) AS "n!" FROM (SELECT count(*) AS n FROM notifications
          WHERE channel = 'email' GROUP BY lower(recipient)) x"#
    )
    .fetch_one(&pool)
    .await?;
    println!(
        "bugs={bugs} people={people} people_with_open_bugs={with_work} notices={notices} \
         emails={emails} recipients={recipients} max_emails_per_person={max_per_person} \
         first_ms={:.1} second_ms={:.1} first_over_second={:.2} writes_ms={:.1} \
         first_over_writes={:.2} writes_over_second={:.2}",
        ms(first),
        ms(second),
        ratio(first, second),
        ms(writes),
        ratio(first, writes),
        ratio(writes, second)
    );
    Ok(())
}

async fn hourly(app: &Arc<App>, secret: &str) -> anyhow::Result<()> {
    let (status, body) = crate::run::call(app, secret, "hourly", "force=true").await?;
    anyhow::ensure!(
        body["outcome"] == "completed",
        "hourly answered {status}: {body}"
    );
    Ok(())
}

async fn report_behind_digests(planted: usize) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await.context("starting the SMTP sink")?;
    let (app, env, secret) = crate::run::local_app()?;
    let mut env = (*env).clone();
    env.delivery = DeliveryConfig {
        smtp_url: Some(SecretString::from(sink.url())),
        email_from: Some("Nightshift <nightshift@example.com>".into()),
        report_emails: vec!["cto@example.com".into()],
        ..env.delivery
    };
    let cap = env.max_emails_per_run;
    let routes = nightshift_tasks::routes(Arc::new(env));
    let app =
        Arc::new(App::new((*app.cfg).clone(), routes).map_err(|e| anyhow::anyhow!(e.detail()))?);
    let pool = pool_of(&app).await?;
    sqlx::query!(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, priority,
                                    next_attempt_at, created_at)
         SELECT 'digest', format('person%s@example.com', i), 'email', '[Nightshift] 3 escalations',
                'planted', format('planted:%s', i), 2, now() - interval '1 hour', now() - interval '1 hour'
           FROM generate_series(1, $1::int8) AS i",
        planted as i64,
    )
    .execute(&pool)
    .await?;
    let t = Instant::now();
    let (status, body) = crate::run::call(&app, &secret, "weekly", "force=true").await?;
    let took = t.elapsed();
    anyhow::ensure!(
        body["outcome"] == "completed",
        "weekly answered {status}: {body}"
    );
    let sent = sqlx::query!(
        r#"SELECT (SELECT status FROM notifications WHERE kind = 'weekly_report') AS "report!",
                (SELECT count(*) FROM notifications WHERE kind = 'digest' AND status = 'sent')
                    AS "digests_sent!""#
    )
    .fetch_one(&pool)
    .await?;
    let (report, digests_sent) = (sent.report, sent.digests_sent);
    let to_cto = sink
        .messages()
        .iter()
        .filter(|m| m.to == ["cto@example.com"])
        .count();
    println!(
        "planted_digests={planted} report_status={report} report_mails_received={to_cto} \
         digests_sent_same_run={digests_sent} cap={} weekly_ms={:.1}",
        cap,
        ms(took)
    );
    anyhow::ensure!(
        report == "sent" && to_cto == 1,
        "the weekly report was not sent by the run that wrote it"
    );
    Ok(())
}

//! The restore drill: a deployment's real routes run on seeded data (hourly;
//! weekly with the report e-mailed through an SMTP sink; a pause; daily with
//! the GitHub sync from recorded traffic), then an export, a restore into a
//! fresh database, and every exported table compared row for row.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use nightshift_core::{Task, TaskContext};
use nightshift_tasks::daily::export::{Export, restore, table_names};
use nightshift_testkit::db::{drop_db, scratch_db, url_of};
use nightshift_testkit::{Replay, smtp::SmtpSink};
use secrecy::SecretString;
use sqlx::{AssertSqlSafe, PgPool};

const REPO: &str = "octokit-fixture-org/tmp-scenario-paginate-issues-20220719043836917-izyoe";

/// Every row of a table, as Postgres prints it, in a content order (so no
/// table needs a key here).
async fn rows(pool: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT t::text FROM {table} t ORDER BY t::text"
    )))
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn seed(pool: &PgPool) {
    for sql in [
        "INSERT INTO users (name, email, role) VALUES ('Olga', 'olga@example.com', 'manager')",
        "INSERT INTO users (name, email, role, manager_id) VALUES ('Eve', 'eve@example.com', 'engineer', 1)",
        "INSERT INTO projects (name, owner_id, github_repo, sync_enabled) VALUES ('Fixture', 1, $1, true)",
        "INSERT INTO projects (name, owner_id) VALUES ('Checkout', 1)",
        // Overdue and critical: SLA risk, escalations and notices for hourly.
        "INSERT INTO bugs (project_id, title, severity, assignee_id, revenue_impact_daily, is_blocker, created_at, updated_at)
         VALUES (2, 'Card declined', 'critical', 2, 25000, true, '2026-11-24 08:00Z', '2026-11-24 08:00Z'),
                (2, 'Typo', 'low', 2, 0, false, '2026-11-10 08:00Z', '2026-11-10 08:00Z')",
        "INSERT INTO bugs (project_id, title, severity, status, assignee_id, created_at, updated_at, resolved_at)
         VALUES (2, 'Fixed', 'high', 'resolved', 2, '2026-11-20 08:00Z', '2026-11-21 08:00Z', '2026-11-21 08:00Z')",
    ] {
        let q = sqlx::query(sql);
        let q = if sql.contains("$1") { q.bind(REPO) } else { q };
        q.execute(pool).await.unwrap();
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_deployment_comes_back_from_its_export_row_for_row(pool: PgPool) {
    seed(&pool).await;
    let replay = Replay::start().await;
    let sink = SmtpSink::start().await.unwrap();
    let exports = tempfile::tempdir().unwrap();
    let mut env = tasks_config();
    env.github_api_url = replay.url();
    env.github_token = Some("ghp_test".to_string().into());
    env.export_url = exports.path().display().to_string();
    env.delivery.smtp_url = Some(SecretString::from(sink.url()));
    env.delivery.email_from = Some("Nightshift <nightshift@example.com>".into());
    env.delivery.report_emails = vec!["cto@example.com".into()];
    let t = app_with(&pool, config(), routes_with(env.clone()));

    for route in ["hourly", "weekly"] {
        let a = call_once(&t.app, &format!("/api/cron/{route}")).await;
        assert_eq!(a.body["outcome"], "completed", "{route}: {:?}", a.body);
    }
    assert!(
        sink.messages().iter().any(|m| m.to == ["cto@example.com"]),
        "the weekly report was not e-mailed"
    );
    nightshift_core::pause::pause(&pool, "hourly_metrics", "ops", Some("drill"), t0())
        .await
        .unwrap();
    let a = call_once(&t.app, "/api/cron/daily").await;
    assert_eq!(a.body["outcome"], "completed", "{:?}", a.body);

    // The state that made backups unrestorable before: an e-mail pointing
    // at its report, and the rest of what a deployment needs to come back.
    for (what, sql) in [
        (
            "a report's e-mail",
            "SELECT count(*) FROM notifications WHERE report_id IS NOT NULL",
        ),
        ("report images", "SELECT count(*) FROM report_images"),
        ("a pause", "SELECT count(*) FROM job_pauses"),
        (
            "synced bugs",
            "SELECT count(*) FROM bugs WHERE external_source = 'github'",
        ),
        ("a sync cursor", "SELECT count(*) FROM github_sync_cursors"),
        ("runs", "SELECT count(*) FROM job_history"),
        ("events", "SELECT count(*) FROM sync_events"),
        ("notices", "SELECT count(*) FROM notices"),
    ] {
        assert!(count(&pool, sql).await > 0, "the drill produced no {what}");
    }

    // The export of a quiet database, with the archive, so the copy is
    // compared with what the source holds now.
    let backup = tempfile::tempdir().unwrap();
    env.export_url = backup.path().display().to_string();
    env.export_with_archive = true;
    let ctx = TaskContext::with_client(
        pool.clone(),
        t0(),
        "daily_sync",
        Arc::clone(&t.app.cfg),
        t.app.specs(),
        t.app.http.clone(),
    )
    .with_budget(Duration::from_secs(60))
    .with_env(Arc::new(env));
    let report = Export::default().run(&ctx).await.unwrap();
    assert!(!report.more_work);

    let name = scratch_db(&pool, "drill").await;
    let other = PgPool::connect(&url_of(&name)).await.unwrap();
    nightshift_core::db::MIGRATOR.run(&other).await.unwrap();
    let summary = restore(&other, backup.path().to_str().unwrap(), t0().date_naive())
        .await
        .unwrap();
    assert_eq!(summary.rows, report.records_processed);
    for table in table_names() {
        let (want, got) = (rows(&pool, table).await, rows(&other, table).await);
        assert_eq!(got.len(), want.len(), "{table}: row count");
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(g, w, "{table}");
        }
    }
    other.close().await;
    drop_db(&pool, &name).await;
}

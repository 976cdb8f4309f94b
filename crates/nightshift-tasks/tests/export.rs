//! export writes every domain table as gzipped NDJSON with a manifest that
//! vouches for it, restore reads it back into an empty database unchanged,
//! and old exports, deadlines and tampering are handled as promised.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Age, NaiveDate};
use common::*;
use nightshift_core::{Task, TaskContext};
use nightshift_tasks::TasksConfig;
use nightshift_tasks::daily::export::{Export, MANIFEST, Manifest, restore, schema_version};
use nightshift_testkit::db::{drop_db, scratch_db, url_of};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgPool};

/// Every domain table with its primary key, in restore order.
const TABLES: &[(&str, &str)] = &[
    ("users", "id"),
    ("projects", "id"),
    ("bugs", "id"),
    ("pull_requests", "id"),
    ("project_metrics", "project_id, date"),
    ("hourly_snapshots", "hour, kind"),
    ("escalations", "id"),
    ("reports", "id"),
    ("report_images", "report_id, content_id"),
    ("notifications", "id"),
    ("notices", "id"),
    ("alerts", "id"),
    ("github_sync_cursors", "project_id"),
    ("task_claims", "task, key"),
    ("job_pauses", "job_type"),
    ("job_history", "id"),
    ("sync_events", "id"),
];

const TITLE: &str = "<script>alert('x')</script> & \"quotes\", Überfall — 🐛";

fn export_ctx(pool: &PgPool, dir: &Path, budget: Duration) -> TaskContext<TasksConfig> {
    let mut ctx = ctx_with_deadline(pool, t0(), budget);
    ctx.env = Arc::new(TasksConfig {
        export_url: dir.to_str().unwrap().to_owned(),
        ..TasksConfig::default()
    });
    ctx
}

fn today() -> NaiveDate {
    t0().date_naive()
}

fn day_dir(dir: &Path, date: NaiveDate) -> PathBuf {
    dir.join(date.format("%Y-%m-%d").to_string())
}

fn manifest(dir: &Path, date: NaiveDate) -> Manifest {
    let bytes = std::fs::read(day_dir(dir, date).join(MANIFEST)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// A small organisation touching every table: a manager with a higher id
/// than one of their reports, markup and exact money in a bug, a resolved
/// bug, JSON, arrays and NULLs.
async fn seed(pool: &PgPool) {
    let early = user(pool, "Early", "engineer", None).await;
    let boss = user(pool, "Boss", "manager", None).await;
    let eve = user(pool, "Eve", "engineer", Some(boss)).await;
    sqlx::query("UPDATE users SET manager_id = $1 WHERE id = $2")
        .bind(boss)
        .bind(early)
        .execute(pool)
        .await
        .unwrap();
    let p1 = project(pool, "Checkout", Some(boss)).await;
    let p2 = project(pool, "Search", None).await;
    let mut b = Bug::new(p1, "critical", t0() - Age::hours(30));
    b.title = TITLE;
    b.revenue = "1234.56";
    b.assignee = Some(eve);
    b.blocker = true;
    let b1 = bug(pool, b).await;
    let mut b = Bug::new(p2, "low", t0() - Age::days(9));
    b.status = "resolved";
    b.resolved_at = Some(t0() - Age::days(2));
    b.sla_hours = Some(12);
    bug(pool, b).await;
    for sql in [
        "UPDATE bugs SET followers = ARRAY[1, 3]::bigint[], sla_risk = 'breached' WHERE severity = 'critical'",
        "INSERT INTO pull_requests (project_id, number, title, state, author, created_at, updated_at, merged_at)
         VALUES (1, 7, 'Fix <b>checkout</b>', 'merged', 'eve', now() - interval '3 days', now(), now()),
                (2, 8, 'WIP', 'open', NULL, now(), now(), NULL)",
        "INSERT INTO project_metrics VALUES (1, '2026-11-23', 1, 1, 1, 0, 1, 1234.56, 1, 42)",
        "INSERT INTO hourly_snapshots VALUES ('2026-11-24 20:00Z', 'workload', '{\"a\": [1, 2.50, null], \"b\": \"é\"}', now())",
        "INSERT INTO escalations (bug_id, level, from_priority, to_priority, assignee_id, manager_id, created_at)
         VALUES (1, 1, 'P2', 'P1', 3, 2, now())",
        "INSERT INTO reports (iso_week, period_start, period_end, subject, html, text_body, data, generated_at)
         VALUES ('2026-W47', now() - interval '7 days', now(), 'Week 47', '<img src=\"cid:c1\">', 'text', '{\"n\": 1}', now())",
        "INSERT INTO report_images VALUES (1, 'c1', 'image/png', '\\x89504e470d0a1a0a00ff'::bytea)",
        // The weekly report's e-mail points at its report: the FK that made
        // backups taken after the first report unrestorable.
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, next_attempt_at, created_at, report_id)
         VALUES ('sla', 'eve@example.com', 'email', 'Bug <1>', 'line1\nline2\ttab', 'sla:1', now(), now(), NULL),
                ('weekly_report', 'boss@example.com', 'email', 'Week 47', 'see html', 'weekly:2026-W47', now(), now(), 1)",
        "INSERT INTO task_claims VALUES ('reminders', '2026-11-24:3', gen_random_uuid(), now())",
        "INSERT INTO job_pauses VALUES ('daily_sync', now(), 'ops', 'GitHub migration')",
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, started_at, completed_at, result)
         VALUES (gen_random_uuid(), 'hourly_metrics', '/api/cron/hourly', '2026-11-24 20:00Z', 'completed', 'cron',
                 now(), now(), '{\"tasks\": []}')",
        "INSERT INTO sync_events (event_type, source, status, message, created_at)
         VALUES ('task', 'sla_risk', 'success', 'ok', now())",
        "INSERT INTO notices (user_id, channel, kind, urgency, bug_id, headline, details, dedupe_key, status,
                              notification_id, created_at)
         VALUES (3, 'email', 'escalation', 1020, 1, 'L1 <b>', 'a\tb', 'escalation:1:1:3', 'digested', 1, now())",
        "INSERT INTO alerts (dedupe_key, source, kind, severity, title, details, status, raised_at, last_seen_at, project_id)
         VALUES ('rev:1', 'anomalies', 'revenue', 'critical', 'Revenue at risk', '{\"amount\": 1234.56}', 'open', now(), now(), 1)",
        "INSERT INTO github_sync_cursors (project_id, since, etag, updated_at) VALUES (1, now(), 'W/\"abc\"', now())",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    assert_eq!(b1, 1);
}

async fn table_count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every column of every row, generated ones included, in key order.
async fn digest(pool: &PgPool, table: &str, order: &str) -> String {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) FROM {table} t"
    )))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A second, migrated database on the same server, named after the test's
/// own so parallel tests never share one; dropped by `drop_db` (or on the
/// next run if a test died first).
async fn extra_db(pool: &PgPool, suffix: &str) -> (String, PgPool) {
    let name = scratch_db(pool, &format!("export_{suffix}")).await;
    let other = PgPool::connect(&url_of(&name)).await.unwrap();
    nightshift_core::db::MIGRATOR.run(&other).await.unwrap();
    (name, other)
}

#[sqlx::test(migrations = "../../migrations")]
async fn exports_every_table_and_restores_it_unchanged(pool: PgPool) {
    seed(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let report = Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(!report.more_work);

    let m = manifest(dir.path(), today());
    assert_eq!(m.schema_version, schema_version());
    assert_eq!(m.date, today());
    assert_eq!(m.exported_at, t0());
    let names: Vec<&str> = m.files.iter().map(|f| f.table.as_str()).collect();
    let expected: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
    assert_eq!(names, expected);
    let mut total = 0;
    for f in &m.files {
        let bytes = std::fs::read(day_dir(dir.path(), today()).join(&f.file)).unwrap();
        assert_eq!(f.bytes, bytes.len() as u64, "{}", f.file);
        assert_eq!(
            f.sha256,
            format!("{:x}", Sha256::digest(&bytes)),
            "{}",
            f.file
        );
        assert_eq!(f.rows, table_count(&pool, &f.table).await, "{}", f.table);
        assert!(f.rows > 0, "the dataset leaves {} empty", f.table);
        assert_eq!(report.details["tables"][&f.table], f.rows);
        total += f.rows;
    }
    assert_eq!(report.records_processed, total);
    assert_eq!(report.details["deleted_exports"], serde_json::json!([]));

    // One JSON object per line, values as Postgres typed them.
    let bugs = gunzip(&day_dir(dir.path(), today()).join("bugs.ndjson.gz"));
    assert_eq!(bugs.lines().count(), 2);
    let first: serde_json::Value = serde_json::from_str(bugs.lines().next().unwrap()).unwrap();
    assert_eq!(first["title"], TITLE);
    assert!(bugs.contains("\"revenue_impact_daily\":1234.56"), "{bugs}");
    assert_eq!(first["followers"], serde_json::json!([1, 3]));

    let (name, other) = extra_db(&pool, "ok").await;
    let summary = restore(&other, dir.path().to_str().unwrap(), today())
        .await
        .unwrap();
    assert_eq!(summary.rows, total);
    assert_eq!(summary.export_id, m.export_id);
    for (table, order) in TABLES {
        assert_eq!(
            table_count(&other, table).await,
            table_count(&pool, table).await,
            "{table}"
        );
        assert_eq!(
            digest(&other, table, order).await,
            digest(&pool, table, order).await,
            "{table}"
        );
    }
    // Sequences follow the restored ids: a new row takes the next one.
    let next = user(&other, "Newcomer", "engineer", None).await;
    assert_eq!(next, 4);
    // A restore never lands on data.
    let again = restore(&other, dir.path().to_str().unwrap(), today()).await;
    assert!(format!("{:#}", again.unwrap_err()).contains("not empty"));
    other.close().await;
    drop_db(&pool, &name).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn big_tables_stream_in_chunks_and_batches(pool: PgPool) {
    // Managers with higher ids than their reports, across insert batches;
    // bugs with incompressible titles, so the gzip output spans many chunks.
    sqlx::query(
        "INSERT INTO users (id, name, email, role, created_at)
         SELECT g, 'u' || g, 'u' || g || '@example.com', 'engineer', now() FROM generate_series(1, 2500) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE users SET manager_id = id + 1 WHERE id < 2500")
        .execute(&pool)
        .await
        .unwrap();
    let p = project(&pool, "Big", Some(2500)).await;
    sqlx::query(
        "INSERT INTO bugs (project_id, title, assignee_id, revenue_impact_daily, created_at, updated_at)
         SELECT $1, md5(g::text) || md5((g * 7)::text), 1 + g % 2500, (g % 1000) * 1.01, now(), now()
           FROM generate_series(1, 30000) g",
    )
    .bind(p)
    .execute(&pool)
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(report.details["tables"]["bugs"], 30000);
    let m = manifest(dir.path(), today());
    let bugs = m.files.iter().find(|f| f.table == "bugs").unwrap();
    assert!(bugs.bytes > 1 << 20, "{} bytes: a single chunk", bugs.bytes);

    let (name, other) = extra_db(&pool, "big").await;
    let summary = restore(&other, dir.path().to_str().unwrap(), today())
        .await
        .unwrap();
    assert_eq!(summary.rows, 2500 + 1 + 30000);
    for (table, order) in [("users", "id"), ("bugs", "id")] {
        assert_eq!(
            digest(&other, table, order).await,
            digest(&pool, table, order).await,
            "{table}"
        );
    }
    other.close().await;
    drop_db(&pool, &name).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_tampered_file_fails_the_restore_and_names_the_file(pool: PgPool) {
    seed(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::from_secs(30)))
        .await
        .unwrap();
    let path = day_dir(dir.path(), today()).join("projects.ndjson.gz");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let (name, other) = extra_db(&pool, "bad").await;
    let err = restore(&other, dir.path().to_str().unwrap(), today())
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("projects.ndjson.gz") && msg.contains("sha256"),
        "{msg}"
    );
    // Nothing went in, not even the tables before the bad one.
    assert_eq!(table_count(&other, "users").await, 0);
    // No export of that day at all says so.
    let err = restore(&other, dir.path().to_str().unwrap(), today() - Age::days(1))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("manifest.json is missing"));
    other.close().await;
    drop_db(&pool, &name).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_oversized_manifest_is_refused_unread_and_nothing_is_written(pool: PgPool) {
    seed(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::from_secs(30)))
        .await
        .unwrap();
    // Still valid JSON (trailing blanks), but 2 MiB of it.
    let path = day_dir(dir.path(), today()).join("manifest.json");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.resize(2 << 20, b' ');
    std::fs::write(&path, bytes).unwrap();

    let (name, other) = extra_db(&pool, "big").await;
    let err = restore(&other, dir.path().to_str().unwrap(), today())
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("manifest.json is larger than"), "{msg}");
    assert_eq!(table_count(&other, "users").await, 0);
    other.close().await;
    drop_db(&pool, &name).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn retention_deletes_exports_older_than_30_days_only(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let old = today() - Age::days(31);
    let recent = today() - Age::days(29);
    for date in [old, recent] {
        let d = day_dir(dir.path(), date);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(MANIFEST), "{}").unwrap();
        std::fs::write(d.join("users.ndjson.gz"), "x").unwrap();
    }
    // Not an export folder: not ours to delete.
    std::fs::create_dir_all(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/2020-01-01.txt"), "keep").unwrap();

    let report = Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(
        report.details["deleted_exports"],
        serde_json::json!([old.to_string()])
    );
    assert!(!day_dir(dir.path(), old).exists());
    assert!(day_dir(dir.path(), recent).join(MANIFEST).exists());
    assert!(dir.path().join("notes/2020-01-01.txt").exists());
    assert!(day_dir(dir.path(), today()).join(MANIFEST).exists());
}

#[sqlx::test(migrations = "../../migrations")]
async fn running_twice_the_same_day_overwrites_it_identically(pool: PgPool) {
    seed(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let run = || async {
        Export::default()
            .run(&export_ctx(&pool, dir.path(), Duration::from_secs(30)))
            .await
            .unwrap()
    };
    run().await;
    let first = manifest(dir.path(), today());
    run().await;
    let second = manifest(dir.path(), today());
    assert_ne!(first.export_id, second.export_id);
    // Same rows, same bytes: gzip carries no timestamp.
    assert_eq!(first.files, second.files);
    let entries = std::fs::read_dir(day_dir(dir.path(), today())).unwrap();
    assert_eq!(entries.count(), TABLES.len() + 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn out_of_time_leaves_no_manifest_and_asks_for_more(pool: PgPool) {
    seed(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let report = Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::ZERO))
        .await
        .unwrap();
    assert!(report.more_work);
    assert_eq!(report.records_processed, 0);
    assert!(!day_dir(dir.path(), today()).join(MANIFEST).exists());
    // A complete export of the day is left alone when no file is touched.
    Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::from_secs(30)))
        .await
        .unwrap();
    let before = manifest(dir.path(), today());
    let report = Export::default()
        .run(&export_ctx(&pool, dir.path(), Duration::ZERO))
        .await
        .unwrap();
    assert!(report.more_work);
    assert_eq!(manifest(dir.path(), today()), before);
}

/// The round trip and retention through a real S3-compatible server: moto's,
/// which scripts/test starts (scripts/moto) and describes in
/// `EXPORT_S3_TEST_URL=s3://bucket/prefix` plus the standard `AWS_ENDPOINT`,
/// `AWS_ALLOW_HTTP`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`.
#[sqlx::test(migrations = "../../migrations")]
async fn round_trip_through_s3(pool: PgPool) {
    use object_store::{ObjectStoreExt, PutPayload, aws::AmazonS3Builder, path::Path as Key};

    let url = nightshift_testkit::s3_test_url();
    let (bucket, prefix) = url["s3://".len()..].split_once('/').unwrap();
    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .unwrap();
    let old = today() - Age::days(31);
    let old_key = Key::parse(format!("{prefix}/{old}/{MANIFEST}")).unwrap();
    s3.put(&old_key, PutPayload::from_static(b"{}"))
        .await
        .unwrap();

    seed(&pool).await;
    let mut ctx = ctx(&pool, t0());
    ctx.env = Arc::new(TasksConfig {
        export_url: url.clone(),
        ..TasksConfig::default()
    });
    let report = Export::default().run(&ctx).await.unwrap();
    assert!(!report.more_work);
    assert_eq!(
        report.details["deleted_exports"],
        serde_json::json!([old.to_string()])
    );
    assert!(s3.head(&old_key).await.is_err());

    let (name, other) = extra_db(&pool, "s3").await;
    restore(&other, &url, today()).await.unwrap();
    for (table, order) in TABLES {
        assert_eq!(
            digest(&other, table, order).await,
            digest(&pool, table, order).await,
            "{table}"
        );
    }
    other.close().await;
    drop_db(&pool, &name).await;
}

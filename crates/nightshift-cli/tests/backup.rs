//! `nightshift export` and `nightshift restore`, run as the built binary:
//! a round trip, the dry run, and every kind of bad input refused with a
//! clear error, a non-zero exit and nothing written.

use std::path::{Path, PathBuf};

use nightshift_core::db::MIGRATOR;
use nightshift_testkit::db::{database_url, drop_db, scratch_db, url_of};
use sqlx::{AssertSqlSafe, PgPool};
use tokio::process::Command;

#[path = "backup/hostile.rs"]
mod hostile;
#[path = "backup/s3.rs"]
mod s3;

/// Runs the binary against `url`; returns (exit code, stdout + stderr).
async fn nightshift(url: &str, args: &[&str]) -> (i32, String) {
    nightshift_with(url, args, &[]).await
}

/// [`nightshift`] with these variables set on top.
async fn nightshift_with(url: &str, args: &[&str], vars: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .env_remove("EXPORT_URL")
        .env_remove("EXPORT_WITH_ARCHIVE")
        .env_remove("GITHUB_API_URL")
        .envs(vars.iter().copied())
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A small organisation with a weekly report e-mailed (a notification with
/// a report_id) and a paused job.
async fn seed(pool: &PgPool) {
    for sql in [
        "INSERT INTO users (name, email, role) VALUES ('Boss', 'boss@example.com', 'manager')",
        "INSERT INTO users (name, email, role, manager_id) VALUES ('Eve', 'eve@example.com', 'engineer', 1)",
        "INSERT INTO projects (name, owner_id) VALUES ('Checkout', 1)",
        "INSERT INTO bugs (project_id, title, assignee_id, revenue_impact_daily) VALUES (1, 'Total <b>', 2, 12.34)",
        "INSERT INTO reports (iso_week, period_start, period_end, subject, html, text_body, data, generated_at)
         VALUES ('2026-W47', now() - interval '7 days', now(), 'Week 47', '<p>', 'text', '{}', now())",
        "INSERT INTO report_images VALUES (1, 'c1', 'image/png', '\\x00ff'::bytea)",
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, next_attempt_at,
                                    created_at, report_id, status, sent_at)
         VALUES ('weekly_report', 'boss@example.com', 'email', 'Week 47', 'b', 'weekly:2026-W47', now(), now(), 1,
                 'sent', now())",
        "INSERT INTO job_pauses VALUES ('daily_sync', now(), 'ops', 'migration')",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
}

/// Every row of every exported table, in one string.
async fn digest(pool: &PgPool) -> String {
    let mut all = String::new();
    for table in nightshift_tasks::daily::export::table_names() {
        let rows: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT string_agg(t::text, '|' ORDER BY t::text) FROM {table} t"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        all.push_str(&format!("{table}:{}\n", rows.unwrap_or_default()));
    }
    all
}

async fn rows_in(pool: &PgPool) -> i64 {
    let mut n = 0;
    for table in nightshift_tasks::daily::export::table_names() {
        let c: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(pool)
            .await
            .unwrap();
        n += c;
    }
    n
}

/// The one day folder an export just wrote.
fn day_of(dir: &Path) -> PathBuf {
    let mut days: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(days.len(), 1, "{days:?}");
    days.pop().unwrap()
}

async fn target(pool: &PgPool, tag: &str) -> (String, String, PgPool) {
    let name = scratch_db(pool, tag).await;
    let url = url_of(&name);
    let other = PgPool::connect(&url).await.unwrap();
    MIGRATOR.run(&other).await.unwrap();
    (name, url, other)
}

#[sqlx::test(migrations = "../../migrations")]
async fn export_then_restore_through_the_binary(pool: PgPool) {
    seed(&pool).await;
    let src = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let (code, out) = nightshift(&src, &["export", "--to", to]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("exported 8 rows"), "{out}");
    let day = day_of(dir.path());
    let date = day.file_name().unwrap().to_str().unwrap().to_owned();
    // An unfinished later day (no manifest) is not what --date defaults to.
    std::fs::create_dir_all(dir.path().join("2999-01-01")).unwrap();

    let (name, url, other) = target(&pool, "cli_ok").await;
    let (code, out) = nightshift(&url, &["restore", "--from", to, "--dry-run"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("would restore the export of {date}")),
        "{out}"
    );
    assert_eq!(rows_in(&other).await, 0, "a dry run wrote rows");

    let (code, out) = nightshift(&url, &["restore", "--from", to]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("restored the export of {date}")),
        "{out}"
    );
    assert!(out.contains(": 8 rows"), "{out}");
    // The counts it compared, manifest against database.
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["notifications", "1", "1"]),
        "{out}"
    );
    assert_eq!(digest(&other).await, digest(&pool).await);

    // Restoring onto data is refused, naming the table that has rows.
    let (code, out) = nightshift(&url, &["restore", "--from", to, "--date", &date]).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("users has rows"), "{out}");
    other.close().await;
    drop_db(&pool, &name).await;
}

/// A pristine export copied to a fresh folder, then spoiled by `spoil`.
fn spoiled(export: &Path, spoil: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = day_of(export);
    let day = dir.path().join(src.file_name().unwrap());
    std::fs::create_dir_all(&day).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), day.join(e.file_name())).unwrap();
    }
    spoil(&day);
    dir
}

fn edit_manifest(day: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = day.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_exports_are_refused_and_nothing_is_written(pool: PgPool) {
    seed(&pool).await;
    let src = database_url(&pool).await;
    let good = tempfile::tempdir().unwrap();
    let (code, out) = nightshift(&src, &["export", "--to", good.path().to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}");
    let (name, url, other) = target(&pool, "cli_bad").await;

    type Spoil = Box<dyn FnOnce(&Path)>;
    let cases: Vec<(&str, Spoil, Vec<&str>, &str)> = vec![
        (
            "missing day",
            Box::new(|_| {}),
            vec!["--date", "2020-01-01"],
            "manifest.json is missing",
        ),
        (
            "truncated file",
            Box::new(|d| {
                let f = d.join("bugs.ndjson.gz");
                let bytes = std::fs::read(&f).unwrap();
                std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
            }),
            vec![],
            "bugs.ndjson.gz",
        ),
        (
            "checksum mismatch",
            Box::new(|d| {
                let f = d.join("notifications.ndjson.gz");
                let mut bytes = std::fs::read(&f).unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x01;
                std::fs::write(&f, bytes).unwrap();
            }),
            vec![],
            "notifications.ndjson.gz",
        ),
        (
            "newer schema",
            Box::new(|d| edit_manifest(d, |m| m["schema_version"] = (i64::MAX / 2).into())),
            vec![],
            "newer than the database",
        ),
        (
            "unknown table",
            Box::new(|d| {
                edit_manifest(d, |m| {
                    let mut extra = m["files"][0].clone();
                    extra["table"] = "pg_authid".into();
                    m["files"].as_array_mut().unwrap().push(extra);
                })
            }),
            vec![],
            "unknown table \"pg_authid\"",
        ),
    ];
    for (case, spoil, extra, expected) in cases {
        let dir = spoiled(good.path(), spoil);
        let mut args = vec!["restore", "--from", dir.path().to_str().unwrap()];
        args.extend(extra);
        let (code, out) = nightshift(&url, &args).await;
        assert_eq!(code, 1, "{case}: {out}");
        assert!(out.contains(expected), "{case}: {out}");
        assert!(out.contains("nothing was written"), "{case}: {out}");
        assert_eq!(rows_in(&other).await, 0, "{case}: rows were written");
    }
    // The truncated and tampered files are caught by size and sha256.
    let dir = spoiled(good.path(), |d| {
        std::fs::write(d.join("users.ndjson.gz"), b"").unwrap();
    });
    let (_, out) = nightshift(&url, &["restore", "--from", dir.path().to_str().unwrap()]).await;
    assert!(out.contains("0 bytes with sha256"), "{out}");
    other.close().await;
    drop_db(&pool, &name).await;
}

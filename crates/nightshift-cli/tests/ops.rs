//! The operator's commands (status, runs, pause, resume, alerts, outbox,
//! trigger, auth), run as the built binary against a fresh database per test.

use std::net::SocketAddr;
use std::sync::Arc;

use nightshift_core::db::Db;
use nightshift_core::{App, Config};
use nightshift_testkit::cli;
use nightshift_testkit::db::database_url;
use serde_json::Value;
use sqlx::PgPool;
use tokio::process::Command;

const SECRET: &str = "ops-test-secret-0123456789abcdefghijklmn";

/// Runs `nightshift ARGS`; returns (exit code, stdout, stderr).
async fn nightshift(url: &str, args: &[&str]) -> (i32, String, String) {
    let bin = env!("CARGO_BIN_EXE_nightshift");
    let r = cli::run(bin, url, args, &[("CRON_SECRET", SECRET)], &["BASE_URL"]).await;
    (r.code, r.stdout, r.stderr)
}

async fn json(url: &str, args: &[&str]) -> Value {
    let (code, out, err) = nightshift(url, args).await;
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

async fn plant(pool: &PgPool) {
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, status, trigger, started_at, completed_at,
                                  execution_time_ms, error_message)
         SELECT gen_random_uuid(), j, '/api/cron/x', s, 'cron',
                now() - n * interval '1 hour', now() - n * interval '1 hour' + interval '1 s',
                1000 * n, CASE WHEN s = 'failed' THEN 'task x: broke' END
           FROM (VALUES ('hourly_metrics', 'completed', 3), ('hourly_metrics', 'failed', 2),
                        ('hourly_metrics', 'completed', 1), ('daily_sync', 'completed', 5))
                AS v(j, s, n)",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO alerts (dedupe_key, source, kind, severity, title, status, raised_at,
                             last_seen_at, resolved_at)
         VALUES ('a', 'watch_jobs', 'k', 'warning', 'Open one', 'open', now(), now(), NULL),
                ('b', 'watch_jobs', 'k', 'warning', 'Old one', 'resolved', now() - interval '1 day',
                 now(), now())",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn status_runs_pause_resume_alerts(pool: PgPool) {
    let url = database_url(&pool).await;
    plant(&pool).await;

    let status = json(&url, &["status", "--json"]).await;
    let hourly = &status["jobs"][0];
    assert_eq!(hourly["job_type"], "hourly_metrics");
    assert_eq!(hourly["last_run"]["status"], "completed");
    assert_eq!(hourly["stats_7d"]["runs"], 3);
    assert!(hourly["next_run_at"].is_string());
    let (code, table, _) = nightshift(&url, &["status"]).await;
    assert_eq!(code, 0);
    assert!(table.starts_with("health: "), "{table}");
    assert!(
        table.contains("task x: broke") && table.contains("daily_sync"),
        "{table}"
    );

    let runs = json(&url, &["runs", "--job", "hourly", "--limit", "2", "--json"]).await;
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["job_type"] == "hourly_metrics"));
    assert_eq!(runs[1]["error_message"], "task x: broke", "newest first");
    let (code, _, err) = nightshift(&url, &["runs", "--job", "monthly"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("valid jobs: hourly (hourly_metrics)"), "{err}");

    let (code, out, _) = nightshift(&url, &["pause", "daily", "--reason", "migration"]).await;
    assert_eq!((code, out.trim()), (0, "daily_sync paused"));
    let (_, out, _) = nightshift(&url, &["pause", "daily_sync"]).await;
    assert_eq!(out.trim(), "daily_sync paused (already)");
    let status = json(&url, &["status", "--json"]).await;
    assert_eq!(status["jobs"][1]["paused"]["reason"], "migration");
    let resumed = json(&url, &["resume", "daily", "--json"]).await;
    assert_eq!(
        (resumed["paused"].clone(), resumed["changed"].clone()),
        (false.into(), true.into())
    );
    let (_, out, _) = nightshift(&url, &["resume", "daily"]).await;
    assert_eq!(out.trim(), "daily_sync resumed (already)");

    let open = json(&url, &["alerts", "--open", "--json"]).await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["title"], "Open one");
    let all = json(&url, &["alerts", "--json"]).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn outbox_list_retry_purge(pool: PgPool) {
    let url = database_url(&pool).await;
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, status,
                                    attempts, next_attempt_at, last_error, created_at)
         VALUES ('x', 'a@example.com', 'email', 'one', 'b', 'n1', 'dead', 5,
                 now() + interval '1 day', 'smtp 550', now()),
                ('x', 'b@example.com', 'email', 'two', 'b', 'n2', 'dead', 5,
                 now() + interval '1 day', 'smtp 550', now()),
                ('x', 'c@example.com', 'email', 'three', 'b', 'n3', 'pending', 0, now(), NULL, now())
         RETURNING id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let dead = json(&url, &["outbox", "list", "--status", "dead", "--json"]).await;
    assert_eq!(dead.as_array().unwrap().len(), 2);
    let (_, table, _) = nightshift(&url, &["outbox", "list"]).await;
    assert!(
        table.contains("smtp 550") && table.contains("three"),
        "{table}"
    );

    let (code, out, err) = nightshift(&url, &["outbox", "retry", &ids[0].to_string()]).await;
    assert_eq!(code, 0, "{out}{err}");
    let (status, attempts, due_now): (String, i32, bool) = sqlx::query_as(
        "SELECT status, attempts, next_attempt_at <= now() FROM notifications WHERE id = $1",
    )
    .bind(ids[0])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts, due_now), ("pending", 0, true));
    let (code, _, err) = nightshift(&url, &["outbox", "retry", &ids[2].to_string()]).await;
    assert_ne!(code, 0);
    assert!(err.contains("is pending, not dead"), "{err}");
    let (code, _, err) = nightshift(&url, &["outbox", "retry", "999999"]).await;
    assert!(code != 0 && err.contains("no notification 999999"), "{err}");

    let (_, out, _) = nightshift(&url, &["outbox", "purge-dead"]).await;
    assert_eq!(out.trim(), "1 dead notification(s) deleted");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn trigger_calls_a_route_over_http(pool: PgPool) {
    let url = database_url(&pool).await;
    let app = App::with_db(
        Config::default().with_secret(SECRET),
        Db::from_pool(pool.clone()),
        nightshift_tasks::routes(Default::default()),
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, nightshift_core::all_routes_router(Arc::new(app)))
            .await
            .unwrap();
    });
    let (code, out, err) = nightshift(
        &url,
        &[
            "trigger",
            "hourly",
            "--url",
            &base,
            "--query",
            "tasks=watch_jobs",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["outcome"], "completed");
    assert!(err.contains("HTTP 200"));

    let out = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["trigger", "hourly", "--url", &base])
        .env("CRON_SECRET", "wrong-secret")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unauthorized"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn runs_show_prints_each_task_without_secrets_or_control_characters(pool: PgPool) {
    let url = database_url(&pool).await;
    let id = uuid::Uuid::new_v4();
    let result = serde_json::json!({
        "more_work": false,
        "tasks": [
            {"name": "export", "status": "success", "duration_ms": 40, "attempts": 1,
             "records_processed": 12, "records_failed": 0, "more_work": false, "details": {}},
            {"name": "github_sync", "status": "failed", "duration_ms": 1500, "attempts": 3,
             "records_processed": 3, "records_failed": 2, "more_work": false, "details": {},
             "error": format!("\u{1b}[31mGET https://bot:ghp_hunter2@api.github.com/x: 401\u{7} {SECRET}")}
        ],
    });
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, status, trigger, attempt, max_attempts,
                                  started_at, completed_at, execution_time_ms, error_message, result)
         VALUES ($1, 'daily_sync', '/api/cron/daily', 'failed', 'cron', 1, 3, now(), now(), 1600,
                 'github_sync: 401', $2)",
    )
    .bind(id)
    .bind(&result)
    .execute(&pool)
    .await
    .unwrap();
    let (code, out, err) = nightshift(&url, &["runs", "show", &id.to_string()]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("status:      failed") && out.contains("trigger:     cron"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("github_sync"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("failed") && line.contains("https://***@api.github.com/x: 401"),
        "{line}"
    );
    assert!(line.contains("[redacted]"), "{line}");
    assert!(!out.contains("hunter2") && !out.contains(SECRET), "{out}");
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("export") && l.contains("12")),
        "{out}"
    );
    let shown = json(&url, &["runs", "show", &id.to_string(), "--json"]).await;
    assert_eq!(shown["tasks"][1]["records_failed"], 2);

    let (code, _, err) = nightshift(&url, &["runs", "show", "42"]).await;
    assert!(code != 0 && err.contains("UUID"), "{err}");
    let unknown = uuid::Uuid::new_v4().to_string();
    let (code, _, err) = nightshift(&url, &["runs", "show", &unknown]).await;
    assert!(code != 0 && err.contains("no run"), "{err}");
}

#[tokio::test]
async fn every_command_has_an_example() {
    for cmd in [
        vec!["status"],
        vec!["runs"],
        vec!["runs", "show"],
        vec!["pause"],
        vec!["resume"],
        vec!["outbox"],
        vec!["outbox", "list"],
        vec!["outbox", "retry"],
        vec!["outbox", "purge-dead"],
        vec!["alerts"],
        vec!["trigger"],
        vec!["auth"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_nightshift"))
            .args(&cmd)
            .arg("--help")
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Example:"),
            "{cmd:?}: {text}"
        );
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn auth_ends_every_session_and_lifts_back_offs(pool: PgPool) {
    let url = database_url(&pool).await;
    let epoch = || async {
        sqlx::query_as::<_, (uuid::Uuid, Option<String>)>(
            "SELECT epoch, changed_by FROM session_epoch",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let (before, _) = epoch().await;
    let (code, out, err) = nightshift(&url, &["auth", "sign-out-everywhere"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let (after, by) = epoch().await;
    assert_ne!(before, after, "a new epoch refuses every earlier cookie");
    assert_eq!(by.as_deref(), Some("cli"));

    sqlx::query(
        "INSERT INTO auth_throttle (scope, failures, forget_at, blocked_until)
         VALUES ('ip:203.0.113.7', 9, now() + interval '1 h', now() + interval '1 h'),
                ('ip:2001:db8:1::/48', 9, now() + interval '1 h', now() + interval '1 h'),
                ('unknown', 9, now() + interval '1 h', now() + interval '1 h')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (code, out, _) = nightshift(&url, &["auth", "unblock", "2001:db8:1:2::99"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("ip:2001:db8:1::/48: 1"), "{out}");
    let (code, _, err) = nightshift(&url, &["auth", "unblock"]).await;
    assert_ne!(code, 0, "an address or --all: {err}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_throttle")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 2);
    let (code, out, _) = nightshift(&url, &["auth", "unblock", "--all"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("2 record(s) removed"), "{out}");
}

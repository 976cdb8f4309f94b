//! `nightshift check`: one line per problem, exit code 1, for every kind of
//! problem it knows; silence and exit 0 for a sound setup.

use std::path::{Path, PathBuf};

use nightshift_testkit::db::database_url;
use nightshift_testkit::{Canned, Replay};
use sqlx::PgPool;
use tokio::process::Command;

const SECRET: &str = "check-test-secret-0123456789abcdefghijkl";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A copy of the project's layout (vercel.json, Cargo.toml, api/) to break.
/// The status function has no cron, and a sound setup must not complain.
fn layout(vercel: Option<&str>, extra_route: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = repo();
    std::fs::create_dir_all(dir.path().join("api/cron")).unwrap();
    for f in [
        "Cargo.toml",
        "api/cron/daily.rs",
        "api/cron/hourly.rs",
        "api/cron/weekly.rs",
        "api/status.rs",
    ] {
        std::fs::copy(root.join(f), dir.path().join(f)).unwrap();
    }
    let json = vercel
        .map(str::to_owned)
        .unwrap_or_else(|| std::fs::read_to_string(root.join("vercel.json")).unwrap());
    std::fs::write(dir.path().join("vercel.json"), json).unwrap();
    if extra_route {
        std::fs::write(dir.path().join("api/cron/orphan.rs"), "fn main() {}\n").unwrap();
    }
    dir
}

async fn check(dir: &Path, env: &[(&str, String)], url: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nightshift"));
    cmd.arg("check")
        .arg("--dir")
        .arg(dir)
        .env_clear()
        .env("RUST_LOG", "error");
    if let Some(u) = url {
        cmd.arg("--url").arg(u);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

async fn good_env(pool: &PgPool) -> Vec<(&'static str, String)> {
    vec![
        ("CRON_SECRET", SECRET.into()),
        ("DATABASE_URL", database_url(pool).await),
    ]
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_sound_setup_passes(pool: PgPool) {
    let dir = layout(None, false);
    let (code, out) = check(dir.path(), &good_env(&pool).await, None).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok:"), "{out}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn layout_problems_name_the_key(pool: PgPool) {
    let broken = r#"{"crons": [
        {"path": "/api/cron/hourly", "schedule": "0 * * * * *"},
        {"path": "/api/cron/daily", "schedule": "0 0 30 2 *"},
        {"path": "/api/cron/weekly", "schedule": "0 9 * * 1"},
        {"path": "/api/cron/monthly", "schedule": "0 0 1 * *"}],
      "functions": {"api/cron/hourly.rs": {"maxDuration": 300}, "api/cron/daily.rs": {"maxDuration": 15},
                    "api/status.rs": {"maxDuration": 30}, "api/gone.rs": {"maxDuration": 30}}}"#;
    let dir = layout(Some(broken), true);
    let (code, out) = check(dir.path(), &good_env(&pool).await, None).await;
    assert_eq!(code, 1, "{out}");
    for expected in [
        r#"problem: vercel.json crons[0].schedule "0 * * * * *": expected five fields"#,
        r#"problem: vercel.json crons[1].schedule "0 0 30 2 *": never fires"#,
        "problem: vercel.json functions.\"api/cron/daily.rs\".maxDuration = 15: must exceed the budget plus 20 s",
        "problem: vercel.json functions.\"api/cron/weekly.rs\".maxDuration: missing",
        r#"problem: vercel.json crons[3].path "/api/cron/monthly": no route binary api/cron/monthly.rs"#,
        "problem: api/cron/orphan.rs: no schedule in vercel.json calls /api/cron/orphan",
        "problem: vercel.json functions.\"api/gone.rs\": no such binary",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert_eq!(
        out.lines().filter(|l| l.starts_with("problem:")).count(),
        8,
        "{out}"
    );
    let (_, out) = check(dir.path(), &[("JOB_BUDGET_SECS", "290".into())], None).await;
    assert!(out.contains("\"api/cron/hourly.rs\".maxDuration = 300: must exceed the budget plus 20 s of bookkeeping (310 s)"), "{out}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn environment_problems_name_the_variable(pool: PgPool) {
    let dir = layout(None, false);
    let (code, out) = check(dir.path(), &[], None).await;
    assert_eq!(code, 1);
    assert!(out.contains("problem: CRON_SECRET: not set"), "{out}");
    assert!(out.contains("problem: DATABASE_URL: not set"), "{out}");
    assert!(
        out.contains("(docs/reference/configuration.md#cron_secret)"),
        "a variable's problem links its reference entry: {out}"
    );

    let replay = Replay::start().await;
    replay.script(
        "/rate_limit",
        Canned::json(401, serde_json::json!({"message": "Bad credentials"})),
        None,
    );
    let env = vec![
        ("CRON_SECRET", "short".to_string()),
        (
            "DATABASE_URL",
            "postgres://u:p@127.0.0.1:1/none".to_string(),
        ),
        ("REPORT_EMAILS", "cto@example.com".to_string()),
        ("GITHUB_TOKEN", "ghp_revoked".to_string()),
        ("GITHUB_API_URL", replay.url()),
    ];
    let (code, out) = check(dir.path(), &env, None).await;
    assert_eq!(code, 1);
    for expected in [
        "problem: CRON_SECRET: too weak to use; it needs at least 128 bits",
        "problem: DATABASE_URL: the database is unreachable",
        "problem: REPORT_EMAILS: is set but no mail transport is",
        &format!("problem: GITHUB_TOKEN: rejected by {} (401)", replay.url()),
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("u:p@"), "a credential leaked: {out}");
    let (_, out) = check(dir.path(), &[("ORG_TIMEZONE", "Mars/Base".into())], None).await;
    assert!(out.contains("problem: ORG_TIMEZONE is invalid"), "{out}");
    let _ = pool;
}

#[sqlx::test(migrations = false)]
async fn an_unmigrated_database_says_migrate(pool: PgPool) {
    let dir = layout(None, false);
    let (code, out) = check(dir.path(), &good_env(&pool).await, None).await;
    assert_eq!(code, 1);
    assert!(out.contains("run `nightshift migrate`"), "{out}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn url_calls_every_route_as_a_dry_run(pool: PgPool) {
    // A deployment: the real routes on loopback, with the same secret.
    let cfg = nightshift_core::Config::default().with_secret(SECRET);
    let app = nightshift_core::App::with_db(
        cfg,
        nightshift_core::db::Db::from_pool(pool.clone()),
        nightshift_tasks::routes(Default::default()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            nightshift_core::all_routes_router(std::sync::Arc::new(app)),
        )
        .await
        .unwrap()
    });
    let dir = layout(None, false);
    let (code, out) = check(dir.path(), &good_env(&pool).await, Some(&base)).await;
    assert_eq!(code, 0, "{out}");
    let mut env = good_env(&pool).await;
    env[0].1 = "another-secret-0123456789".into();
    let (code, out) = check(dir.path(), &env, Some(&base)).await;
    assert_eq!(code, 1);
    assert_eq!(
        out.matches("401: the deployment's CRON_SECRET differs from yours")
            .count(),
        3,
        "{out}"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM job_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "a dry run wrote a run");
}

//! scripts/test-cron-jobs.sh against a real `nightshift serve`, and against a
//! server that answers 200 with a failed run in the body.

use std::path::PathBuf;
use std::process::Stdio;

use nightshift_testkit::db::database_url;
use nightshift_testkit::free_port;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SECRET: &str = "script-test-secret-0123456789abcdefghijk";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-cron-jobs.sh")
}

/// Starts `nightshift serve` and returns once it logs that it is listening.
async fn serve(pool: &PgPool, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["serve", "--port", &port.to_string()])
        .env("DATABASE_URL", database_url(pool).await)
        .env("CRON_SECRET", SECRET)
        .env(
            "EXPORT_URL",
            std::env::temp_dir().join("nightshift-cli-test-exports"),
        )
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "pretty")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve exited before listening");
        if line.contains("serving routes") {
            break;
        }
    }
    // Keep draining the log so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

async fn run_script(base_url: &str, which: &str) -> (i32, String) {
    let out = Command::new("bash")
        .arg(script())
        .arg(which)
        .env("BASE_URL", base_url)
        .env("CRON_SECRET", SECRET)
        .output()
        .await
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[sqlx::test(migrations = "../../migrations")]
async fn script_passes_against_serve_and_fails_on_a_failing_route(pool: PgPool) {
    let port = free_port();
    let mut server = serve(&pool, port).await;
    let base = format!("http://127.0.0.1:{port}");

    let (code, out) = run_script(&base, "all").await;
    assert_eq!(code, 0, "{out}");
    for route in ["daily", "hourly", "weekly"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(route) && l.contains("200") && l.contains("completed")),
            "{out}"
        );
    }
    // Called again in the same slots: duplicates, still a pass.
    let (code, out) = run_script(&base, "all").await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("skipped_duplicate"), "{out}");

    // Break the hourly route for real: its task's table is gone.
    sqlx::query("DELETE FROM job_history")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE alerts RENAME TO alerts_gone")
        .execute(&pool)
        .await
        .unwrap();
    let (code, out) = run_script(&base, "hourly").await;
    assert_ne!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("hourly") && l.contains("500") && l.contains("failed")),
        "{out}"
    );
    server.kill().await.unwrap();
}

#[tokio::test]
async fn script_fails_on_a_200_that_says_failed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async {
        axum::Json(serde_json::json!({ "outcome": "failed", "duration_ms": 12, "tasks": [] }))
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (code, out) = run_script(&base, "daily").await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("failed"), "{out}");
    let (code, _) = run_script(&base, "sometimes").await;
    assert_eq!(code, 2, "a bad argument is a usage error");
}

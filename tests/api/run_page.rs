//! `GET /api/status/runs/{id}`: a failed run task by task, its errors
//! without credentials or the secret, its follow-up and the attempt that
//! took over; the page the dashboard links to; 400 and 404.

use std::sync::Arc;

use crate::common::*;
use chrono::Duration;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Fails the way a driver does: quoting its connection string, and here
/// the secret too.
struct Leaky;

#[async_trait::async_trait]
impl Task for Leaky {
    fn name(&self) -> &'static str {
        "leaky"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        anyhow::bail!(
            "connecting to postgres://app:hunter2@db.internal:5432/x failed (bearer {SECRET})"
        )
    }
}

async fn get(base: &str, path: &str, auth: bool) -> (u16, String) {
    let mut req = reqwest::Client::new().get(format!("{base}{path}"));
    if auth {
        req = req.header("authorization", bearer());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn json_of(base: &str, path: &str) -> (u16, Value) {
    let (code, text) = get(base, path, true).await;
    (
        code,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failed_run_shows_each_task_and_its_error_without_secrets(pool: PgPool) {
    let tasks: Vec<Arc<dyn Task>> = vec![Arc::new(Fine("fine")), Arc::new(Leaky)];
    let t = custom_app(&pool, tasks, std::time::Duration::from_secs(30));
    let base = serve_all(t.app.clone()).await;
    let client = reqwest::Client::new();
    let run = call(
        &client,
        &format!("{base}/api/cron/hourly?force=true"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(run.body["outcome"], "failed", "{}", run.body);
    let id = run.body["run_id"].as_str().unwrap().to_owned();
    let path = format!("/api/status/runs/{id}");

    let (code, d) = json_of(&base, &path).await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(
        (d["id"].as_str(), d["status"].as_str()),
        (Some(id.as_str()), Some("failed"))
    );
    assert_eq!(
        (d["trigger"].as_str(), d["attempt"].as_i64()),
        (Some("manual"), Some(1))
    );
    assert_eq!(
        (&d["slot"], &d["slot_local"]),
        (&Value::Null, &Value::Null),
        "a forced run"
    );
    assert_eq!(d["more_work"], false);
    assert_eq!(d["follow_up"], Value::Null);
    let tasks = d["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["fine", "leaky"]);
    assert_eq!(
        (tasks[0]["status"].as_str(), tasks[0]["error"].as_str()),
        (Some("success"), None)
    );
    assert!(tasks[0]["records_processed"].as_i64().unwrap() >= 1);
    assert_eq!(tasks[1]["status"], "failed");
    let error = tasks[1]["error"].as_str().unwrap();
    assert!(
        error.contains("postgres://***@db.internal:5432/x"),
        "{error}"
    );
    assert!(error.contains("bearer [redacted]"), "{error}");
    let whole = d.to_string();
    assert!(
        !whole.contains("hunter2") && !whole.contains(SECRET),
        "{whole}"
    );
    // The ledger keeps what was recorded; only the answer hides it.
    let stored: String = sqlx::query_scalar("SELECT error_message FROM job_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(stored.contains("hunter2"), "{stored}");

    // The page, and the dashboard's link to it.
    let (code, page) = get(&base, &format!("{path}?format=html"), true).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("id=\"task-leaky\"") && page.contains("postgres://***@db.internal"),
        "{page}"
    );
    assert!(!page.contains("hunter2") && !page.contains(SECRET));
    let (_, dashboard) = get(&base, "/api/status?format=html", true).await;
    assert!(
        dashboard.contains(&format!("/api/status/runs/{id}?format=html")),
        "{dashboard}"
    );

    // Who may read it, and what is not a run.
    assert_eq!(get(&base, &path, false).await.0, 401);
    let (code, signin) = get(&base, &format!("{path}?format=html"), false).await;
    assert!(code == 401 && signin.contains("<form"), "{code} {signin}");
    let (code, e) = json_of(
        &base,
        "/api/status/runs/00000000-0000-4000-8000-000000000000",
    )
    .await;
    assert_eq!((code, e["error"].as_str()), (404, Some("not_found")), "{e}");
    let (code, e) = json_of(&base, "/api/status/runs/42").await;
    assert_eq!(
        (code, e["error"].as_str()),
        (400, Some("bad_request")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("UUID"), "{e}");
    assert_eq!(json_of(&base, &format!("{path}?format=xml")).await.0, 400);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_retried_slot_links_both_attempts(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let slot = t0() - Duration::minutes(17);
    let (first, second) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let result = json!({
        "more_work": false,
        "follow_up": {"kind": "retry", "after_ms": 180000, "from_task": "watch_jobs"},
        "tasks": [{"name": "watch_jobs", "status": "failed", "duration_ms": 12, "attempts": 3,
                   "records_processed": 0, "records_failed": 2, "more_work": false,
                   "retryable": true, "error": "502 from upstream", "details": {}}],
    });
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, attempt, max_attempts,
                                  started_at, completed_at, execution_time_ms, error_message,
                                  result, follow_up, follow_up_at, followed_by)
         VALUES ($1, 'hourly_metrics', '/api/cron/hourly', $3, 'failed', 'cron', 1, 3,
                 $3, $3 + interval '1 s', 1000, 'watch_jobs: 502 from upstream', $4,
                 'retry', $3 + interval '3 min', $2),
                ($2, 'hourly_metrics', '/api/cron/hourly', $3, 'completed', 'retry', 2, 3,
                 $3 + interval '3 min', $3 + interval '4 min', 900, NULL, NULL, NULL, NULL, NULL)",
    )
    .bind(first)
    .bind(second)
    .bind(slot)
    .bind(&result)
    .execute(&pool)
    .await
    .unwrap();
    let (code, d) = json_of(&base, &format!("/api/status/runs/{first}")).await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["slot_local"]["zone"], "UTC");
    assert_eq!(d["slot_local"]["local"], "2026-11-24 21:00 UTC");
    assert_eq!(d["follow_up"]["kind"], "retry");
    assert_eq!(d["follow_up"]["state"], "taken");
    assert_eq!(d["follow_up"]["from_task"], "watch_jobs");
    assert_eq!(d["followed_by"]["id"], second.to_string());
    assert_eq!(d["followed_by"]["trigger"], "retry");
    assert_eq!(d["tasks"][0]["records_failed"], 2);
    let (_, d2) = json_of(&base, &format!("/api/status/runs/{second}")).await;
    assert_eq!(d2["follows"]["id"], first.to_string());
    assert_eq!(
        (d2["followed_by"].clone(), d2["attempt"].as_i64()),
        (Value::Null, Some(2))
    );
    assert_eq!(d2["tasks"], json!([]));
    let (_, page) = get(
        &base,
        &format!("/api/status/runs/{first}?format=html"),
        true,
    )
    .await;
    assert!(
        page.contains(&format!("href=\"/api/status/runs/{second}?format=html\"")),
        "{page}"
    );
}

//! The `hourly` binary itself, started the way Vercel's dev runtime starts it
//! (VERCEL_DEV_PORT), answering a real authenticated call.

mod common;

use common::*;
use nightshift_testkit::db::database_url;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn hourly_binary_answers_under_vercel_dev(pool: PgPool) {
    let port = free_port();
    let mut child = spawn_route(
        env!("CARGO_BIN_EXE_hourly"),
        port,
        &[("DATABASE_URL", database_url(&pool).await)],
    )
    .await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/cron/hourly");
    let a = call(&client, &url, None).await;
    assert_eq!(a.status, 401);
    let resp = client
        .get(&url)
        .header("authorization", bearer())
        .header("user-agent", "vercel-cron/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["outcome"], "completed", "{body}");
    assert_eq!(body["trigger"], "cron");
    assert_eq!(body["tasks"][0]["name"], "watch_jobs");
    let row: (String, String) = sqlx::query_as("SELECT status, trigger FROM job_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row, ("completed".into(), "cron".into()));
    child.kill().await.unwrap();
}

/// The status function (`api/status.rs`) on its own, as Vercel runs it.
#[sqlx::test(migrations = "./migrations")]
async fn status_binary_answers_under_vercel_dev(pool: PgPool) {
    let port = free_port();
    let mut child = spawn_route(
        env!("CARGO_BIN_EXE_status"),
        port,
        &[("DATABASE_URL", database_url(&pool).await)],
    )
    .await;
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let health = client
        .get(format!("{base}/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    let a = call(&client, &format!("{base}/api/status"), None).await;
    assert_eq!(a.status, 405, "POST is not a status read");
    let resp = client
        .get(format!("{base}/api/status"))
        .header("authorization", bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["jobs"].as_array().unwrap().len(), 3, "{body}");
    let unauth = client
        .get(format!("{base}/api/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);
    let cron = client
        .get(format!("{base}/api/cron/hourly"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cron.status(),
        404,
        "the status function serves no cron route"
    );
    child.kill().await.unwrap();
}

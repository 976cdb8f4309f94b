//! The `hourly` binary itself, started the way Vercel's dev runtime starts it
//! (VERCEL_DEV_PORT), answering a real authenticated call.

use crate::common::*;
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

/// A bad value makes every path answer 500 naming the variable, to anyone;
/// the value itself goes to the log only, addresses masked, secrets never.
#[tokio::test]
async fn a_configuration_error_names_the_variable_and_logs_the_detail() {
    use tokio::io::AsyncReadExt;
    let cases = [
        ("ALERT_EMAILS", "jane.doe@example", Some("j***@example")),
        ("CRON_SECRET", "two words-0123456789", None),
        // Weak (28 characters): refused at start, fails closed (issue 33).
        ("CRON_SECRET", "test-secret-0123456789abcdef", None),
        // The heartbeat would send the bearer in clear text (issue 33).
        ("BASE_URL", "http://nightshift.example.com", None),
    ];
    for (name, value, logged) in cases {
        let port = free_port();
        let mut child =
            spawn_route_logged(env!("CARGO_BIN_EXE_hourly"), port, &[(name, value.into())]).await;
        let url = format!("http://127.0.0.1:{port}/api/cron/hourly");
        let resp = reqwest::get(&url).await.unwrap();
        assert_eq!(resp.status(), 500);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "config", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(name), "{body}");
        assert!(
            !body.to_string().contains(value.split('@').next().unwrap()),
            "{body}"
        );
        assert!(!body.to_string().contains("example"), "{body}");
        let mut stderr = child.stderr.take().unwrap();
        child.kill().await.unwrap();
        let mut log = String::new();
        stderr.read_to_string(&mut log).await.unwrap();
        assert!(log.contains(name), "{log}");
        assert!(!log.contains(value), "{log}");
        if let Some(masked) = logged {
            assert!(log.contains(masked), "{log}");
        }
    }
}

/// The client address a route binary counts a wrong secret against: on
/// Vercel (`VERCEL` set by the platform) the X-Forwarded-For its edge
/// writes; elsewhere the header is the caller's own and is ignored.
#[sqlx::test(migrations = "./migrations")]
async fn x_forwarded_for_is_trusted_only_on_vercel(pool: PgPool) {
    let client = reqwest::Client::new();
    for (on_vercel, expected) in [(false, "unknown"), (true, "ip:203.0.113.9")] {
        let port = free_port();
        let mut env = vec![("DATABASE_URL", database_url(&pool).await)];
        if on_vercel {
            env.push(("VERCEL", "1".to_owned()));
        }
        let mut child = spawn_route(env!("CARGO_BIN_EXE_status"), port, &env).await;
        let resp = client
            .get(format!("http://127.0.0.1:{port}/api/status"))
            .bearer_auth("not-the-secret")
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let scopes: Vec<String> =
            sqlx::query_scalar("DELETE FROM auth_throttle WHERE scope <> 'global' RETURNING scope")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(scopes, [expected], "VERCEL set: {on_vercel}");
        child.kill().await.unwrap();
    }
}

/// A budget the platform would cut short (hourly's maxDuration is 300 s in
/// vercel.json) is refused at startup, naming the variable.
#[tokio::test]
async fn a_budget_above_max_duration_is_a_startup_error_naming_it() {
    let port = free_port();
    let mut child = spawn_route(
        env!("CARGO_BIN_EXE_hourly"),
        port,
        &[("JOB_BUDGET_SECS", "3600".into())],
    )
    .await;
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/api/cron/hourly"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "config", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("JOB_BUDGET_SECS"),
        "{body}"
    );
    child.kill().await.unwrap();
}

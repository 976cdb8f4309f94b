//! `GET /api/status`, `GET /api/health` and pause/resume over HTTP, against
//! history planted at fixed times.

use crate::common::*;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::PgPool;

async fn plant(
    pool: &PgPool,
    job: &str,
    status: &str,
    started: DateTime<Utc>,
    ms: i64,
    err: Option<&str>,
) {
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, status, trigger, started_at, completed_at,
                                  execution_time_ms, error_message, lease_expires_at)
         VALUES (gen_random_uuid(), $1, '/api/cron/x', $2, 'cron', $3, $3 + $4 * interval '1 ms',
                 $4, $5, $3 + interval '1 hour')",
    )
    .bind(job)
    .bind(status)
    .bind(started)
    .bind(ms)
    .bind(err)
    .execute(pool)
    .await
    .unwrap();
}

async fn get(client: &reqwest::Client, url: &str, auth: Option<&str>) -> (u16, Value) {
    let mut req = client.get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn job<'a>(body: &'a Value, job_type: &str) -> &'a Value {
    body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_type"] == job_type)
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn status_reports_runs_rates_and_health(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/status");

    assert_eq!(get(&client, &url, None).await.0, 401);
    assert_eq!(get(&client, &url, Some("Bearer nope")).await.0, 401);
    let put = client.put(&url).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 405);
    assert_eq!(put.headers()["allow"], "GET");
    assert_eq!(
        get(&client, &format!("{url}?format=xml"), Some(&bearer()))
            .await
            .0,
        400
    );

    // An empty ledger is healthy.
    let (code, text) = get(&client, &format!("{base}/api/health"), None).await;
    assert_eq!((code, text), (200, Value::String("ok\n".into())));

    let now = t0();
    let h = |hours: i64| now - Duration::hours(hours);
    plant(
        &pool,
        "hourly_metrics",
        "completed",
        h(40 * 24),
        9_000,
        None,
    )
    .await; // outside 30 days
    plant(
        &pool,
        "hourly_metrics",
        "completed",
        h(10 * 24),
        3_000,
        None,
    )
    .await; // 30-day window only
    plant(&pool, "hourly_metrics", "completed", h(5), 1_000, None).await;
    plant(&pool, "hourly_metrics", "completed", h(4), 400_000, None).await; // slow
    plant(
        &pool,
        "hourly_metrics",
        "failed",
        h(3),
        2_000,
        Some("sla_risk: <b>boom</b>"),
    )
    .await;
    plant(
        &pool,
        "hourly_metrics",
        "timeout",
        h(2),
        3_000,
        Some("lease expired"),
    )
    .await;
    sqlx::query(
        "INSERT INTO alerts (dedupe_key, source, kind, severity, title, status, raised_at, last_seen_at)
         VALUES ('k1', 'test', 'test', 'critical', 'Payments <script>x</script>', 'open', $1, $1)",
    )
    .bind(h(1))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, status,
                                    next_attempt_at, created_at)
         VALUES ('x', 'a@example.com', 'email', 's', 'b', 'n1', 'pending', $1, $1),
                ('x', 'a@example.com', 'email', 's', 'b', 'n2', 'dead', $1, $1)",
    )
    .bind(h(1))
    .execute(&pool)
    .await
    .unwrap();

    let (code, body) = get(&client, &url, Some(&bearer())).await;
    assert_eq!(code, 200, "{body}");
    let hourly = job(&body, "hourly_metrics");
    assert_eq!(hourly["route"], "/api/cron/hourly");
    assert_eq!(hourly["next_run_at"], "2026-11-24T22:00:00Z");
    assert_eq!(hourly["last_run"]["status"], "timeout");
    assert_eq!(hourly["stats_7d"]["runs"], 4);
    assert_eq!(hourly["stats_7d"]["success_rate"], 0.5);
    assert_eq!(hourly["stats_30d"]["runs"], 5);
    assert_eq!(hourly["stats_7d"]["avg_duration_ms"], 101_500.0);
    // p95 interpolates between 3 000 and 400 000 (continuous percentile).
    let p95 = hourly["stats_7d"]["p95_duration_ms"].as_f64().unwrap();
    assert!(p95 > 300_000.0 && p95 < 400_000.0, "{p95}");
    assert_eq!(hourly["consecutive_failures"], 2);
    assert_eq!(
        hourly["recent_failures"][1]["error_message"],
        "sla_risk: <b>boom</b>"
    );
    assert_eq!(hourly["slow_runs"].as_array().unwrap().len(), 1);
    assert_eq!(hourly["recent_runs"].as_array().unwrap().len(), 6);
    assert!(hourly["running_now"].is_null() && hourly["paused"].is_null());
    let weekly = job(&body, "weekly_report");
    assert_eq!(weekly["next_run_at"], "2026-11-30T09:00:00Z");
    assert!(weekly["last_run"].is_null());

    assert_eq!(body["health"]["status"], "critical");
    let reasons = body["health"]["reasons"].to_string();
    assert!(
        reasons.contains("open critical alert") && reasons.contains("dead"),
        "{reasons}"
    );
    assert_eq!(
        body["open_alerts"][0]["title"],
        "Payments <script>x</script>"
    );
    assert_eq!(body["outbox"]["depth"], 1);
    assert_eq!(body["outbox"]["dead"], 1);
    assert_eq!(body["work_queue"]["pending"], 0);

    // The verdict is kept 5 s on the app's clock: the first one still answers...
    let health = format!("{base}/api/health");
    let (code, text) = get(&client, &health, None).await;
    assert_eq!((code, text), (200, Value::String("ok\n".into())));
    // ...then the next call looks again: hourly last completed 4 h ago.
    t.clock.advance(Duration::seconds(5));
    let (code, text) = get(&client, &health, None).await;
    assert_eq!((code, text), (503, Value::String("critical\n".into())));
}

/// A bug past its SLA is the business's emergency, not the system's: the
/// status page says critical, /api/health stays 200.
#[sqlx::test(migrations = "./migrations")]
async fn business_alerts_never_make_health_503(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let client = reqwest::Client::new();
    for job in ["hourly_metrics", "daily_sync", "weekly_report"] {
        plant(
            &pool,
            job,
            "completed",
            t0() - Duration::minutes(30),
            1_000,
            None,
        )
        .await;
    }
    for (key, source, kind) in [
        ("sla", "sla_risk", "sla_breach"),
        ("rev", "revenue_at_risk", "revenue_at_risk"),
    ] {
        sqlx::query(
            "INSERT INTO alerts (dedupe_key, source, kind, severity, title, status, raised_at, last_seen_at)
             VALUES ($1, $2, $3, 'critical', 'Checkout: critical bug past its SLA', 'open', $4, $4)",
        )
        .bind(key)
        .bind(source)
        .bind(kind)
        .bind(t0() - Duration::minutes(10))
        .execute(&pool)
        .await
        .unwrap();
    }
    let (code, text) = get(&client, &format!("{base}/api/health"), None).await;
    assert_eq!((code, text), (200, Value::String("ok\n".into())));
    let (_, body) = get(&client, &format!("{base}/api/status"), Some(&bearer())).await;
    assert_eq!(body["health"]["status"], "critical", "{body}");
}

#[sqlx::test(migrations = "./migrations")]
async fn pause_and_resume_over_http(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let client = reqwest::Client::new();
    let post = |path: &str, auth: bool| {
        let mut req = client.post(format!("{base}{path}"));
        if auth {
            req = req.bearer_auth(SECRET);
        }
        async move {
            let r = req.send().await.unwrap();
            let code = r.status().as_u16();
            (code, r.json::<Value>().await.unwrap_or_default())
        }
    };
    assert_eq!(post("/api/status/jobs/hourly/pause", false).await.0, 401);
    let (code, body) = post("/api/status/jobs/monthly/pause", true).await;
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("hourly (hourly_metrics)")
    );
    let (code, body) = post("/api/status/jobs/hourly/pause", true).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["paused"].clone(), body["changed"].clone()),
        (true.into(), true.into())
    );
    let (_, body) = post("/api/status/jobs/hourly_metrics/pause", true).await;
    assert_eq!(body["changed"], false, "idempotent");
    let get_pause = client
        .get(format!("{base}/api/status/jobs/hourly/pause"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(get_pause.status().as_u16(), 405);

    let (_, status) = get(&client, &format!("{base}/api/status"), Some(&bearer())).await;
    assert_eq!(job(&status, "hourly_metrics")["paused"]["paused_by"], "api");
    let a = call(&client, &format!("{base}/api/cron/hourly"), Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "skipped_paused");

    let (_, body) = post("/api/status/jobs/hourly/resume", true).await;
    assert_eq!(
        (body["paused"].clone(), body["changed"].clone()),
        (false.into(), true.into())
    );
    let (_, body) = post("/api/status/jobs/hourly/resume", true).await;
    assert_eq!(body["changed"], false);
    let a = call(&client, &format!("{base}/api/cron/hourly"), Some(&bearer())).await;
    assert_eq!(a.body["outcome"], "completed", "{:?}", a.body);
}

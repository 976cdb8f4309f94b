//! Who may scrape `GET /api/metrics`: the bearer, or METRICS_TOKEN, which
//! opens nothing else (not the status, a run, a pause, a page, the sign-in).

use crate::common::*;
use crate::metrics::{HOURLY, TOKEN, app, scrape};
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn metrics_token_opens_the_metrics_and_nothing_else(pool: PgPool) {
    let t = app(&pool);
    let base = serve_all(t.app.clone()).await;
    let client = reqwest::Client::new();
    assert_eq!(scrape(&base, None).await.0, 401);
    assert_eq!(scrape(&base, Some("wrong-token-0123456789")).await.0, 401);
    let (code, _, text) = scrape(&base, Some(TOKEN)).await;
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("# TYPE nightshift_job_runs_24h gauge"),
        "{text}"
    );
    // An empty ledger still gives every per-job and system series a value.
    assert!(
        text.contains(&format!(
            "nightshift_job_runs_24h{{{HOURLY},outcome=\"failed\"}} 0"
        )),
        "{text}"
    );

    let with_token = |req: reqwest::RequestBuilder| req.bearer_auth(TOKEN).send();
    for (what, req) in [
        ("status", client.get(format!("{base}/api/status"))),
        (
            "dashboard",
            client.get(format!("{base}/api/status?format=html")),
        ),
        ("a run", client.post(format!("{base}/api/cron/hourly"))),
        (
            "pause",
            client.post(format!("{base}/api/status/jobs/hourly/pause")),
        ),
        (
            "report",
            client.get(format!("{base}/api/status/report/latest")),
        ),
        (
            "a run's page",
            client.get(format!(
                "{base}/api/status/runs/00000000-0000-0000-0000-000000000000"
            )),
        ),
    ] {
        let resp = with_token(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "METRICS_TOKEN opened {what}");
    }
    // Same-origin, so the form reaches the secret check (a cross-site one
    // is refused before it: tests/api/throttle.rs).
    let signin = client
        .post(format!("{base}/api/status/login"))
        .header("origin", base.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("secret", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status().as_u16(), 401, "METRICS_TOKEN signed in");
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM job_pauses").await, 0);

    let resp = client
        .post(format!("{base}/api/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "GET");
}

//! Bodies past the forms' 4 KiB limit: every route that reads a body (the
//! sign-in, the pause/resume buttons, "Run now") answers 413 before it
//! buffers more; a small body still works.

use sqlx::PgPool;

use crate::common::*;

const FORM: &str = "application/x-www-form-urlencoded";

#[sqlx::test(migrations = "./migrations")]
async fn a_form_body_past_4_kib_gets_413(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let big = format!("secret={SECRET}&pad={}", "x".repeat(5 * 1024));
    let post = |path: &str, body: String| {
        client
            .post(format!("{base}{path}"))
            .header("content-type", FORM)
            .header("authorization", bearer())
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
    };
    for path in [
        "/api/status/login",
        "/api/status/jobs/hourly/pause",
        "/api/cron/hourly",
    ] {
        let r = post(path, big.clone()).await.unwrap();
        assert_eq!(r.status(), 413, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "payload_too_large", "{path}: {body}");
    }
    // Nothing of the refused calls happened.
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM job_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(runs, 0);
    let small = post("/api/status/login", format!("secret={SECRET}"))
        .await
        .unwrap();
    assert_eq!(small.status(), 303, "a small sign-in form still works");
    let pause = post("/api/status/jobs/hourly/pause", String::new())
        .await
        .unwrap();
    assert!(
        pause.status().is_success() || pause.status() == 303,
        "{}",
        pause.status()
    );
}

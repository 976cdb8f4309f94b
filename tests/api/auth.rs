//! Who gets in, and what a refused call leaves behind: nothing.

use crate::common::*;
use nightshift_core::Config;
use sqlx::PgPool;

async fn runs(pool: &PgPool) -> i64 {
    count(pool, "SELECT count(*) FROM job_history").await
}

#[sqlx::test(migrations = "./migrations")]
async fn refused_credentials_write_nothing(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let url = format!("{base}/api/cron/hourly");
    let client = reqwest::Client::new();
    let cases: &[(Option<String>, &str)] = &[
        (None, "no header"),
        (Some(format!("Basic {SECRET}")), "wrong scheme"),
        (Some("Bearer wrong-secret".into()), "wrong secret"),
        (Some(format!("Bearer {SECRET}x")), "secret with a suffix"),
        (
            Some(format!("Bearer {}", &SECRET[..SECRET.len() - 1])),
            "secret prefix",
        ),
        (Some(format!("Bearer  {SECRET}")), "two spaces"),
        (Some(SECRET.to_string()), "secret without scheme"),
    ];
    for (auth, what) in cases {
        let a = call(&client, &url, auth.as_deref()).await;
        assert_eq!(a.status, 401, "{what}: {:?}", a.body);
        assert_eq!(a.body["error"], "unauthorized", "{what}");
        assert_eq!(a.headers["www-authenticate"], "Bearer");
    }
    assert_eq!(
        runs(&pool).await,
        0,
        "a refused call wrote a job_history row"
    );

    // The scheme is case-insensitive, and whitespace around a field value is
    // not part of it (RFC 9110); both are the right secret.
    let a = call(&client, &url, Some(&format!("bearer {SECRET}"))).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["outcome"], "completed");
    t.clock.advance(chrono::Duration::hours(1));
    let a = call(&client, &url, Some(&format!("Bearer {SECRET} "))).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(runs(&pool).await, 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn unset_or_empty_secret_fails_closed(pool: PgPool) {
    let client = reqwest::Client::new();
    for secret in [None, Some(""), Some("   \n")] {
        let mut cfg = Config::default();
        if let Some(s) = secret {
            cfg = cfg.with_secret(s);
        }
        let t = app_with(&pool, cfg, routes());
        let base = serve(t.app.clone()).await;
        for auth in [
            None,
            Some("Bearer ".to_string() + SECRET),
            Some("Bearer ".into()),
        ] {
            let a = call(&client, &format!("{base}/api/cron/daily"), auth.as_deref()).await;
            assert_eq!(a.status, 500, "secret {secret:?}, auth {auth:?}");
            assert_eq!(
                a.body["message"],
                "CRON_SECRET is not configured; refusing every call until it is set"
            );
        }
    }
    assert_eq!(runs(&pool).await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn previous_secret_works_during_rotation(pool: PgPool) {
    let mut cfg = Config::default().with_secret("new-secret-aaaaaaaaaaaa");
    cfg.cron_secret_previous = Some("old-secret-bbbbbbbbbbbb".to_string().into());
    let t = app_with(&pool, cfg, routes());
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/weekly");
    let a = call(&client, &url, Some("Bearer old-secret-bbbbbbbbbbbb")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = call(&client, &url, Some("Bearer new-secret-aaaaaaaaaaaa")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["outcome"], "skipped_duplicate", "same weekly slot");
    let a = call(&client, &url, Some("Bearer older-secret")).await;
    assert_eq!(a.status, 401);
    assert_eq!(runs(&pool).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn wrong_method_and_bad_query(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve(t.app.clone()).await;
    let client = reqwest::Client::new();
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let resp = client
            .request(method.clone(), format!("{base}/api/cron/hourly"))
            .header("authorization", bearer())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method}");
        assert_eq!(resp.headers()["allow"], "GET, POST");
    }
    let get = client
        .get(format!("{base}/api/cron/hourly?dry_run=true"))
        .header("authorization", bearer());
    assert_eq!(get.send().await.unwrap().status(), 200);

    let a = call(
        &client,
        &format!("{base}/api/cron/hourly?verbose=1"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("valid parameters: tasks, force, dry_run")
    );
    let a = call(
        &client,
        &format!("{base}/api/cron/hourly?tasks=watch_jobs,nope"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("valid tasks: watch_jobs"),
        "{:?}",
        a.body
    );
    let a = call(
        &client,
        &format!("{base}/api/cron/hourly?force=maybe"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(a.status, 400);
    // A bad query from someone without the secret is still a 401: auth first.
    let a = call(&client, &format!("{base}/api/cron/hourly?verbose=1"), None).await;
    assert_eq!(a.status, 401);
    assert_eq!(runs(&pool).await, 0);
}

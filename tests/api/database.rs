//! The database away, unconfigured, or behind on migrations: a clear 5xx that
//! never shows the URL or its password.

use crate::common::*;
use nightshift_core::{App, Config};
use sqlx::PgPool;

async fn call_app(app: App) -> Answer {
    call_once(&std::sync::Arc::new(app), "/api/cron/hourly").await
}

#[tokio::test]
async fn unreachable_database_is_503_with_retry_after() {
    let cfg = Config::from_lookup(|k| match k {
        "CRON_SECRET" => Some(SECRET.into()),
        // Nothing listens on port 1; the password must not leak.
        "DATABASE_URL" => Some("postgres://nightshift:pw-s3cr3t@127.0.0.1:1/nightshift".into()),
        _ => None,
    })
    .unwrap();
    let a = call_app(App::new(cfg, routes()).unwrap()).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert_eq!(a.headers["retry-after"], "30");
    assert_eq!(a.body["error"], "database_unavailable");
    let text = a.body.to_string();
    assert!(text.contains("database is unreachable"), "{text}");
    assert!(!text.contains("pw-s3cr3t") && !text.contains("127.0.0.1") && !text.contains(SECRET));
}

#[tokio::test]
async fn unset_database_url_is_a_named_500() {
    let a = call_app(App::new(config(), routes()).unwrap()).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.body["message"], "DATABASE_URL is not configured");
}

#[sqlx::test(migrations = false)]
async fn unmigrated_schema_says_run_migrations(pool: PgPool) {
    let t = real_app(&pool);
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.status, 503);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("run migrations"),
        "{:?}",
        a.body
    );
}

/// A statement that fails inside (not an outage) is a 500 whose answer is a
/// fixed text: the sqlx message, with the table it names, goes to the log only
/// (crates/nightshift-core/src/error.rs).
#[sqlx::test(migrations = "./migrations")]
async fn database_error_answer_carries_no_sqlx_text(pool: PgPool) {
    let t = real_app(&pool);
    sqlx::query!("DROP TABLE job_pauses")
        .execute(&pool)
        .await
        .unwrap();
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.status, 500, "{:?}", a.body);
    assert_eq!(a.body["error"], "internal");
    assert_eq!(a.body["message"], "internal error; the server log says why");
    let text = a.body.to_string();
    for sqlx_text in [
        "job_pauses",
        "relation",
        "does not exist",
        "error returned from database",
    ] {
        assert!(!text.contains(sqlx_text), "{sqlx_text:?} in {text}");
    }
}

//! The app through a real PgBouncer in transaction mode (scripts/pgbouncer,
//! Debian's 1.18: no prepared-statement tracking), as serverless deployments
//! reach Postgres. Every pool goes through it: the tasks', the ledger's, the
//! status API's. Migrations do not: `#[sqlx::test]` applies them directly,
//! as `nightshift migrate` does through DATABASE_URL_DIRECT
//! (docs/deploy/poolers.md). scripts/test starts the pooler and sets
//! NIGHTSHIFT_PGBOUNCER_URL; unset, the tests say so and pass, except under
//! CI=true where that is a failure.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use nightshift_core::retry::RetryPolicy;
use nightshift_core::{App, Config, ManualClock};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;

/// The pooler's URL with the test's own database in it (the pooler maps
/// every database name to the cluster), or None when no pooler is set up.
async fn pooled_url(pool: &PgPool) -> Option<String> {
    let base = match std::env::var("NIGHTSHIFT_PGBOUNCER_URL") {
        Ok(v) if !v.trim().is_empty() => v,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("NIGHTSHIFT_PGBOUNCER_URL is unset under CI=true: scripts/test sets it")
        }
        _ => {
            eprintln!(
                "skipped: NIGHTSHIFT_PGBOUNCER_URL is unset (scripts/test starts \
                 scripts/pgbouncer and sets it)"
            );
            return None;
        }
    };
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let (server, _) = base.rsplit_once('/').expect("the URL ends in /database");
    Some(format!("{server}/{db}"))
}

/// An app of its own (own pools, as one serverless container) whose
/// DATABASE_URL is `url`; `flag` is DATABASE_PGBOUNCER (None: auto).
fn pooled_app(url: &str, flag: Option<bool>) -> Arc<App> {
    let mut cfg: Config = config();
    cfg.database_url = Some(SecretString::from(url.to_owned()));
    cfg.db_pgbouncer = flag;
    let app = App::new(cfg, routes())
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(t0())))
        .with_retry(RetryPolicy {
            base_delay: Duration::from_millis(5),
            ..Default::default()
        });
    Arc::new(app)
}

/// Opens every connection of the app's two pools, as in a warm container:
/// the burst below is about statements through the pooler, not about 140
/// SCRAM logins at once (a debug build's sqlx computes each slowly).
async fn warm(app: &App) {
    let pool = app.db.pool().unwrap();
    let ledger = app.db.ledger().unwrap();
    let mut held = Vec::new();
    for p in [pool, ledger] {
        for _ in 0..p.options().get_max_connections() {
            held.push(p.acquire().await.unwrap());
        }
    }
}

/// The pooler keeps server connections to the test's database open after
/// the calls; end them, so `#[sqlx::test]` can drop the database.
async fn release(pool: &PgPool) {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(pool)
    .await
    .unwrap();
}

async fn completed_runs(pool: &PgPool) -> i64 {
    count(
        pool,
        "SELECT count(*) FROM job_history WHERE status = 'completed'",
    )
    .await
}

/// A little data, so the tasks read and write rows rather than nothing.
async fn seed(pool: &PgPool) {
    let owner: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, email, role) VALUES ('Olga', 'olga@example.com', 'manager') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO projects (name, owner_id, sync_enabled) VALUES ('Pooled', $1, false)")
        .bind(owner)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn all_three_routes_complete_through_the_pooler(pool: PgPool) {
    let Some(url) = pooled_url(&pool).await else {
        return;
    };
    seed(&pool).await;
    let app = pooled_app(&url, Some(true));
    let base = serve_all(app).await;
    let client = reqwest::Client::new();
    for route in ["hourly", "daily", "weekly"] {
        // Twice: the second call meets server connections the first one used.
        for _ in 0..2 {
            let a = call(
                &client,
                &format!("{base}/api/cron/{route}?force=true"),
                Some(&bearer()),
            )
            .await;
            assert_eq!(a.status, 200, "{route}: {:?}", a.body);
            assert_eq!(a.body["outcome"], "completed", "{route}: {:?}", a.body);
        }
    }
    let status = client
        .get(format!("{base}/api/status"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let body: Value = status.json().await.unwrap();
    assert_eq!(body["jobs"].as_array().map(Vec::len), Some(3), "{body}");
    assert_eq!(completed_runs(&pool).await, 6);
    release(&pool).await;
}

/// 200 calls for one slot, spread over 20 containers (20 apps, each with its
/// own pools: up to 140 client connections share the pooler's 20 servers).
#[sqlx::test(migrations = "./migrations")]
async fn two_hundred_concurrent_calls_through_the_pooler_run_the_slot_once(pool: PgPool) {
    let Some(url) = pooled_url(&pool).await else {
        return;
    };
    seed(&pool).await;
    let mut bases = Vec::new();
    for _ in 0..20 {
        let app = pooled_app(&url, Some(true));
        warm(&app).await;
        bases.push(serve(app).await);
    }
    let client = reqwest::Client::new();
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let (client, url) = (client.clone(), format!("{}/api/cron/hourly", bases[i % 20]));
            tokio::spawn(async move { call(&client, &url, Some(&bearer())).await })
        })
        .collect();
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.unwrap());
    }
    let outcome = |a: &Answer| a.body["outcome"].as_str().unwrap_or("").to_owned();
    let completed = answers.iter().filter(|a| outcome(a) == "completed").count();
    let duplicates = answers
        .iter()
        .filter(|a| a.status == 200 && outcome(a) == "skipped_duplicate")
        .count();
    let server_errors: Vec<&Value> = answers
        .iter()
        .filter(|a| a.status >= 500)
        .map(|a| &a.body)
        .collect();
    eprintln!(
        "through the pooler: {completed} completed, {duplicates} duplicates, {} 5xx",
        server_errors.len()
    );
    let runs = count(&pool, "SELECT count(*) FROM job_history").await;
    // Before the asserts, so a failure leaves no server connection behind.
    release(&pool).await;
    assert!(server_errors.is_empty(), "{server_errors:?}");
    assert_eq!((completed, duplicates, runs), (1, 199, 1));
}

#[sqlx::test(migrations = "./migrations")]
async fn pause_and_resume_work_through_the_pooler(pool: PgPool) {
    let Some(url) = pooled_url(&pool).await else {
        return;
    };
    let base = serve_all(pooled_app(&url, Some(true))).await;
    let client = reqwest::Client::new();
    let action = |what: &'static str| {
        let req = client
            .post(format!("{base}/api/status/jobs/hourly/{what}"))
            .bearer_auth(SECRET);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (code, body) = action("pause").await;
    assert_eq!(
        (code, &body["paused"], &body["changed"]),
        (200, &true.into(), &true.into())
    );
    let cron = format!("{base}/api/cron/hourly");
    let a = call(&client, &cron, Some(&bearer())).await;
    assert_eq!(
        (a.status, &a.body["outcome"]),
        (200, &"skipped_paused".into()),
        "{:?}",
        a.body
    );
    let (code, body) = action("resume").await;
    assert_eq!(
        (code, &body["paused"], &body["changed"]),
        (200, &false.into(), &true.into())
    );
    let a = call(&client, &cron, Some(&bearer())).await;
    assert_eq!(
        (a.status, &a.body["outcome"]),
        (200, &"completed".into()),
        "{:?}",
        a.body
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM job_pauses").await, 0);
    release(&pool).await;
}

/// Auto-detection (Config::pgbouncer_mode) sees `pgbouncer=true` in the URL:
/// no variable needed then.
#[sqlx::test(migrations = "./migrations")]
async fn a_url_marked_pgbouncer_true_is_detected(pool: PgPool) {
    let Some(url) = pooled_url(&pool).await else {
        return;
    };
    let a = call_once(
        &pooled_app(&format!("{url}?pgbouncer=true"), None),
        "/api/cron/hourly",
    )
    .await;
    assert_eq!(
        (a.status, &a.body["outcome"]),
        (200, &"completed".into()),
        "{:?}",
        a.body
    );
    release(&pool).await;
}

/// A self-hosted PgBouncer's plain URL (no marker, not Supabase's port 6543,
/// not a Neon `-pooler.` host) is not recognised: without DATABASE_PGBOUNCER
/// nothing runs, so the variable is needed there (docs/deploy/poolers.md).
#[sqlx::test(migrations = "./migrations")]
async fn a_plain_pooler_url_needs_the_variable(pool: PgPool) {
    let Some(url) = pooled_url(&pool).await else {
        return;
    };
    let a = call_once(&pooled_app(&url, None), "/api/cron/hourly").await;
    // PgBouncer refuses sqlx's default startup packet (extra_float_digits).
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert_eq!(a.body["error"], "database_unavailable", "{:?}", a.body);
    assert_eq!(completed_runs(&pool).await, 0);
    release(&pool).await;
}

//! Test 3 of issue 33: 5,000 wrong bearers from one address while a
//! forced daily run syncs a repository. The run completes; the flood's cost
//! in the database is counted from Postgres' own statistics on
//! `auth_throttle` (the only table a wrong secret touches) and printed.
//! Once the scope is blocked, this instance answers 429 from memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;
use crate::throttle::from;
use nightshift_testkit::Replay;
use nightshift_testkit::db::database_url;
use sqlx::{Connection, PgPool};

const REPO: &str = "octokit-fixture-org/tmp-scenario-paginate-issues-20220719043836917-izyoe";
const FLOOD: usize = 5_000;
const WORKERS: usize = 16;

/// Scans of `auth_throttle` (each statement on it makes at least one),
/// rows it wrote (inserted, updated, deleted), and the transactions
/// committed in the whole database.
async fn stats(db: impl sqlx::PgExecutor<'_>) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0),
                n_tup_ins + n_tup_upd + n_tup_del,
                (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())
           FROM pg_stat_user_tables WHERE relname = 'auth_throttle'",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_flood_of_wrong_bearers_costs_a_bounded_number_of_statements(pool: PgPool) {
    let replay = Replay::start().await;
    let exports = std::env::temp_dir().join(format!("nightshift-flood-{}", uuid::Uuid::new_v4()));
    let mut env = tasks_config();
    env.github_api_url = replay.url();
    env.github_token = Some("ghp_test".to_string().into());
    env.export_url = exports.display().to_string();
    let t = app_with(&pool, config(), routes_with(env));
    sqlx::query(
        "WITH o AS (INSERT INTO users (name, email, role)
                    VALUES ('Olga', 'olga@example.com', 'manager') RETURNING id)
         INSERT INTO projects (name, owner_id, github_repo, sync_enabled)
         SELECT 'Fixture', id, $1, true FROM o",
    )
    .bind(REPO)
    .execute(&pool)
    .await
    .unwrap();
    let url = database_url(&pool).await;
    let base = serve_all_as(t.app.clone(), true).await;
    let before = stats(&pool).await;

    // The flood: WORKERS callers on 127.0.0.2, FLOOD wrong bearers in all.
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(tokio::sync::Notify::new());
    let attacker = from(2);
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (c, base, sent, started) = (
            attacker.clone(),
            base.clone(),
            sent.clone(),
            started.clone(),
        );
        flood.spawn(async move {
            let mut statuses = Vec::new();
            while sent.fetch_add(1, Ordering::SeqCst) < FLOOD {
                let r = c
                    .get(format!("{base}/api/cron/daily"))
                    .bearer_auth("wrong-guess")
                    .send()
                    .await
                    .unwrap();
                statuses.push(r.status().as_u16());
                if statuses.len() == 10 {
                    started.notify_one();
                }
            }
            statuses
        });
    }
    // The forced daily run, once the flood is under way.
    started.notified().await;
    let at_start = sent.load(Ordering::SeqCst);
    let run = call(
        &from(1),
        &format!("{base}/api/cron/daily?force=true"),
        Some(&bearer()),
    )
    .await;
    let during = sent.load(Ordering::SeqCst).min(FLOOD);
    let mut statuses = Vec::new();
    while let Some(s) = flood.join_next().await {
        statuses.extend(s.unwrap());
    }
    assert_eq!(run.status, 200, "{:?}", run.body);
    assert_eq!(run.body["outcome"], "completed", "{:?}", run.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM bugs").await, 13);
    assert_eq!(statuses.len(), FLOOD);
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    // Four counted failures are 401s, the fifth blocks: the rest are 429.
    assert_eq!((unauthorized, refused), (4, FLOOD - 4), "{statuses:?}");

    // Every backend's statistics are written when it exits: close the
    // app's connections and wait until they are gone, then read.
    pool.close().await;
    t.app.db.ledger().unwrap().close().await;
    // One connection of our own (a pool might open a second one).
    let mut fresh = sqlx::PgConnection::connect(&url).await.unwrap();
    for _ in 0..5_000 {
        let others: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut fresh)
        .await
        .unwrap();
        if others == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut fresh)
    .await
    .unwrap();
    let who: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT application_name, state, query FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut fresh)
    .await
    .unwrap();
    assert_eq!(others, 0, "the app's connections are gone: {who:?}");
    let after = stats(&mut fresh).await;
    let (scans, writes, commits) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    println!(
        "flood of {FLOOD} wrong bearers (the daily run began after {at_start}, ended after {during}): \
         {scans} scans of auth_throttle, {writes} rows written to it; \
         {commits} transactions in the database, the daily run's included"
    );
    let counted: i64 = sqlx::query_scalar("SELECT failures FROM auth_throttle")
        .fetch_one(&mut fresh)
        .await
        .unwrap();
    assert_eq!(counted, 5, "the failures counted before the block");
    assert!(writes <= 5, "only counted failures write: {writes}");
    // Statements: the five counted, and at most one per other caller in
    // flight when the block landed (later ones are answered from memory);
    // each scans the table at most four times (the read, the prune's
    // select and delete, the upsert). Not 5,000.
    let bound = (5 + WORKERS as i64) * 4;
    assert!(
        scans <= bound,
        "{scans} scans of auth_throttle, bound {bound}"
    );
    fresh.close().await.unwrap();
    let _ = std::fs::remove_dir_all(exports);
}

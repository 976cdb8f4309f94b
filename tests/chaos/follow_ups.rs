//! Scenario 9, follow-ups (crates/nightshift-core/src/follow_up.rs, kick.rs): a slot
//! that fails transiently is retried within its period, one stopped by its
//! deadline is continued at once, a permanent cause is alerted and not
//! retried, and a missed daily slot is caught up once. Every call goes over
//! real HTTP on loopback: the heartbeat calls the routes as a platform would.
//!
//! Due times are on the database's clock, which a test cannot move: where
//! logical time passes (the ManualClock), the test also makes the pending
//! follow-up due with one UPDATE, and says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use nightshift_core::db::Db;
use nightshift_core::{App, Config, ManualClock, Route, Task, TaskContext, TaskReport};
use nightshift_tasks::TasksConfig;
use nightshift_testkit::{Canned, Replay, synthetic_issues};
use sqlx::PgPool;

use crate::common::*;

/// The whole chain answers within this; a platform's heartbeat waits 3 s.
const WAIT: Duration = Duration::from_secs(120);

async fn app_on(
    pool: &PgPool,
    cfg: Config,
    routes: Vec<Route>,
    at: chrono::DateTime<Utc>,
) -> (Arc<App>, Arc<ManualClock>, String) {
    let clock = Arc::new(ManualClock::new(at));
    let app = App::with_db(cfg, Db::from_pool(pool.clone()), routes)
        .with_clock(clock.clone())
        .with_follow_up_wait(WAIT);
    let app = Arc::new(app);
    // Routes and the status page, as `nightshift serve` has them.
    let base = serve_all(app.clone()).await;
    app.self_url.set(base.clone()).unwrap();
    (app, clock, base)
}

/// The slot's attempts, oldest first: (attempt, trigger, status, followed).
async fn attempts(pool: &PgPool, job: &str) -> Vec<(i32, String, String, bool)> {
    sqlx::query_as(
        "SELECT attempt, trigger, status, followed_by IS NOT NULL FROM job_history
          WHERE job_type = $1 AND slot IS NOT NULL ORDER BY attempt",
    )
    .bind(job)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Logical time passes by `by`; the database's clock cannot, so the pending
/// follow-up is made due now.
async fn time_passes(pool: &PgPool, clock: &ManualClock, by: chrono::Duration) {
    clock.advance(by);
    sqlx::query("UPDATE job_history SET follow_up_at = now() WHERE follow_up IS NOT NULL AND followed_by IS NULL")
        .execute(pool)
        .await
        .unwrap();
}

/// One synced project whose repository `repo` (GitHub id `id`) has `issues`
/// issues on the fake GitHub; the configuration that points at it.
async fn one_repository(
    pool: &PgPool,
    replay: &Replay,
    repo: &str,
    id: u64,
    issues: usize,
) -> TasksConfig {
    for (path, page, canned) in synthetic_issues(repo, id, issues, 100, &replay.url()) {
        replay.add(&path, Some(page), canned);
    }
    sqlx::query("INSERT INTO projects (name, github_repo, sync_enabled) VALUES ($1, $1, true)")
        .bind(repo)
        .execute(pool)
        .await
        .unwrap();
    let mut env = tasks_config();
    env.github_api_url = replay.url();
    env.github_token = Some("ghp_test".to_string().into());
    env
}

#[sqlx::test(migrations = "./migrations")]
async fn github_failing_for_twenty_minutes_at_the_daily_slot_is_healed_the_same_day(pool: PgPool) {
    let replay = Replay::start().await;
    let env = one_repository(&pool, &replay, "acme/flaky", 7001, 150).await;
    for path in ["/repos/acme/flaky/issues", "/repositories/7001/issues"] {
        replay.script(path, Canned::raw(500, "oops"), None);
    }
    let slot = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
    let (app, clock, base) = app_on(
        &pool,
        config(),
        routes_with(env),
        slot + chrono::Duration::seconds(20),
    )
    .await;

    let first = call(
        &reqwest::Client::new(),
        &format!("{base}/api/cron/daily"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(first.body["outcome"], "completed", "{}", first.body);
    assert_eq!(first.body["attempt"], 1);
    assert_eq!(first.body["follow_up"]["kind"], "retry", "{}", first.body);
    assert_eq!(first.body["follow_up"]["after_ms"], 300_000);
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM follow_up_at - now())::float8 FROM job_history WHERE follow_up = 'retry'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (240.0..=300.0).contains(&wait),
        "the first retry is due in about 5 minutes, not {wait} s"
    );
    assert!(
        nightshift_core::kick::kick(&app).await.is_empty(),
        "nothing is due yet"
    );

    // 02:05: GitHub still fails; the retry asks for another, 15 minutes on.
    time_passes(&pool, &clock, chrono::Duration::minutes(5)).await;
    let kicked = nightshift_core::kick::kick(&app).await;
    assert_eq!(kicked.len(), 1, "{kicked:?}");
    assert_eq!(kicked[0].answer, Some((200, "completed".into())));
    let second: serde_json::Value =
        sqlx::query_scalar("SELECT result FROM job_history WHERE attempt = 2")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(second["follow_up"]["after_ms"], 900_000, "{second}");

    // 02:20: GitHub answers again; the third attempt syncs the repository.
    replay.clear_scripts();
    time_passes(&pool, &clock, chrono::Duration::minutes(15)).await;
    let kicked = nightshift_core::kick::kick(&app).await;
    assert_eq!(kicked.len(), 1, "{kicked:?}");
    let runs = attempts(&pool, "daily_sync").await;
    let shape: Vec<(i32, &str, &str, bool)> = runs
        .iter()
        .map(|(a, t, s, f)| (*a, t.as_str(), s.as_str(), *f))
        .collect();
    assert_eq!(
        shape,
        vec![
            (1, "manual", "completed", true),
            (2, "retry", "completed", true),
            (3, "retry", "completed", false)
        ]
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM projects WHERE sync_error IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT count(DISTINCT external_number) FROM bugs").await,
        count(&pool, "SELECT count(*) FROM bugs").await
    );
    assert!(
        replay.fetched_twice().is_empty(),
        "{:?}",
        replay.fetched_twice()
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history WHERE follow_up IS NOT NULL AND followed_by IS NULL"
        )
        .await,
        0
    );
    assert!(nightshift_core::kick::kick(&app).await.is_empty());
    // A late duplicate of the platform's delivery still runs nothing.
    let dup = call(
        &reqwest::Client::new(),
        &format!("{base}/api/cron/daily"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(dup.body["outcome"], "skipped_duplicate", "{}", dup.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_permanent_cause_is_alerted_and_not_retried(pool: PgPool) {
    let replay = Replay::start().await;
    let env = one_repository(&pool, &replay, "acme/locked", 7002, 10).await;
    replay.script(
        "/repos/acme/locked/issues",
        Canned::json(401, serde_json::json!({"message": "Bad credentials"})),
        None,
    );
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 10).unwrap();
    let (_app, _clock, base) = app_on(&pool, config(), routes_with(env), at).await;
    let answer = call(
        &reqwest::Client::new(),
        &format!("{base}/api/cron/daily"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(answer.body["outcome"], "failed", "{}", answer.body);
    assert!(answer.body.get("follow_up").is_none(), "{}", answer.body);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history WHERE follow_up IS NOT NULL"
        )
        .await,
        0
    );
    let alert: (String, String) = sqlx::query_as("SELECT severity, title FROM alerts WHERE dedupe_key = 'ledger:slot_not_healed:daily_sync' AND status = 'open'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(alert.0, "critical");
    assert!(alert.1.contains("permanent"), "{}", alert.1);
}

/// One unit of work per run, stopped by its "deadline" until none is left.
struct Chunks(Arc<AtomicU32>);

#[async_trait::async_trait]
impl Task for Chunks {
    fn name(&self) -> &'static str {
        "chunks"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        let left = self.0.fetch_sub(1, Ordering::SeqCst) - 1;
        Ok(TaskReport {
            records_processed: 1,
            more_work: left > 0,
            out_of_time: left > 0,
            ..TaskReport::default()
        })
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_run_stopped_by_its_deadline_is_continued_until_done(pool: PgPool) {
    let left = Arc::new(AtomicU32::new(4));
    let spec = nightshift_tasks::specs().remove(0);
    let routes = vec![Route {
        spec,
        tasks: vec![Arc::new(Chunks(left.clone()))],
    }];
    let (_app, _clock, base) = app_on(&pool, config(), routes, t0()).await;
    let first = call(
        &reqwest::Client::new(),
        &format!("{base}/api/cron/hourly"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(
        first.body["follow_up"]["kind"], "continuation",
        "{}",
        first.body
    );
    assert_eq!(first.body["follow_up"]["after_ms"], 0);
    // The heartbeat at the end of each run started the next one, and waited.
    assert_eq!(left.load(Ordering::SeqCst), 0);
    let runs = attempts(&pool, "hourly_metrics").await;
    let triggers: Vec<&str> = runs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        triggers,
        ["manual", "continuation", "continuation", "continuation"]
    );
    assert!(runs.iter().all(|r| r.2 == "completed"));
    assert_eq!(
        runs.iter().filter(|r| !r.3).count(),
        1,
        "only the last attempt stands for the slot"
    );
    let status: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/status"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recent = status["jobs"][0]["recent_runs"]
        .as_array()
        .unwrap_or_else(|| panic!("{status}"))
        .clone();
    assert!(
        recent
            .iter()
            .any(|r| r["attempt"] == 4 && r["trigger"] == "continuation"),
        "{recent:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_missed_daily_slot_is_caught_up_once_and_a_missed_hour_is_not(pool: PgPool) {
    // The deployment was alive the day before.
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, started_at, completed_at)
         VALUES (gen_random_uuid(), 'hourly_metrics', '/api/cron/hourly', '2026-11-24T02:00:00Z',
                 'completed', 'cron', '2026-11-24T02:00:00Z', '2026-11-24T02:00:05Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    // 03:30: the 02:00 daily delivery never came, nor the 03:00 hourly one.
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 3, 30, 0).unwrap();
    let (app, _clock, _base) = app_on(&pool, config(), routes(), at).await;
    let kicked = nightshift_core::kick::kick(&app).await;
    assert_eq!(kicked.len(), 1, "{kicked:?}");
    assert_eq!(kicked[0].route, "/api/cron/daily");
    assert_eq!(
        kicked[0].answer,
        Some((200, "completed".into())),
        "{kicked:?}"
    );
    let caught: (String, chrono::DateTime<Utc>) =
        sqlx::query_as("SELECT trigger, slot FROM job_history WHERE job_type = 'daily_sync'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        caught,
        (
            "catch_up".into(),
            Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
        )
    );
    assert!(
        nightshift_core::kick::kick(&app).await.is_empty(),
        "caught up once"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_catch_up_refused_as_busy_is_asked_once_per_heartbeat(pool: PgPool) {
    // Alive the day before, and a forced daily run (no slot) under way now.
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, started_at, completed_at, lease_expires_at)
         VALUES (gen_random_uuid(), 'hourly_metrics', '/api/cron/hourly', '2026-11-24T02:00:00Z',
                 'completed', 'cron', '2026-11-24T02:00:00Z', '2026-11-24T02:00:05Z', NULL),
                (gen_random_uuid(), 'daily_sync', '/api/cron/daily', NULL, 'running', 'manual',
                 '2026-11-25T03:20:00Z', NULL, now() + interval '10 minutes')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 3, 30, 0).unwrap();
    let (app, _clock, _base) = app_on(&pool, config(), routes(), at).await;
    // The busy answer does not beat again (it would call itself until the
    // forced run ended; the heartbeat's wait here is 120 s).
    let kicked = nightshift_core::kick::kick(&app).await;
    assert_eq!(kicked.len(), 1, "{kicked:?}");
    assert_eq!(kicked[0].answer, Some((409, "skipped_running".into())));
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history WHERE job_type = 'daily_sync'"
        )
        .await,
        1
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_swept_run_asks_for_its_retry_at_once(pool: PgPool) {
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, max_attempts, started_at, lease_expires_at)
         VALUES (gen_random_uuid(), 'daily_sync', '/api/cron/daily', '2026-11-24T02:00:00Z', 'running', 'cron', 3,
                 '2026-11-24T02:00:00Z', now() - interval '1 second')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let swept = nightshift_core::ledger::sweep(&pool, t0()).await.unwrap();
    assert_eq!(swept.len(), 1);
    let due: bool =
        sqlx::query_scalar("SELECT follow_up = 'retry' AND follow_up_at <= now() FROM job_history")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(due);
}

//! The local scheduler of `nightshift serve`: a per-minute cron on a clock
//! that runs 20 times faster than the wall clock fires exactly once per
//! minute through HTTP and the ledger; a shutdown lets a running job finish,
//! or marks it failed (`shutdown`) when the grace period ends first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use chrono::{DateTime, Utc};
use nightshift_core::{Clock, Route, Schedule, Task, TaskContext, TaskReport};
use nightshift_http::ServeOptions;
use sqlx::PgPool;
use tokio::sync::oneshot;

/// Fast enough for a quick test, slow enough that a call under a loaded
/// machine still lands in the minute it was fired for (3 s of wall clock).
const SPEED: f64 = 20.0;

/// Virtual time that runs SPEED times faster than the wall clock.
struct FastClock {
    start: DateTime<Utc>,
    real: Instant,
}

impl Clock for FastClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.real.elapsed().mul_f64(SPEED);
        self.start + chrono::Duration::from_std(real).unwrap()
    }
}

struct Slow(Duration);

#[async_trait::async_trait]
impl Task for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        tokio::time::sleep(self.0).await; // stands for work, not for synchronisation
        Ok(TaskReport::default())
    }
}

fn route(cron: &str, task: Arc<dyn Task>) -> Vec<Route> {
    let mut spec = nightshift_tasks::specs().remove(0);
    spec.schedule = Schedule::parse(cron).unwrap();
    vec![Route {
        spec,
        tasks: vec![task],
    }]
}

pub(crate) async fn start(
    app: Arc<nightshift_core::App>,
    opts: ServeOptions,
) -> (
    String,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(nightshift_http::serve_until(
        app,
        std::sync::Arc::new(tasks_config()),
        listener,
        opts,
        async move {
            let _ = rx.await;
        },
    ));
    (base, tx, server)
}

/// `nightshift serve` with its scheduler on, over `routes`, on a clock
/// SPEED times the wall clock from `start_at`, with a 5 s budget.
async fn serve_fast(
    pool: &PgPool,
    start_at: DateTime<Utc>,
    routes: Vec<Route>,
) -> (
    Arc<FastClock>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let clock = Arc::new(FastClock {
        start: start_at,
        real: Instant::now(),
    });
    let mut cfg = config();
    cfg.job_budget = Some(Duration::from_secs(5));
    let t = app_with(pool, cfg, routes);
    let app = Arc::new(Arc::into_inner(t.app).unwrap().with_clock(clock.clone()));
    let opts = ServeOptions {
        schedule: true,
        speed: SPEED,
        grace: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let (_base, stop, server) = start(app, opts).await;
    (clock, stop, server)
}

async fn stop_and_wait(
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
) {
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

async fn wait_for(pool: &PgPool, sql: &'static str, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if count(pool, sql).await >= want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {sql} >= {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn fires_once_per_minute_and_stops_cleanly(pool: PgPool) {
    // 6 virtual seconds (0.3 s) before the first minute boundary.
    let start_at = "2026-11-24T21:17:54Z".parse::<DateTime<Utc>>().unwrap();
    let (clock, stop, server) =
        serve_fast(&pool, start_at, route("* * * * *", Arc::new(Fine("fine")))).await;
    wait_for(&pool, "SELECT count(*) FROM job_history", 2).await;
    let stopped_at = clock.now();
    stop_and_wait(stop, server).await;

    let runs: Vec<(DateTime<Utc>, String, String)> =
        sqlx::query_as("SELECT slot, status, trigger FROM job_history ORDER BY slot")
            .fetch_all(&pool)
            .await
            .unwrap();
    let boundaries = Schedule::parse("* * * * *")
        .unwrap()
        .slots_between(start_at, stopped_at, 100);
    // Each minute boundary fired once; one due at the very moment of the stop
    // may or may not have gone out before it.
    assert!(
        runs.len() == boundaries.len() || runs.len() + 1 == boundaries.len(),
        "{} runs for {} boundaries: {runs:?}",
        runs.len(),
        boundaries.len()
    );
    for (i, (slot, status, trigger)) in runs.iter().enumerate() {
        assert_eq!(*slot, boundaries[i], "one run per minute, in order");
        assert_eq!((status.as_str(), trigger.as_str()), ("completed", "cron"));
    }
    // Nothing fires after the stop.
    assert_eq!(
        count(&pool, "SELECT count(*) FROM job_history").await,
        runs.len() as i64
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn fires_on_the_schedule_s_own_wall_clock(pool: PgPool) {
    // On the hour in Kolkata (UTC+05:30) is half past in UTC: from 21:29:54
    // UTC the first firing is 21:30 UTC (03:00 IST), not 22:00.
    let start_at = "2026-11-24T21:29:54Z".parse::<DateTime<Utc>>().unwrap();
    let mut routes = route("0 * * * *", Arc::new(Fine("fine")));
    routes[0].spec.schedule = Schedule::parse_in("0 * * * *", chrono_tz::Asia::Kolkata).unwrap();
    let (_clock, stop, server) = serve_fast(&pool, start_at, routes).await;
    wait_for(&pool, "SELECT count(*) FROM job_history", 1).await;
    stop_and_wait(stop, server).await;
    let slot: DateTime<Utc> = sqlx::query_scalar("SELECT slot FROM job_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        slot,
        "2026-11-24T21:30:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn shutdown_waits_for_a_run_or_marks_it_failed(pool: PgPool) {
    let client = reqwest::Client::new();
    // A run that ends within the grace period finishes normally.
    let t = custom_app(
        &pool,
        vec![Arc::new(Slow(Duration::from_millis(600)))],
        Duration::from_secs(10),
    );
    let opts = ServeOptions {
        schedule: false,
        speed: 1.0,
        grace: Some(Duration::from_secs(20)),
        ..Default::default()
    };
    let (base, stop, server) = start(t.app.clone(), opts).await;
    let url = format!("{base}/api/cron/hourly");
    let first = tokio::spawn({
        let client = client.clone();
        async move { call(&client, &url, Some(&bearer())).await }
    });
    wait_for(
        &pool,
        "SELECT count(*) FROM job_history WHERE status = 'running'",
        1,
    )
    .await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert_eq!(first.await.unwrap().body["outcome"], "completed");

    // A run that outlasts the grace period is recorded failed: shutdown.
    let t = custom_app(&pool, vec![Arc::new(Hangs)], Duration::from_secs(60));
    t.clock.advance(chrono::Duration::hours(1));
    let opts = ServeOptions {
        schedule: false,
        speed: 1.0,
        grace: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let (base, stop, server) = start(t.app.clone(), opts).await;
    let url = format!("{base}/api/cron/hourly");
    let _call = tokio::spawn(async move { call(&client, &url, Some(&bearer())).await });
    wait_for(
        &pool,
        "SELECT count(*) FROM job_history WHERE status = 'running'",
        1,
    )
    .await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let (status, error): (String, String) = sqlx::query_as(
        "SELECT status, error_message FROM job_history ORDER BY started_at DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "failed");
    assert!(error.starts_with("shutdown"), "{error}");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM sync_events WHERE event_type = 'run_abandoned'"
        )
        .await,
        1
    );
}

/// Fails transiently for its first three calls (one run's task-level
/// attempts), then works: a GitHub that comes back.
struct FailsAtFirst(std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl Task for FailsAtFirst {
    fn name(&self) -> &'static str {
        "fails_at_first"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 3 {
            return Err(anyhow::Error::new(nightshift_core::Transient(
                anyhow::anyhow!("upstream answered 502"),
            )));
        }
        Ok(TaskReport::default())
    }
}

/// The back-off a test can wait out on the database's clock.
static ONE_SECOND: [Duration; 1] = [Duration::from_secs(1)];

#[sqlx::test(migrations = "./migrations")]
async fn serve_starts_a_due_retry_at_its_minute_heartbeat(pool: PgPool) {
    // 3 virtual seconds before the hour; a virtual minute is 3 s of wall clock.
    let start_at = "2026-11-24T21:59:57Z".parse::<DateTime<Utc>>().unwrap();
    let mut routes = route("0 * * * *", Arc::new(FailsAtFirst(Default::default())));
    routes[0].spec.slots = nightshift_core::follow_up::SlotPolicy {
        max_attempts: 3,
        retry_delays: &ONE_SECOND,
        missed: nightshift_core::follow_up::Missed::Skip,
    };
    let (_clock, stop, server) = serve_fast(&pool, start_at, routes).await;
    wait_for(
        &pool,
        "SELECT count(*) FROM job_history WHERE trigger = 'retry' AND status <> 'running'",
        1,
    )
    .await;
    stop_and_wait(stop, server).await;
    let runs: Vec<(i32, String, String, DateTime<Utc>)> =
        sqlx::query_as("SELECT attempt, trigger, status, slot FROM job_history ORDER BY attempt")
            .fetch_all(&pool)
            .await
            .unwrap();
    let slot = "2026-11-24T22:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        runs,
        vec![
            (1, "cron".into(), "failed".into(), slot),
            (2, "retry".into(), "completed".into(), slot)
        ]
    );
}

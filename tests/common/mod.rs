//! Shared test plumbing: an app over the test's own database, a real HTTP
//! server on loopback, and a few tasks that misbehave on purpose.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use nightshift_core::db::Db;
use nightshift_core::retry::RetryPolicy;
use nightshift_core::{App, Config, ManualClock, Route, Task, TaskContext, TaskReport, Transient};
use nightshift_tasks::TasksConfig;
use serde_json::Value;
use sqlx::PgPool;

pub const SECRET: &str = "test-secret-0123456789abcdefghijklmnopqrstuv";

/// Tuesday 2026-11-24 21:17:05 UTC: hourly slot 21:00, daily slot 02:00.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 21, 17, 5).unwrap()
}

pub fn config() -> Config {
    Config::default().with_secret(SECRET)
}

/// The tasks' settings of the tests: exports land in a temporary folder,
/// not in the checkout.
pub fn tasks_config() -> TasksConfig {
    TasksConfig {
        export_url: std::env::temp_dir()
            .join("nightshift-test-exports")
            .display()
            .to_string(),
        ..TasksConfig::default()
    }
}

/// The real registry's routes, their tasks bound to `env`.
pub fn routes_with(env: TasksConfig) -> Vec<Route> {
    nightshift_tasks::routes(Arc::new(env))
}

/// The real registry's routes with the tests' settings.
pub fn routes() -> Vec<Route> {
    routes_with(tasks_config())
}

pub struct TestApp {
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub pool: PgPool,
}

pub fn app_with(pool: &PgPool, cfg: Config, routes: Vec<Route>) -> TestApp {
    let clock = Arc::new(ManualClock::new(t0()));
    let app = App::with_db(cfg, Db::from_pool(pool.clone()), routes)
        .with_clock(clock.clone())
        .with_retry(RetryPolicy {
            base_delay: Duration::from_millis(5),
            ..Default::default()
        });
    TestApp {
        app: Arc::new(app),
        clock,
        pool: pool.clone(),
    }
}

/// The real registry: the routes as deployed.
pub fn real_app(pool: &PgPool) -> TestApp {
    app_with(pool, config(), routes())
}

/// The hourly route's spec with a custom task list and a short budget.
pub fn custom_app(pool: &PgPool, tasks: Vec<Arc<dyn Task>>, budget: Duration) -> TestApp {
    let spec = nightshift_tasks::specs().remove(0);
    let mut cfg = config();
    cfg.job_budget = Some(budget);
    app_with(pool, cfg, vec![Route { spec, tasks }])
}

pub async fn serve(app: Arc<App>) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, nightshift_core::all_routes_router(app))
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// The cron routes and the status endpoints on one port, as `nightshift serve`.
pub async fn serve_all(app: Arc<App>) -> String {
    serve_all_as(app, false).await
}

/// As `serve_all`; with `peers`, each call's TCP peer is its client address
/// (axum's ConnectInfo), as `nightshift serve` has it: the throttle tests.
pub async fn serve_all_as(app: Arc<App>, peers: bool) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let router = nightshift_core::all_routes_router(app.clone())
        .merge(nightshift_status::router(app, Arc::new(tasks_config())));
    if peers {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    } else {
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    }
    format!("http://{addr}")
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

pub async fn call(client: &reqwest::Client, url: &str, auth: Option<&str>) -> Answer {
    let mut req = client.post(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

/// Serves `app` on loopback and makes one authenticated call to `path`.
pub async fn call_once(app: &Arc<App>, path: &str) -> Answer {
    let base = serve(app.clone()).await;
    call(
        &reqwest::Client::new(),
        &format!("{base}{path}"),
        Some(&bearer()),
    )
    .await
}

pub fn bearer() -> String {
    format!("Bearer {SECRET}")
}

pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Tasks that misbehave on purpose.
pub struct Fine(pub &'static str);
pub struct Panics;
pub struct Hangs;
pub struct Permanent(pub AtomicU32);
pub struct FlakyOnce(pub AtomicU32);
pub struct Batches;

#[async_trait::async_trait]
impl Task for Fine {
    fn name(&self) -> &'static str {
        self.0
    }
    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM job_history")
            .fetch_one(&ctx.pool)
            .await?;
        Ok(TaskReport {
            records_processed: n,
            ..Default::default()
        })
    }
}

#[async_trait::async_trait]
impl Task for Panics {
    fn name(&self) -> &'static str {
        "panics"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        panic!("boom in a task")
    }
}

#[async_trait::async_trait]
impl Task for Hangs {
    fn name(&self) -> &'static str {
        "hangs"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        std::future::pending().await
    }
}

#[async_trait::async_trait]
impl Task for Permanent {
    fn name(&self) -> &'static str {
        "permanent"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        self.0.fetch_add(1, Ordering::SeqCst);
        anyhow::bail!("row 17 has no project: bad data")
    }
}

#[async_trait::async_trait]
impl Task for FlakyOnce {
    fn name(&self) -> &'static str {
        "flaky"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Transient(anyhow::anyhow!("502 from upstream")).into());
        }
        Ok(TaskReport {
            records_processed: 1,
            ..Default::default()
        })
    }
}

/// Works in small batches until its deadline, then says there is more.
#[async_trait::async_trait]
impl Task for Batches {
    fn name(&self) -> &'static str {
        "batches"
    }
    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        let mut done = 0;
        while ctx.has_time_for(Duration::from_millis(20)) {
            sqlx::query("SELECT pg_sleep(0.005)")
                .execute(&ctx.pool)
                .await?;
            done += 1;
        }
        Ok(TaskReport {
            records_processed: done,
            more_work: true,
            ..Default::default()
        })
    }
}

// Each test binary includes this module and uses only part of it.
#[allow(unused_imports)]
pub use nightshift_testkit::free_port;

/// Starts a route binary the way Vercel's dev runtime does (VERCEL_DEV_PORT,
/// a clean environment plus `env`) and returns once it listens. The child is
/// killed when dropped.
pub async fn spawn_route(bin: &str, port: u16, env: &[(&str, String)]) -> tokio::process::Child {
    spawn_route_with(bin, port, env, std::process::Stdio::inherit()).await
}

/// As `spawn_route`, with stderr (the log) piped for the test to read.
pub async fn spawn_route_logged(
    bin: &str,
    port: u16,
    env: &[(&str, String)],
) -> tokio::process::Child {
    spawn_route_with(bin, port, env, std::process::Stdio::piped()).await
}

async fn spawn_route_with(
    bin: &str,
    port: u16,
    env: &[(&str, String)],
    stderr: std::process::Stdio,
) -> tokio::process::Child {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut cmd = tokio::process::Command::new(bin);
    cmd.env_clear()
        .stderr(stderr)
        .env("VERCEL_DEV_PORT", port.to_string())
        .env("CRON_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("route binary starts");
    // The runtime prints this line once it is listening.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("binary exited before listening");
        if line.contains(&format!("listening: {port}")) {
            break;
        }
    }
    // Keep reading, so a later line on stdout never meets a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

//! HEALTHCHECK_URL: a monitor on loopback records the pings of real runs; a
//! monitor that is down or broken never fails a run.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use axum::extract::Request;
use http::StatusCode;
use secrecy::SecretString;
use sqlx::PgPool;

#[derive(Clone, Debug)]
struct Ping {
    path: String,
    query: String,
    body: String,
}

/// A Healthchecks-like server that answers `status` and remembers each ping.
async fn monitor(status: StatusCode) -> (String, Arc<Mutex<Vec<Ping>>>) {
    let pings = Arc::new(Mutex::new(Vec::new()));
    let seen = pings.clone();
    let router = axum::Router::new().fallback(move |req: Request| {
        let seen = seen.clone();
        async move {
            let path = req.uri().path().to_owned();
            let query = req.uri().query().unwrap_or("").to_owned();
            let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            let body = String::from_utf8_lossy(&bytes).into_owned();
            seen.lock().unwrap().push(Ping { path, query, body });
            status
        }
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/ping/abc-123"), pings)
}

fn with_monitor(t: &mut TestApp, url: &str) {
    let app = Arc::get_mut(&mut t.app).expect("app not shared yet");
    let mut cfg = (*app.cfg).clone();
    cfg.healthchecks.shared = Some(SecretString::from(url.to_owned()));
    app.cfg = Arc::new(cfg);
}

#[sqlx::test(migrations = "./migrations")]
async fn runs_ping_start_and_success_or_fail(pool: PgPool) {
    let (url, pings) = monitor(StatusCode::OK).await;
    let mut t = custom_app(&pool, vec![Arc::new(Fine("fine"))], Duration::from_secs(5));
    with_monitor(&mut t, &url);
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.body["outcome"], "completed");
    let run_id = a.body["run_id"].as_str().unwrap().to_owned();
    let seen = pings.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].path, "/ping/abc-123/start");
    assert_eq!(seen[1].path, "/ping/abc-123");
    assert!(seen.iter().all(|p| p.query == format!("rid={run_id}")));
    let summary: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(summary["outcome"], "completed");
    assert_eq!(summary["job_type"], "hourly_metrics");

    let (url, pings) = monitor(StatusCode::OK).await;
    let mut t = custom_app(
        &pool,
        vec![Arc::new(Permanent(AtomicU32::new(0)))],
        Duration::from_secs(5),
    );
    with_monitor(&mut t, &url);
    t.clock.advance(chrono::Duration::hours(1));
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.body["outcome"], "failed");
    let seen = pings.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
        ["/ping/abc-123/start", "/ping/abc-123/fail"]
    );
    assert!(
        seen[1].body.contains("\"outcome\":\"failed\""),
        "{}",
        seen[1].body
    );

    // A skipped call is not a run: no ping.
    nightshift_core::pause::pause(&pool, "hourly_metrics", "test", None, t0())
        .await
        .unwrap();
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.body["outcome"], "skipped_paused");
    assert_eq!(pings.lock().unwrap().len(), 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_broken_monitor_never_fails_a_run(pool: PgPool) {
    let (url, pings) = monitor(StatusCode::INTERNAL_SERVER_ERROR).await;
    let mut t = custom_app(&pool, vec![Arc::new(Fine("fine"))], Duration::from_secs(5));
    with_monitor(&mut t, &url);
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(
        (a.status, a.body["outcome"].as_str()),
        (200, Some("completed"))
    );
    assert_eq!(pings.lock().unwrap().len(), 2);

    // Nothing listens on the port any more.
    let closed = format!("127.0.0.1:{}", free_port());
    let mut t = custom_app(&pool, vec![Arc::new(Fine("fine"))], Duration::from_secs(5));
    with_monitor(&mut t, &format!("http://{closed}/ping/x"));
    t.clock.advance(chrono::Duration::hours(1));
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(
        (a.status, a.body["outcome"].as_str()),
        (200, Some("completed"))
    );
}

/// Every route with a task that only reads the ledger, configured through
/// the settings path every variable takes.
fn routes_pinging(pool: &PgPool, vars: &[(&str, String)]) -> TestApp {
    let routes = nightshift_tasks::specs()
        .into_iter()
        .map(|spec| nightshift_core::Route {
            spec,
            tasks: vec![Arc::new(Fine("fine"))],
        })
        .collect();
    let cfg = nightshift_core::Config::from_lookup(|k| {
        if k == "CRON_SECRET" {
            return Some(SECRET.to_owned());
        }
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
    .unwrap();
    app_with(pool, cfg, routes)
}

async fn pinged(t: &TestApp, route: &str, pings: &Mutex<Vec<Ping>>) -> Vec<(String, String)> {
    pings.lock().unwrap().clear();
    let a = call_once(&t.app, route).await;
    assert_eq!(a.body["outcome"], "completed", "{}", a.body);
    let run = a.body["run_id"].as_str().unwrap().to_owned();
    pings
        .lock()
        .unwrap()
        .iter()
        .map(|p| (p.path.clone(), p.query.replace(&run, "RUN")))
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn each_route_pings_its_own_check_or_one_its_ping_key_creates(pool: PgPool) {
    let (url, pings) = monitor(StatusCode::OK).await;
    let root = url.trim_end_matches("/ping/abc-123").to_owned();
    let rid = || "rid=RUN".to_owned();
    // The daily route's own check; the others keep the shared one.
    let t = routes_pinging(
        &pool,
        &[
            ("HEALTHCHECK_URL", format!("{root}/ping/shared")),
            ("HEALTHCHECK_URL_DAILY", format!("{root}/ping/daily")),
        ],
    );
    assert_eq!(
        pinged(&t, "/api/cron/daily", &pings).await,
        [
            ("/ping/daily/start".into(), rid()),
            ("/ping/daily".into(), rid())
        ]
    );
    assert_eq!(
        pinged(&t, "/api/cron/hourly", &pings).await,
        [
            ("/ping/shared/start".into(), rid()),
            ("/ping/shared".into(), rid())
        ]
    );
    // A ping key: a check per route by slug, created on its first ping;
    // a route's own URL still comes first.
    let t = routes_pinging(
        &pool,
        &[
            ("HEALTHCHECK_PING_KEY", "pk-4n9Qx".into()),
            ("HEALTHCHECK_PING_URL", format!("{root}/hc")),
            ("HEALTHCHECK_URL_WEEKLY", format!("{root}/ping/weekly")),
        ],
    );
    t.clock.advance(chrono::Duration::days(1));
    let created = || "rid=RUN&create=1".to_owned();
    assert_eq!(
        pinged(&t, "/api/cron/daily", &pings).await,
        [
            ("/hc/pk-4n9Qx/nightshift-daily/start".into(), created()),
            ("/hc/pk-4n9Qx/nightshift-daily".into(), created())
        ]
    );
    assert_eq!(
        pinged(&t, "/api/cron/weekly", &pings).await,
        [
            ("/ping/weekly/start".into(), rid()),
            ("/ping/weekly".into(), rid())
        ]
    );
}

/// Says how much time its context had left when it started.
struct TimeLeft;

#[async_trait::async_trait]
impl nightshift_core::Task for TimeLeft {
    fn name(&self) -> &'static str {
        "time_left"
    }
    async fn run(
        &self,
        ctx: &nightshift_core::TaskContext,
    ) -> anyhow::Result<nightshift_core::TaskReport> {
        Ok(nightshift_core::TaskReport {
            details: serde_json::json!({ "left_ms": ctx.time_left().as_millis() as u64 }),
            ..Default::default()
        })
    }
}

/// The budget runs from the request's arrival: a monitor that takes 1.5 s to
/// take the start ping costs the run 1.5 s of its 3 s, not nothing.
#[sqlx::test(migrations = "./migrations")]
async fn the_budget_counts_from_the_requests_arrival(pool: PgPool) {
    let router = axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_millis(1500)).await; // a slow monitor
        StatusCode::OK
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}/ping/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let mut t = custom_app(&pool, vec![Arc::new(TimeLeft)], Duration::from_secs(3));
    with_monitor(&mut t, &url);
    let a = call_once(&t.app, "/api/cron/hourly").await;
    assert_eq!(a.body["outcome"], "completed", "{}", a.body);
    let left = a.body["tasks"][0]["details"]["left_ms"].as_u64().unwrap();
    assert!(left < 1500, "the task still had {left} ms of a 3 s budget");
    assert!(
        a.body["duration_ms"].as_u64().unwrap() >= 1500,
        "{}",
        a.body
    );
}

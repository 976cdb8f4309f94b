//! A weekly run claims outbox rows 11 minutes into its budget, and its send
//! hangs at the provider; an hourly run starts meanwhile. The claim's lease
//! is decided on the database's clock from the moment of the claim
//! (docs/architecture.md §3), not from the weekly run's start, so the hourly
//! run leaves the row alone: one request reaches the provider, once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use nightshift_core::clock::RunClock;
use tokio::sync::Notify;

use super::*;

/// A Slack webhook that holds its first request until the gate opens.
struct Hook {
    hits: AtomicUsize,
    gate: Notify,
}

async fn hook(State(h): State<Arc<Hook>>) -> &'static str {
    if h.hits.fetch_add(1, Ordering::SeqCst) == 0 {
        h.gate.notified().await;
    }
    "ok"
}

async fn gated_hook() -> (Arc<Hook>, String) {
    let h = Arc::new(Hook {
        hits: AtomicUsize::new(0),
        gate: Notify::new(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/services/T0/B0/late",
        listener.local_addr().unwrap()
    );
    let app = axum::Router::new()
        .fallback(axum::routing::post(hook))
        .with_state(h.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (h, url)
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_late_weekly_claim_is_not_sent_again_by_an_hourly_run(pool: PgPool) {
    let (hook, url) = gated_hook().await;
    let cfg = slack(url);
    enqueue(&pool, "late-claim", "slack", "slack").await;

    // The weekly run started at t0 and is 11 minutes into its budget.
    let mut weekly = ctx_with_cfg(&pool, t0(), cfg.clone());
    let eleven = std::time::Duration::from_secs(11 * 60);
    weekly.clock = RunClock::new(t0(), tokio::time::Instant::now() - eleven);
    let weekly = tokio::spawn(async move { DeliverNotifications.run(&weekly).await });
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while hook.hits.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < end,
            "the weekly send never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // An hourly run at 21:28:05 on its clock, while the weekly send hangs.
    let hourly = deliver(&pool, t0() + Duration::minutes(11), &cfg).await;
    assert_eq!(hourly.details["sent"], 0, "{}", hourly.details);
    assert_eq!(hook.hits.load(Ordering::SeqCst), 1, "sent a second time");

    hook.gate.notify_one();
    let weekly = weekly.await.unwrap().unwrap();
    assert_eq!(weekly.details["sent"], 1, "{}", weekly.details);
    let r = row(&pool, "late-claim").await;
    assert_eq!((r.status.as_str(), r.attempts), ("sent", 1));
    assert_eq!(hook.hits.load(Ordering::SeqCst), 1);
}

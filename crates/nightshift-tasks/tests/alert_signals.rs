//! Alert routing to PagerDuty Events v2 and the signed webhook, through the
//! outbox, against real HTTP servers on loopback: a PagerDuty endpoint that
//! implements the documented enqueue contract, and a webhook receiver that
//! records what it got (scripts/test-webhooks has the reference Standard
//! Webhooks library verify those recordings). Logical time drives retries.

mod common;
#[path = "alert_signals/pagerduty_server.rs"]
mod pagerduty_server;
#[path = "alert_signals/receiver.rs"]
mod receiver;
#[path = "alert_signals/webhook.rs"]
mod webhook;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use common::*;
use nightshift_core::follow_up::{self, Decision};
use nightshift_core::{Config, Task, TaskReport};
use nightshift_mail::DeliveryConfig;
use nightshift_tasks::TasksConfig;
use nightshift_tasks::alerts::{self, Finding};
use nightshift_tasks::delivery::DeliverNotifications;
use pagerduty_server::PagerDutyServer;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const ROUTING_KEY: &str = "R0UTINGKEY0123456789abcdefABCDEF";
const BASE_URL: &str = "https://ops.example.com";
const KEY: &str = "ledger:slot_not_healed:daily_sync";

/// The tasks' settings as the process would read them, validation included.
fn settings(pairs: &[(&str, &str)]) -> TasksConfig {
    let map: HashMap<&str, &str> = pairs.iter().copied().collect();
    let delivery = DeliveryConfig::from_lookup(&|k| map.get(k).map(|v| v.to_string())).unwrap();
    TasksConfig {
        delivery,
        ..TasksConfig::default()
    }
}

async fn deliver(pool: &PgPool, now: DateTime<Utc>, env: &TasksConfig) -> TaskReport {
    let cfg = Config {
        base_url: Some(BASE_URL.into()),
        ..Config::default()
    };
    DeliverNotifications
        .run(&ctx_with(pool, now, cfg, env.clone()))
        .await
        .unwrap()
}

/// The ledger gives up on the daily slot (or sees it still given up).
async fn give_up(pool: &PgPool, run: Uuid, now: DateTime<Utc>) {
    let d = Decision::GiveUp {
        reason: "gave up after 3 attempts".into(),
    };
    follow_up::alert(pool, "daily_sync", run, &d, Some("GitHub: 401"), now)
        .await
        .unwrap();
}

async fn healed(pool: &PgPool, run: Uuid, now: DateTime<Utc>) {
    follow_up::alert(pool, "daily_sync", run, &Decision::Nothing, None, now)
        .await
        .unwrap();
}

/// A warning from a task's own alert sync: it never pages.
async fn warning(pool: &PgPool, now: DateTime<Utc>, open: bool) {
    let finding = Finding {
        dedupe_key: "test:revenue_at_risk:1".into(),
        kind: "revenue_at_risk",
        severity: "warning",
        title: "Checkout: 1200.00 per day at risk".into(),
        message: "project Checkout".into(),
        details: json!({ "revenue_per_day": 1200.0 }),
        project_id: None,
    };
    let findings = if open { vec![finding] } else { vec![] };
    alerts::sync(pool, "test", now, &findings).await.unwrap();
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Row {
    kind: String,
    status: String,
    attempts: i32,
    error: Option<String>,
    provider_id: Option<String>,
}

async fn rows(pool: &PgPool, channel: &str) -> Vec<Row> {
    sqlx::query_as(
        "SELECT kind, status, attempts, last_error AS error, provider_message_id AS provider_id
           FROM notifications WHERE channel = $1 ORDER BY id",
    )
    .bind(channel)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn pagerduty(pd: &PagerDutyServer) -> TasksConfig {
    settings(&[
        ("PAGERDUTY_ROUTING_KEY", ROUTING_KEY),
        ("PAGERDUTY_EVENTS_URL", &pd.url),
    ])
}

#[sqlx::test(migrations = "../../migrations")]
async fn pagerduty_triggers_once_per_alert_and_resolves_the_same_incident(pool: PgPool) {
    let pd = PagerDutyServer::start().await;
    let env = pagerduty(&pd);
    let run = plant(
        &pool,
        Run::new("daily_sync", "failed", t0() - Duration::hours(1)),
    )
    .await;
    give_up(&pool, run, t0()).await;
    warning(&pool, t0(), true).await;
    let report = deliver(&pool, t0(), &env).await;
    assert_eq!(report.records_processed, 1, "{:?}", report.details);
    let got = pd.requests();
    assert_eq!(got.len(), 1, "only the critical alert pages: {got:?}");
    let e = &got[0];
    assert_eq!(e["routing_key"], ROUTING_KEY);
    assert_eq!(e["event_action"], "trigger");
    assert_eq!(e["dedup_key"], KEY);
    assert_eq!(e["payload"]["severity"], "critical");
    assert_eq!(e["payload"]["source"], "ops.example.com");
    assert_eq!(
        e["links"][0]["href"],
        format!("{BASE_URL}/api/status/runs/{run}?format=html")
    );
    assert_eq!(pd.incidents(), (1, 1));

    // Seen again an hour later: the same open alert, no second trigger.
    give_up(&pool, run, t0() + Duration::hours(1)).await;
    deliver(&pool, t0() + Duration::hours(1), &env).await;
    assert_eq!(pd.requests().len(), 1);

    // It clears: a resolve under the same dedup key closes the incident.
    healed(&pool, run, t0() + Duration::hours(2)).await;
    deliver(&pool, t0() + Duration::hours(2), &env).await;
    let got = pd.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["event_action"], "resolve");
    assert_eq!(got[1]["dedup_key"], KEY);
    assert_eq!(pd.incidents(), (1, 0));
    let sent = rows(&pool, "pagerduty").await;
    assert_eq!(
        sent.iter()
            .map(|r| (
                r.kind.as_str(),
                r.status.as_str(),
                r.attempts,
                r.provider_id.as_deref()
            ))
            .collect::<Vec<_>>(),
        [
            ("pagerduty_trigger", "sent", 1, Some(KEY)),
            ("pagerduty_resolve", "sent", 1, Some(KEY))
        ]
    );
    deliver(&pool, t0() + Duration::hours(3), &env).await;
    assert_eq!(pd.requests().len(), 2, "nothing is sent twice");
    // The key is added at send time, never stored.
    let stored = count(
        &pool,
        "SELECT count(*) FROM notifications WHERE body LIKE '%R0UTINGKEY%'",
    )
    .await;
    assert_eq!(stored, 0);

    // The condition comes back: a new alert, a new incident.
    give_up(&pool, run, t0() + Duration::hours(4)).await;
    deliver(&pool, t0() + Duration::hours(4), &env).await;
    assert_eq!(pd.requests().len(), 3);
    assert_eq!(pd.incidents(), (2, 1));
}

#[sqlx::test(migrations = "../../migrations")]
async fn pagerduty_5xx_and_429_are_retried_and_the_resolve_waits_for_its_trigger(pool: PgPool) {
    let pd = PagerDutyServer::start().await;
    pd.fail_next(
        500,
        json!({ "status": "error", "message": "internal error" }),
    );
    pd.fail_next(
        429,
        json!({ "status": "throttled", "message": "Requests are being throttled" }),
    );
    let env = pagerduty(&pd);
    let run = plant(
        &pool,
        Run::new("daily_sync", "failed", t0() - Duration::hours(1)),
    )
    .await;
    give_up(&pool, run, t0()).await;
    deliver(&pool, t0(), &env).await;
    let r = &rows(&pool, "pagerduty").await[0];
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 1));
    assert!(r.error.as_deref().unwrap().contains("HTTP 500"), "{r:?}");

    // The alert clears while its trigger is still retrying.
    healed(&pool, run, t0() + Duration::minutes(5)).await;
    deliver(&pool, t0() + Duration::minutes(15), &env).await;
    let r = rows(&pool, "pagerduty").await;
    assert_eq!((r[0].status.as_str(), r[0].attempts), ("pending", 2));
    assert!(r[0].error.as_deref().unwrap().contains("HTTP 429"), "{r:?}");
    assert_eq!(
        (r[1].kind.as_str(), r[1].status.as_str(), r[1].attempts),
        ("pagerduty_resolve", "pending", 0),
        "the resolve waits for its trigger"
    );
    // PagerDuty's Retry-After (30 min) is honoured: not due at +30.
    deliver(&pool, t0() + Duration::minutes(30), &env).await;
    assert_eq!(pd.requests().len(), 2);

    deliver(&pool, t0() + Duration::minutes(45), &env).await;
    let actions: Vec<_> = pd
        .requests()
        .iter()
        .map(|e| e["event_action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["trigger", "trigger", "trigger", "resolve"]);
    assert_eq!(pd.incidents(), (1, 0));
    let r = rows(&pool, "pagerduty").await;
    assert_eq!(
        r.iter()
            .map(|r| (r.status.as_str(), r.attempts))
            .collect::<Vec<_>>(),
        [("sent", 3), ("sent", 1)]
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn pagerduty_refusing_an_event_makes_it_dead_with_the_reason(pool: PgPool) {
    let pd = PagerDutyServer::start().await;
    pd.fail_next(
        400,
        json!({ "status": "invalid event", "message": "Event object is invalid",
                "errors": ["'payload.summary' is missing or blank"] }),
    );
    let env = pagerduty(&pd);
    let run = plant(
        &pool,
        Run::new("daily_sync", "failed", t0() - Duration::hours(1)),
    )
    .await;
    give_up(&pool, run, t0()).await;
    let report = deliver(&pool, t0(), &env).await;
    assert_eq!(report.details["dead"], 1, "{:?}", report.details);
    let r = &rows(&pool, "pagerduty").await[0];
    assert_eq!((r.status.as_str(), r.attempts), ("dead", 1));
    assert_eq!(
        r.error.as_deref(),
        Some("pagerduty: HTTP 400: Event object is invalid: 'payload.summary' is missing or blank")
    );
    let open = count(
        &pool,
        "SELECT count(*) FROM alerts WHERE dedupe_key = 'outbox:dead' AND status = 'open'",
    )
    .await;
    assert_eq!(open, 1, "a dead event is an alert for people");
    deliver(&pool, t0() + Duration::hours(1), &env).await;
    assert_eq!(
        pd.requests().len(),
        1,
        "a dead event is not sent again by itself"
    );
}

/// The local PagerDuty refuses what the real one documents as invalid, so
/// the 202s above mean our events meet the contract.
#[tokio::test]
async fn the_local_pagerduty_refuses_invalid_events() {
    let pd = PagerDutyServer::start().await;
    let ok = json!({ "routing_key": ROUTING_KEY, "event_action": "trigger",
                     "payload": { "summary": "s", "source": "h", "severity": "error" } });
    let post = |body: serde_json::Value| {
        let url = pd.url.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let resp = post(ok.clone()).await;
    assert_eq!(resp.status(), 202);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "success");
    assert!(body["dedup_key"].is_string());
    for (path, value) in [
        ("/routing_key", json!(null)),
        ("/event_action", json!(null)),
        ("/payload/summary", json!("")),
        ("/payload/source", json!(null)),
        ("/payload/severity", json!("fatal")),
    ] {
        let mut bad = ok.clone();
        *bad.pointer_mut(path).unwrap() = value;
        let resp = post(bad).await;
        assert_eq!(resp.status(), 400, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "invalid event", "{path}");
        assert!(!body["errors"].as_array().unwrap().is_empty(), "{path}");
    }
    let resolve = json!({ "routing_key": ROUTING_KEY, "event_action": "resolve" });
    assert_eq!(
        post(resolve).await.status(),
        400,
        "a resolve needs its dedup_key"
    );
}

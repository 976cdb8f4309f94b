//! The signed webhook: events per transition, a retry with the same
//! webhook-id, a receiver down for most of a day, run.failed once per
//! slot. The signatures are checked by the reference Standard Webhooks
//! library, not by our code: `webhook_requests_for_the_reference_verifier`
//! writes what the receiver got to $NIGHTSHIFT_WEBHOOK_RECORD, and
//! scripts/test-webhooks verifies each request with `standardwebhooks`.

use super::receiver::Receiver;
use super::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn hook(r: &Receiver) -> TasksConfig {
    settings(&[
        ("ALERT_WEBHOOK_URL", &r.url),
        ("ALERT_WEBHOOK_SECRET", SECRET),
    ])
}

fn body(r: &receiver::Received) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

/// A run whose error quotes a connection string, as drivers do.
async fn failed_run(pool: &PgPool, at: DateTime<Utc>) -> Uuid {
    let mut run = Run::new("daily_sync", "failed", at);
    run.error = Some("connect postgres://app:pw@db.internal/x: connection refused");
    plant(pool, run).await
}

#[sqlx::test(migrations = "../../migrations")]
async fn webhook_events_per_transition_and_a_retry_keeps_its_id(pool: PgPool) {
    let r = Receiver::start().await;
    r.fail_next(&[503, 503]);
    let env = hook(&r);
    warning(&pool, t0(), true).await;
    let run = failed_run(&pool, t0() - Duration::minutes(30)).await;
    let report = deliver(&pool, t0(), &env).await;
    assert_eq!(report.details["retrying"], 2, "{:?}", report.details);
    deliver(&pool, t0() + Duration::minutes(15), &env).await;
    let got = r.received();
    assert_eq!(got.len(), 4);
    for first in &got[..2] {
        let again: Vec<_> = got[2..].iter().filter(|g| g.id == first.id).collect();
        assert_eq!(again.len(), 1, "one retry per event, same id: {got:?}");
        assert_eq!(again[0].body, first.body, "the same bytes");
        assert_ne!(again[0].timestamp, first.timestamp, "signed at the attempt");
        assert!(first.signature.starts_with("v1,"));
        assert_eq!(first.content_type, "application/json");
    }
    let by_type = |t: &str| got.iter().map(body).find(|b| b["type"] == t).unwrap();
    let raised = by_type("alert.raised");
    assert_eq!(raised["data"]["severity"], "warning");
    assert_eq!(raised["data"]["dedupe_key"], "test:revenue_at_risk:1");
    let failed = by_type("run.failed");
    assert_eq!(failed["data"]["run_id"], run.to_string());
    assert_eq!(
        failed["data"]["run_url"],
        format!("{BASE_URL}/api/status/runs/{run}?format=html")
    );
    assert_eq!(
        failed["data"]["error"],
        "connect postgres://***@db.internal/x: connection refused"
    );

    warning(&pool, t0() + Duration::hours(1), false).await;
    deliver(&pool, t0() + Duration::hours(1), &env).await;
    deliver(&pool, t0() + Duration::hours(2), &env).await;
    let got = r.received();
    assert_eq!(got.len(), 5, "one alert.resolved, then nothing");
    let resolved = body(&got[4]);
    assert_eq!(resolved["type"], "alert.resolved");
    assert_eq!(resolved["data"]["alert_id"], raised["data"]["alert_id"]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_receiver_down_for_twenty_hours_loses_nothing(pool: PgPool) {
    let r = Receiver::start().await;
    r.fail_next(&[503; 20]);
    let env = hook(&r);
    warning(&pool, t0(), true).await;
    for hour in 0..=20 {
        deliver(&pool, t0() + Duration::hours(hour), &env).await;
    }
    let got = r.received();
    assert_eq!(got.len(), 21, "one attempt per hourly run");
    assert!(got.iter().all(|g| g.id == got[0].id));
    let rows = rows(&pool, "webhook").await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 21));
}

#[sqlx::test(migrations = "../../migrations")]
async fn run_failed_is_told_once_per_slot_not_per_attempt(pool: PgPool) {
    let r = Receiver::start().await;
    let env = hook(&r);
    // Attempt 1 failed and its retry (attempt 2) failed for good.
    let first = failed_run(&pool, t0() - Duration::minutes(40)).await;
    let last = failed_run(&pool, t0() - Duration::minutes(30)).await;
    sqlx::query("UPDATE job_history SET follow_up = 'retry', follow_up_at = $2, followed_by = $3 WHERE id = $1")
        .bind(first)
        .bind(t0() - Duration::minutes(35))
        .bind(last)
        .execute(&pool)
        .await
        .unwrap();
    // Another failed and waits for its retry: not final yet.
    let waiting = failed_run(&pool, t0() - Duration::minutes(10)).await;
    sqlx::query("UPDATE job_history SET follow_up = 'retry', follow_up_at = $2 WHERE id = $1")
        .bind(waiting)
        .bind(t0() + Duration::minutes(5))
        .execute(&pool)
        .await
        .unwrap();
    deliver(&pool, t0(), &env).await;
    deliver(&pool, t0() + Duration::hours(1), &env).await;
    let runs: Vec<String> = r
        .received()
        .iter()
        .map(|g| body(g)["data"]["run_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(runs, [last.to_string()]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn webhook_requests_for_the_reference_verifier(pool: PgPool) {
    let r = Receiver::start().await;
    let env = hook(&r);
    // Receivers refuse signatures more than 5 minutes off their own clock,
    // so this test's logical time is now.
    let now = Utc::now();
    warning(&pool, now, true).await;
    deliver(&pool, now, &env).await;
    failed_run(&pool, now - Duration::minutes(1)).await;
    warning(&pool, now + Duration::seconds(1), false).await;
    deliver(&pool, now + Duration::seconds(1), &env).await;
    let got = r.received();
    assert_eq!(got.len(), 3, "{got:?}");
    let types: std::collections::BTreeSet<String> = got
        .iter()
        .map(|g| body(g)["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types.len(), 3, "{types:?}");
    let record =
        serde_json::to_string_pretty(&json!({ "secret": SECRET, "requests": got })).unwrap();
    match std::env::var_os("NIGHTSHIFT_WEBHOOK_RECORD") {
        Some(path) => std::fs::write(path, record).unwrap(),
        None => eprintln!("NIGHTSHIFT_WEBHOOK_RECORD unset: scripts/test-webhooks verifies these"),
    }
}

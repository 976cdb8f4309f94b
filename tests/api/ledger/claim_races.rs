//! The claim statement against what can change around it: a holder that
//! finishes between the failed INSERT and the look-up while a queue worker
//! runs, and a pause that lands while a call is being admitted.

use chrono::{DateTime, Utc};
use nightshift_core::ledger::{self, Claim, NewRun};
use sqlx::PgPool;

use super::plant_running;
use crate::common::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn new_run(slot: &str) -> NewRun<'static> {
    NewRun {
        id: uuid::Uuid::new_v4(),
        job_type: "hourly_metrics",
        route: "/api/cron/hourly",
        slot: Some(at(slot)),
        trigger: "cron",
        max_attempts: 3,
        started_at: at(slot),
        lease: std::time::Duration::from_secs(600),
        metadata: serde_json::json!({}),
        follows: None,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_holder_that_finishes_mid_claim_does_not_cost_the_slot(pool: PgPool) {
    let holder = plant_running(&pool, "2026-11-24T20:00:00Z", "13 minutes").await;
    // A queue worker of the same job runs alongside; it blocks nobody.
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, status, trigger, started_at, lease_expires_at)
         VALUES (gen_random_uuid(), 'hourly_metrics', '/api/cron/hourly', 'running', 'worker',
                 '2026-11-24T20:50:00Z', '2026-11-24T21:30:00Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    // The holder finishes right after the INSERT that it made fail: an
    // AFTER INSERT statement trigger fires even when ON CONFLICT inserted
    // nothing, in the same statement, before the claim's look-up.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE FUNCTION finish_holder() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           UPDATE job_history SET status = 'completed', completed_at = started_at
            WHERE id = '{holder}' AND status = 'running';
           RETURN NULL;
         END $$;
         CREATE TRIGGER finish_holder AFTER INSERT ON job_history
           FOR EACH STATEMENT EXECUTE FUNCTION finish_holder();"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let run = new_run("2026-11-24T21:00:00Z");
    let claim = ledger::claim(&pool, &run).await.unwrap();
    assert_eq!(
        claim,
        Claim::Claimed { attempt: 1 },
        "the slot is free once the holder is done"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM job_history WHERE id = $1")
        .bind(run.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "running");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_claim_itself_refuses_a_paused_job(pool: PgPool) {
    // The pause lands after the route's own check: only the claim sees it.
    sqlx::query(
        "INSERT INTO job_pauses (job_type, paused_at, paused_by, reason)
         VALUES ('hourly_metrics', '2026-11-24T20:59:59Z', 'ops', 'migrating')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let claim = ledger::claim(&pool, &new_run("2026-11-24T21:00:00Z"))
        .await
        .unwrap();
    match claim {
        Claim::Paused(p) => assert_eq!(
            (p.paused_by.as_str(), p.reason.as_deref()),
            ("ops", Some("migrating"))
        ),
        other => panic!("a paused job was claimed: {other:?}"),
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 0);
}

//! Scenario 8: callers whose clocks disagree. Leases are decided on the
//! database's clock (docs/architecture.md §3), so a caller 15 minutes ahead
//! (a laptop running `nightshift run` against production) sees a live run
//! as live: it neither sweeps it nor runs its slot a second time.

use std::sync::Arc;
use std::time::Duration;

use nightshift_core::{Task, TaskContext, TaskReport};
use sqlx::PgPool;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::common::*;
use crate::support::*;

/// Holds its run open until the test lets it go.
struct Gated(Arc<Notify>);

#[async_trait::async_trait]
impl Task for Gated {
    fn name(&self) -> &'static str {
        "gated"
    }
    async fn run(&self, _ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        self.0.notified().await;
        Ok(TaskReport {
            records_processed: 1,
            ..Default::default()
        })
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_caller_15_minutes_ahead_does_not_sweep_a_live_run(pool: PgPool) {
    let gate = Arc::new(Notify::new());
    let live = custom_app(
        &pool,
        vec![Arc::new(Gated(gate.clone()))],
        Duration::from_secs(30),
    );
    let ahead = custom_app(&pool, vec![Arc::new(Fine("fine"))], Duration::from_secs(30));
    ahead.clock.set(t0() + chrono::Duration::minutes(15));
    let (live_base, ahead_base) = (
        serve(live.app.clone()).await,
        serve(ahead.app.clone()).await,
    );
    let client = reqwest::Client::new();
    let pending = tokio::spawn({
        let (client, url) = (client.clone(), format!("{live_base}/api/cron/hourly"));
        async move { call(&client, &url, Some(&bearer())).await }
    });
    let run: Uuid = eventually(Duration::from_secs(20), "the live run", || async {
        sqlx::query_scalar("SELECT id FROM job_history WHERE status = 'running'")
            .fetch_optional(&pool)
            .await
            .unwrap()
    })
    .await;

    // 21:32 on its clock: the live run's lease (30 + 20 s from 21:17) would
    // be long gone by that clock; on the database's it has 50 s left.
    let a = call(
        &client,
        &format!("{ahead_base}/api/cron/hourly"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(a.body["swept"], 0, "{}", a.body);
    assert_eq!(a.body["outcome"], "skipped_duplicate", "{}", a.body);
    assert_eq!(a.body["existing_run"], run.to_string());

    gate.notify_one();
    let done = pending.await.unwrap();
    assert_eq!(done.body["outcome"], "completed", "{}", done.body);
    assert_eq!(
        run_counts(&pool).await,
        vec![(
            "hourly_metrics".to_string(),
            Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 24, 21, 0, 0).unwrap()),
            "completed".to_string(),
            1
        )]
    );
    assert_ledger_sound(&pool).await;
}

//! Tasks of /api/cron/hourly, in the order the route runs them: the watcher
//! first, then risk before escalation, measures before the alerts that read
//! them, the dashboard after everything it shows, reminders last.

use anyhow::Context;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

pub mod alerts;
pub mod escalations;
pub mod missed_slots;
pub mod refresh_dashboard;
pub mod reminders;
pub mod revenue_at_risk;
pub mod sla_risk;
pub mod velocity;
pub mod watch_jobs;
pub mod workload;

/// The hour a snapshot belongs to: re-running within the hour overwrites it.
pub fn snapshot_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now)
}

/// The hour's snapshot of `kind`, and whether it was reused: the latest
/// snapshot, stored for this hour too, when what it is computed from has not
/// moved since (the digest `snapshot_inputs`,
/// migrations/20261203000600_snapshot_inputs.sql); else what `compute`
/// stores (it runs only then). `list` is the key kept out of what comes back.
pub(crate) async fn reuse_or_compute(
    ctx: &nightshift_core::TaskContext<crate::TasksConfig>,
    kind: &str,
    list: &str,
    compute: impl std::future::Future<Output = anyhow::Result<serde_json::Value>>,
) -> anyhow::Result<(serde_json::Value, bool)> {
    let reused = sqlx::query_scalar!(
        r#"SELECT reuse_snapshot($1, $2, $3) - $4::text AS data"#,
        snapshot_hour(ctx.now),
        kind,
        ctx.now,
        list,
    )
    .fetch_one(&ctx.pool)
    .await
    .with_context(|| format!("reusing the {kind} snapshot"))?;
    match reused {
        Some(data) => Ok((data, true)),
        None => Ok((compute.await?, false)),
    }
}

/// Rows a statement must change before `bugs` is vacuumed and analyzed at
/// once: a first run over a backlog rewrites most open bugs' `risk_next_at`
/// and `escalate_at`, and until autovacuum comes by, the stale statistics
/// and the dead row versions (whose old instants all lie in the past) make
/// the next run's indexed look-ups of a handful of rows read the whole
/// index (docs/decisions.md, 68: "Open bug totals per (project, assignee)").
pub const VACUUM_AFTER: i64 = 10_000;

/// VACUUM (ANALYZE) bugs after a bulk change (see [`VACUUM_AFTER`]): one
/// statement outside any transaction, so it also runs through a pooler.
/// Without the table's ownership Postgres skips it with a warning.
pub async fn vacuum_bugs_after(pool: &sqlx::PgPool, changed: i64) -> anyhow::Result<()> {
    if changed >= VACUUM_AFTER {
        sqlx::query!("VACUUM (ANALYZE) bugs").execute(pool).await?;
    }
    Ok(())
}

/// `SET LOCAL jit = off` for the transaction. The incremental statements
/// find a handful of rows through an index, but their estimates over `bugs`
/// cross `jit_above_cost`, and compiling them cost more than running them:
/// the escalation statement took 129 ms with JIT and 4.5 ms without
/// (EXPLAIN ANALYZE at 200k bugs, BENCHMARKS.md). LOCAL, so it ends with the
/// transaction and is safe through a transaction-mode pooler.
pub async fn without_jit(tx: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    sqlx::query!("SET LOCAL jit = off").execute(tx).await?;
    Ok(())
}

/// Postgres' memory for sorts and hashes while a statement works over a
/// backlog, for the transaction only (LOCAL: safe through a transaction-mode
/// pooler). The first run's escalation statement at 200k bugs sorts and
/// groups about 258k rows per step; at the default 4 MB they spilled to
/// temporary files (about 100 MB written), and with this the statement took
/// 10.0–10.3 s instead of 12.8–13.8 s (EXPLAIN ANALYZE, docs/decisions.md, 74).
/// A steady run's statements hold a few rows and never use it.
pub const BULK_WORK_MEM: &str = "64MB";

/// `SET LOCAL work_mem` to [`BULK_WORK_MEM`] for the transaction.
pub async fn bulk_work_mem(tx: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    sqlx::query!("SELECT set_config('work_mem', $1, true)", BULK_WORK_MEM)
        .fetch_one(tx)
        .await?;
    Ok(())
}

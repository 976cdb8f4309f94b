//! The first run's floor (issues 13 and 19): what Postgres alone takes to
//! write the rows a first run over a backlog must write, in the same tables
//! with the same indexes and keys, on the same data, in the same bench run.
//!
//! The first run records every escalation level and rewrites every bug it
//! escalated or warned about (issue 13: "the escalation rows and priorities
//! are still written"). Those writes, done bare, are the least any first run
//! can cost in this schema; the first run over them is what our statements
//! add. Measured after the bench's runs, so the dead rows this leaves behind
//! slow none of them, and rolled back, so it changes nothing.

use std::time::{Duration, Instant};

use anyhow::Context;

/// Timed: as many escalation rows as the runs wrote, inserted again (as
/// levels above any rule's, so the unique key on (bug, level) takes them),
/// and a rewrite of every bug the runs escalated or warned about that
/// changes nothing, with our own triggers off (the keys' checks stay: they
/// are the schema's). Everything is rolled back. Returns the time and the
/// two row counts.
pub(crate) async fn backlog_writes(pool: &sqlx::PgPool) -> anyhow::Result<(Duration, u64, u64)> {
    let mut tx = pool.begin().await?;
    // The same session settings the escalation statement runs with
    // (crates/nightshift-tasks/src/hourly/mod.rs), so neither side spills
    // or compiles where the other does not.
    nightshift_tasks::hourly::without_jit(&mut tx).await?;
    nightshift_tasks::hourly::bulk_work_mem(&mut tx).await?;
    sqlx::query!("ALTER TABLE bugs DISABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .context("the write floor needs to own `bugs`")?;
    let t = Instant::now();
    let rows = sqlx::query!(
        "INSERT INTO escalations (bug_id, level, from_priority, to_priority, assignee_id,
                                  manager_id, reassigned, created_at)
         SELECT bug_id, level + 100, from_priority, to_priority, assignee_id, manager_id,
                reassigned, created_at
           FROM escalations"
    )
    .execute(&mut *tx)
    .await
    .context("the write floor's escalation rows")?
    .rows_affected();
    let bugs = sqlx::query!(
        "UPDATE bugs SET priority = priority
          WHERE escalation_level > 0 OR risk_warned IS NOT NULL"
    )
    .execute(&mut *tx)
    .await
    .context("the write floor's bug rewrite")?
    .rows_affected();
    let took = t.elapsed();
    tx.rollback().await?;
    Ok((took, rows, bugs))
}

//! The work queue: one item per project per daily run, claimed with
//! FOR UPDATE SKIP LOCKED, so any number of invocations share the projects
//! without waiting on each other and none is synced twice at once.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub const KIND: &str = "github_sync";

pub struct Item {
    pub id: i64,
    pub project_id: i64,
    pub repo: String,
}

/// Enqueues every project that should sync (a pending item from an unfinished
/// run stays as it is) and counts the ones that are skipped on purpose.
/// `only_failed`: just the projects whose last sync failed (a retry of the
/// slot: the others are synced already).
pub async fn enqueue(
    pool: &PgPool,
    now: DateTime<Utc>,
    only_failed: bool,
) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"
        WITH eligible AS (
            SELECT id FROM projects
             WHERE status = 'active' AND sync_enabled AND NOT confidential AND github_repo IS NOT NULL
               AND (NOT $3 OR sync_error IS NOT NULL)
        ), queued AS (
            INSERT INTO work_queue (kind, project_id, status, enqueued_at)
            SELECT $1, id, 'pending', $2 FROM eligible
            ON CONFLICT (kind, project_id) WHERE status IN ('pending', 'running') DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM queued) AS "queued!",
               (SELECT count(*) FROM projects
                 WHERE github_repo IS NOT NULL AND (NOT sync_enabled OR confidential)) AS "skipped!"
        "#,
        KIND,
        now,
        only_failed,
    )
    .fetch_one(pool)
    .await?;
    Ok((row.queued, row.skipped))
}

/// The next item that is due: pending and past its not-before time, or
/// running under a lease that expired (its invocation died). The item names
/// the run that holds it (`held_by`), so sweeping that run releases it at
/// once instead of after the item's own, longer lease. The lease is decided
/// on the database's clock; `now` (the run's advancing logical time) is only
/// compared with not-before times, which were computed on the same clock.
pub async fn claim(
    pool: &PgPool,
    run: Uuid,
    now: DateTime<Utc>,
    lease: std::time::Duration,
) -> sqlx::Result<Option<Item>> {
    sqlx::query_as!(
        Item,
        r#"
        WITH next AS (
            SELECT id FROM work_queue
             WHERE kind = $1
               AND ((status = 'pending' AND (not_before IS NULL OR not_before <= $2))
                    OR (status = 'running' AND lease_expires_at < now()))
             ORDER BY id
             LIMIT 1
               FOR UPDATE SKIP LOCKED
        )
        UPDATE work_queue q
           SET status = 'running', lease_expires_at = now() + make_interval(secs => $3),
               attempts = q.attempts + 1, held_by = $4
          FROM next, projects p
         WHERE q.id = next.id AND p.id = q.project_id
        RETURNING q.id, q.project_id, p.github_repo AS "repo!"
        "#,
        KIND,
        now,
        lease.as_secs_f64(),
        run,
    )
    .fetch_optional(pool)
    .await
}

/// Back to pending: the deadline came, or a rate limit says when to resume.
/// Fenced: only while `run` holds the item and the ledger still counts the
/// run as running. Returns false when the run lost it.
pub async fn release(
    pool: &PgPool,
    run: Uuid,
    id: i64,
    not_before: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE work_queue SET status = 'pending', lease_expires_at = NULL, held_by = NULL,
                  not_before = $3
            WHERE id = $1 AND held_by = $2 AND status = 'running'
              AND NOT EXISTS (SELECT 1 FROM job_history h WHERE h.id = $2 AND h.status <> 'running')"#,
        id,
        run,
        not_before,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Done or failed, fenced like `release`.
pub async fn finish(
    pool: &PgPool,
    run: Uuid,
    id: i64,
    now: DateTime<Utc>,
    error: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE work_queue
              SET status = CASE WHEN $4::text IS NULL THEN 'done' ELSE 'failed' END,
                  finished_at = $3, last_error = $4, lease_expires_at = NULL, held_by = NULL
            WHERE id = $1 AND held_by = $2 AND status = 'running'
              AND NOT EXISTS (SELECT 1 FROM job_history h WHERE h.id = $2 AND h.status <> 'running')"#,
        id,
        run,
        now,
        error,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

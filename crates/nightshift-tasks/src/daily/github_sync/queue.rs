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
pub async fn enqueue(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"
        WITH eligible AS (
            SELECT id FROM projects
             WHERE status = 'active' AND sync_enabled AND NOT confidential AND github_repo IS NOT NULL
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
    )
    .fetch_one(pool)
    .await?;
    Ok((row.queued, row.skipped))
}

/// The next item that is due: pending and past its not-before time, or
/// running under a lease that expired (its invocation died). The item names
/// the run that holds it (`held_by`), so sweeping that run releases it at
/// once instead of after the item's own, longer lease.
pub async fn claim(
    pool: &PgPool,
    run: Uuid,
    now: DateTime<Utc>,
    lease: DateTime<Utc>,
) -> sqlx::Result<Option<Item>> {
    sqlx::query_as!(
        Item,
        r#"
        WITH next AS (
            SELECT id FROM work_queue
             WHERE kind = $1
               AND ((status = 'pending' AND (not_before IS NULL OR not_before <= $2))
                    OR (status = 'running' AND lease_expires_at < $2))
             ORDER BY id
             LIMIT 1
               FOR UPDATE SKIP LOCKED
        )
        UPDATE work_queue q
           SET status = 'running', lease_expires_at = $3, attempts = q.attempts + 1, held_by = $4
          FROM next, projects p
         WHERE q.id = next.id AND p.id = q.project_id
        RETURNING q.id, q.project_id, p.github_repo AS "repo!"
        "#,
        KIND,
        now,
        lease,
        run,
    )
    .fetch_optional(pool)
    .await
}

/// Back to pending: the deadline came, or a rate limit says when to resume.
pub async fn release(
    pool: &PgPool,
    id: i64,
    not_before: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE work_queue SET status = 'pending', lease_expires_at = NULL, held_by = NULL, not_before = $2 WHERE id = $1",
        id,
        not_before,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn finish(
    pool: &PgPool,
    id: i64,
    now: DateTime<Utc>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE work_queue
              SET status = CASE WHEN $3::text IS NULL THEN 'done' ELSE 'failed' END,
                  finished_at = $2, last_error = $3, lease_expires_at = NULL, held_by = NULL
            WHERE id = $1"#,
        id,
        now,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

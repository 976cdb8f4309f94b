//! The job ledger: sweep, claim, record, finish. Each guarantee of docs/architecture.md §3
//! is one statement here, made safe by the indexes of the ledger migration.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub struct NewRun<'a> {
    pub id: Uuid,
    pub job_type: &'a str,
    pub route: &'a str,
    pub slot: Option<DateTime<Utc>>,
    pub trigger: &'a str,
    pub max_attempts: i32,
    pub started_at: DateTime<Utc>,
    /// How long the run holds its lease, from the claim, on the database's
    /// clock: a caller whose clock is off cannot shorten or stretch it.
    pub lease: std::time::Duration,
    pub metadata: Value,
    /// The run this one follows up (a retry or a continuation of its slot):
    /// marked `followed_by` in the claim's transaction, so it runs once.
    pub follows: Option<Uuid>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The run is this slot's `attempt`-th (1 for a slot's first run).
    Claimed { attempt: i32 },
    /// The slot already has a run, finished or under way.
    Duplicate { run_id: Uuid, status: String },
    /// Another run of the same job holds the running slot.
    Busy { run_id: Uuid },
    /// The job was paused by the time the claim ran: a pause that commits
    /// before the claim statement starts stops the call.
    Paused(crate::pause::Pause),
}

pub struct NewEvent<'a> {
    pub job_id: Option<Uuid>,
    pub event_type: &'a str,
    pub source: &'a str,
    pub status: &'a str,
    pub message: &'a str,
    pub details: &'a Value,
    pub duration_ms: Option<i64>,
    pub records_processed: i64,
    pub records_failed: i64,
    pub created_at: DateTime<Utc>,
}

/// Running rows whose lease has expired belong to a process that died: they
/// become `timeout` (with a warning event each), which frees their slot, and
/// in the same statement give back what they held: their `work_queue` items
/// (`running` -> `pending`) and their outbox rows in `sending` (-> `pending`,
/// due at once; the attempt counts, the send may have happened). Expiry is
/// decided on the database's clock (`now()`), never the caller's
/// (docs/architecture.md §3); `now` only stamps the record. A swept run of a
/// slot with retries left asks for a retry at once: what it held is free
/// again (`crate::follow_up`).
pub async fn sweep(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        WITH swept AS (
            UPDATE job_history
               SET status = 'timeout',
                   completed_at = $1,
                   error_message = 'lease expired at ' || to_char(lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                                   || ' before the run finished (process killed, crashed or frozen)',
                   follow_up = CASE WHEN j.retry THEN 'retry' END,
                   follow_up_at = CASE WHEN j.retry THEN now() END
              FROM (SELECT h.id, h.slot IS NOT NULL AND h.trigger <> 'worker'
                           AND (SELECT count(*) FROM job_history r
                                 WHERE r.job_type = h.job_type AND r.slot = h.slot
                                   AND r.trigger = 'retry') < h.max_attempts - 1 AS retry
                      FROM job_history h
                     WHERE h.status = 'running' AND h.lease_expires_at < now()) j
             WHERE job_history.id = j.id AND status = 'running' AND lease_expires_at < now()
         RETURNING job_history.id, job_type, started_at, lease_expires_at
        ), items AS (
            UPDATE work_queue q
               SET status = 'pending', lease_expires_at = NULL, held_by = NULL
              FROM swept s
             WHERE q.status = 'running' AND q.held_by = s.id
         RETURNING s.id AS run
        ), mails AS (
            UPDATE notifications n
               SET status = 'pending', claimed_until = NULL, held_by = NULL,
                   last_error = 'released: the run sending it died'
              FROM swept s
             WHERE n.status = 'sending' AND n.held_by = s.id
         RETURNING s.id AS run
        ), events AS (
            INSERT INTO sync_events (job_id, event_type, source, status, message, details, created_at)
            SELECT id, 'run_swept', 'ledger', 'warning', 'lease expired; run marked timeout',
                   jsonb_build_object('job_type', job_type, 'started_at', started_at,
                                      'lease_expires_at', lease_expires_at,
                                      'released_queue_items', (SELECT count(*) FROM items i WHERE i.run = swept.id),
                                      'released_outbox_rows', (SELECT count(*) FROM mails m WHERE m.run = swept.id)),
                   $1
              FROM swept
        )
        SELECT id AS "id!" FROM swept
        "#,
        now
    )
    .fetch_all(pool)
    .await
}

/// One INSERT decides: the partial unique indexes let exactly one caller in
/// per slot and per job, and none while the job is paused. The loser reads why it lost; if the row that beat it
/// is gone by then (swept, failed), it tries again. A follow-up first marks
/// the run it follows (`followed_by`), in the same transaction: that takes
/// the old run out of the one-run-per-slot index, and a second heartbeat's
/// call for the same follow-up finds it taken. Earlier failed attempts of the
/// slot are marked too, so their pending retries end with this claim.
pub async fn claim(pool: &PgPool, run: &NewRun<'_>) -> Result<Claim, sqlx::Error> {
    for _ in 0..3 {
        let inserted = match run.follows {
            // Autocommit: what the statement saw committed stays committed
            // for the look-up below.
            None => insert_run(pool, run).await?,
            Some(prev) => {
                let mut tx = pool.begin().await?;
                let taken = sqlx::query_scalar!(
                    r#"UPDATE job_history SET followed_by = $2
                        WHERE id = $1 AND followed_by IS NULL AND follow_up IS NOT NULL
                          AND status <> 'running'
                    RETURNING id"#,
                    prev,
                    run.id,
                )
                .fetch_optional(&mut *tx)
                .await?;
                if taken.is_none() {
                    return Ok(Claim::Duplicate {
                        run_id: prev,
                        status: "no follow-up is pending for it (already started, or expired)"
                            .into(),
                    });
                }
                let inserted = insert_run(&mut *tx, run).await?;
                if inserted.is_some() {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                inserted
            }
        };
        if let Some(attempt) = inserted {
            return Ok(Claim::Claimed { attempt });
        }
        if let Some(p) = crate::pause::pause_of(pool, run.job_type).await? {
            return Ok(Claim::Paused(p));
        }
        // Only what the INSERT conflicts with: a running non-worker row (one
        // running per job), or this slot's row. A worker's running row
        // blocks nobody; counting it would answer "busy" when the real
        // holder has just finished, and give up a free slot.
        let holder = sqlx::query!(
            r#"
            SELECT id, status, slot IS NOT DISTINCT FROM $2 AS "same_slot!"
              FROM job_history
             WHERE job_type = $1
               AND ((status = 'running' AND trigger <> 'worker')
                    OR (slot = $2 AND status IN ('running', 'completed') AND followed_by IS NULL))
             ORDER BY (slot IS NOT DISTINCT FROM $2) DESC, started_at DESC
             LIMIT 1
            "#,
            run.job_type,
            run.slot,
        )
        .fetch_optional(pool)
        .await?;
        match holder {
            Some(h) if h.same_slot && run.slot.is_some() => {
                return Ok(Claim::Duplicate {
                    run_id: h.id,
                    status: h.status,
                });
            }
            Some(h) => return Ok(Claim::Busy { run_id: h.id }),
            None => continue,
        }
    }
    Err(sqlx::Error::Protocol(
        "could not claim the slot: the conflicting run kept changing".into(),
    ))
}

/// The claim's INSERT. It also marks the slot's earlier failed attempts as
/// followed by this one (they are outside the slot index), so their pending
/// retries end with this claim. Returns the run's attempt number.
async fn insert_run(
    db: impl sqlx::PgExecutor<'_>,
    run: &NewRun<'_>,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        WITH new AS (
            INSERT INTO job_history (id, job_type, route, slot, status, trigger, attempt,
                                     max_attempts, started_at, lease_expires_at, metadata)
            SELECT $1, $2, $3, $4, 'running', $5,
                   (SELECT count(*) + 1 FROM job_history WHERE job_type = $2 AND slot = $4)::int,
                   $6, $7, now() + make_interval(secs => $8), $9
             WHERE NOT EXISTS (SELECT 1 FROM job_pauses WHERE job_type = $2)
            ON CONFLICT DO NOTHING
            RETURNING attempt
        ), superseded AS (
            UPDATE job_history SET followed_by = $1
             WHERE job_type = $2 AND slot = $4 AND followed_by IS NULL
               AND status IN ('failed', 'timeout') AND EXISTS (SELECT 1 FROM new)
        )
        SELECT attempt AS "attempt!" FROM new
        "#,
        run.id,
        run.job_type,
        run.route,
        run.slot,
        run.trigger,
        run.max_attempts,
        run.started_at,
        run.lease.as_secs_f64(),
        run.metadata,
    )
    .fetch_optional(db)
    .await
}

pub struct Finish<'a> {
    pub id: Uuid,
    pub status: &'a str,
    pub completed_at: DateTime<Utc>,
    pub execution_time_ms: i64,
    pub error_message: Option<&'a str>,
    pub result: &'a Value,
    /// A follow-up of the slot this run asks for, and after how long
    /// (`crate::follow_up::decide`); due on the database's clock.
    pub follow_up: Option<(crate::follow_up::FollowUpKind, std::time::Duration)>,
}

/// Fenced: only a run that still holds its lease may write its verdict.
/// Returns false when the sweeper got there first.
pub async fn finish(pool: &PgPool, f: &Finish<'_>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"
        UPDATE job_history
           SET status = $2, completed_at = $3, execution_time_ms = $4,
               error_message = $5, result = $6, follow_up = $7,
               follow_up_at = CASE WHEN $7::text IS NULL THEN NULL
                                   ELSE now() + make_interval(secs => $8) END
         WHERE id = $1 AND status = 'running'
        "#,
        f.id,
        f.status,
        f.completed_at,
        f.execution_time_ms,
        f.error_message,
        f.result,
        f.follow_up.map(|(k, _)| k.as_str()),
        f.follow_up.map(|(_, d)| d.as_secs_f64()).unwrap_or(0.0),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Runs a process gives up on when it stops: `failed`, with the reason, and
/// an event each. Fenced by status, like `finish`.
pub async fn abandon(
    pool: &PgPool,
    ids: &[Uuid],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "WITH gone AS (
             UPDATE job_history SET status = 'failed', completed_at = $3, error_message = $2,
                    execution_time_ms = (extract(epoch FROM $3 - started_at) * 1000)::bigint
              WHERE id = ANY($1) AND status = 'running'
          RETURNING id, job_type
         )
         INSERT INTO sync_events (job_id, event_type, source, status, message, details, created_at)
         SELECT id, 'run_abandoned', 'ledger', 'failed', $2,
                jsonb_build_object('job_type', job_type), $3
           FROM gone",
    )
    .bind(ids)
    .bind(reason)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub async fn run_status(pool: &PgPool, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT status FROM job_history WHERE id = $1", id)
        .fetch_optional(pool)
        .await
}

/// Writes events in one statement, so a task's summary and its findings land
/// together or not at all. Fenced like `finish`: events of a run the ledger
/// no longer counts as running (swept, abandoned, finished) are dropped in
/// the same statement. Events of an id the ledger never had (a bare context:
/// seed, bench) are written. Returns how many were written.
pub async fn record_events(pool: &PgPool, events: &[NewEvent<'_>]) -> Result<u64, sqlx::Error> {
    if events.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&NewEvent<'_>) -> String| events.iter().map(f).collect::<Vec<_>>();
    let job_ids: Vec<Option<Uuid>> = events.iter().map(|e| e.job_id).collect();
    let details: Vec<Value> = events.iter().map(|e| e.details.clone()).collect();
    let durations: Vec<Option<i64>> = events.iter().map(|e| e.duration_ms).collect();
    let processed: Vec<i64> = events.iter().map(|e| e.records_processed).collect();
    let failed: Vec<i64> = events.iter().map(|e| e.records_failed).collect();
    let created: Vec<DateTime<Utc>> = events.iter().map(|e| e.created_at).collect();
    let done = sqlx::query!(
        r#"
        INSERT INTO sync_events (job_id, event_type, source, status, message, details,
                                 duration_ms, records_processed, records_failed, created_at)
        SELECT e.* FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::jsonb[], $7::int8[], $8::int8[], $9::int8[], $10::timestamptz[])
                        AS e(job_id, event_type, source, status, message, details,
                             duration_ms, records_processed, records_failed, created_at)
         WHERE NOT EXISTS (SELECT 1 FROM job_history h
                            WHERE h.id = e.job_id AND h.status <> 'running')
        "#,
        &job_ids as &[Option<Uuid>],
        &col(|e| e.event_type.to_owned()),
        &col(|e| e.source.to_owned()),
        &col(|e| e.status.to_owned()),
        &col(|e| e.message.to_owned()),
        &details,
        &durations as &[Option<i64>],
        &processed,
        &failed,
        &created,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

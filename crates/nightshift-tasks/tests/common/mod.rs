//! Plumbing for task tests: a context over the test database with a fixed
//! clock, and a way to plant ledger history.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use nightshift_core::{Config, TaskContext};
use sqlx::PgPool;
use uuid::Uuid;

/// Tuesday 2026-11-24 21:17:05 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 21, 17, 5).unwrap()
}

pub fn ctx(pool: &PgPool, now: DateTime<Utc>) -> TaskContext {
    ctx_with_deadline(pool, now, Duration::from_secs(30))
}

pub fn ctx_with_deadline(pool: &PgPool, now: DateTime<Utc>, budget: Duration) -> TaskContext {
    TaskContext {
        pool: pool.clone(),
        now,
        deadline: tokio::time::Instant::now() + budget,
        run_id: Uuid::new_v4(),
        job_type: "hourly_metrics",
        cfg: Arc::new(Config::default()),
        routes: nightshift_tasks::specs().into(),
    }
}

pub struct Run<'a> {
    pub job_type: &'a str,
    pub status: &'a str,
    pub started_at: DateTime<Utc>,
    pub slot: Option<DateTime<Utc>>,
    pub ms: Option<i64>,
    pub error: Option<&'a str>,
}

impl<'a> Run<'a> {
    pub fn new(job_type: &'a str, status: &'a str, started_at: DateTime<Utc>) -> Self {
        Self {
            job_type,
            status,
            started_at,
            slot: Some(started_at),
            ms: Some(1000),
            error: None,
        }
    }
}

pub async fn plant(pool: &PgPool, r: Run<'_>) -> Uuid {
    let lease = r.started_at + chrono::Duration::minutes(10);
    sqlx::query_scalar(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, started_at, completed_at,
                                  lease_expires_at, execution_time_ms, error_message)
         VALUES (gen_random_uuid(), $1, '/api/cron/x', $2, $3, 'cron', $4,
                 CASE WHEN $3 = 'running' THEN NULL ELSE $4 + make_interval(secs => coalesce($5, 0) / 1000.0) END,
                 $6, $5, $7)
         RETURNING id",
    )
    .bind(r.job_type)
    .bind(r.slot)
    .bind(r.status)
    .bind(r.started_at)
    .bind(r.ms)
    .bind(lease)
    .bind(r.error)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

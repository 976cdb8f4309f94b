//! Plumbing for task tests: a context over the test database with a fixed
//! clock, and a way to plant ledger history.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use nightshift_core::{Config, TaskContext};
use nightshift_tasks::TasksConfig;
use sqlx::PgPool;
use uuid::Uuid;

/// Tuesday 2026-11-24 21:17:05 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 21, 17, 5).unwrap()
}

pub type Ctx = TaskContext<TasksConfig>;

pub fn ctx(pool: &PgPool, now: DateTime<Utc>) -> Ctx {
    ctx_with_deadline(pool, now, Duration::from_secs(30))
}

pub fn ctx_with_deadline(pool: &PgPool, now: DateTime<Utc>, budget: Duration) -> Ctx {
    ctx_with_cfg(pool, now, TasksConfig::default()).with_budget(budget)
}

/// A context with the tasks' own settings (transports, recipients, limits).
pub fn ctx_with_cfg(pool: &PgPool, now: DateTime<Utc>, env: TasksConfig) -> Ctx {
    ctx_with(pool, now, Config::default(), env)
}

/// A context with runtime settings too (BASE_URL, ORG_TIMEZONE).
pub fn ctx_with(pool: &PgPool, now: DateTime<Utc>, cfg: Config, env: TasksConfig) -> Ctx {
    TaskContext::new(
        pool.clone(),
        now,
        "hourly_metrics",
        Arc::new(cfg),
        nightshift_tasks::specs().into(),
    )
    .with_budget(Duration::from_secs(30))
    .with_env(Arc::new(env))
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
                 -- A running row's lease is live on the database's clock,
                 -- the one leases are decided on (docs/architecture.md §3).
                 CASE WHEN $3 = 'running' THEN now() + interval '10 minutes' ELSE $6 END, $5, $7)
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

pub async fn user(pool: &PgPool, name: &str, role: &str, manager: Option<i64>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (name, email, role, manager_id) VALUES ($1, lower($1) || '@example.com', $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(role)
    .bind(manager)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A project Nightshift has watched for a month: what its runs find is news,
/// told bug by bug (see `new_project` for one that joins with a backlog).
pub async fn project(pool: &PgPool, name: &str, owner: Option<i64>) -> i64 {
    let id = new_project(pool, name, owner).await;
    sqlx::query("UPDATE projects SET watched_since = $2 WHERE id = $1")
        .bind(id)
        .bind(t0() - chrono::Duration::days(30))
        .execute(pool)
        .await
        .unwrap();
    id
}

/// A project no run has looked at yet.
pub async fn new_project(pool: &PgPool, name: &str, owner: Option<i64>) -> i64 {
    sqlx::query_scalar("INSERT INTO projects (name, owner_id) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(owner)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A bug as the tests need it; everything else takes the column default.
pub struct Bug<'a> {
    pub project: i64,
    pub severity: &'a str,
    pub created_at: DateTime<Utc>,
    pub assignee: Option<i64>,
    pub status: &'a str,
    pub priority: &'a str,
    pub revenue: &'a str,
    pub blocker: bool,
    pub sla_hours: Option<i32>,
    pub due_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub title: &'a str,
}

impl<'a> Bug<'a> {
    pub fn new(project: i64, severity: &'a str, created_at: DateTime<Utc>) -> Self {
        Self {
            project,
            severity,
            created_at,
            assignee: None,
            status: "open",
            priority: "P2",
            revenue: "0",
            blocker: false,
            sla_hours: None,
            due_at: None,
            resolved_at: None,
            title: "Something is broken",
        }
    }
}

pub async fn bug(pool: &PgPool, b: Bug<'_>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO bugs (project_id, title, severity, priority, status, assignee_id, sla_hours, due_at,
                           revenue_impact_daily, is_blocker, created_at, updated_at, resolved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11, $11, $12) RETURNING id",
    )
    .bind(b.project)
    .bind(b.title)
    .bind(b.severity)
    .bind(b.priority)
    .bind(b.status)
    .bind(b.assignee)
    .bind(b.sla_hours)
    .bind(b.due_at)
    .bind(b.revenue)
    .bind(b.blocker)
    .bind(b.created_at)
    .bind(b.resolved_at)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn text(pool: &PgPool, sql: &'static str, id: i64) -> Option<String> {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

//! The contract between the runtime and a unit of work. A task knows nothing of
//! HTTP: it gets a context (pool, logical time, deadline, run id, and the
//! environment its crate defines) and returns a report, or an error that says
//! whether another attempt could help.
//!
//! The environment `E` is the tasks' own typed settings (nightshift-tasks'
//! `TasksConfig`), as crates.io's `BackgroundJob::Context` is: the core
//! carries it without knowing what is in it. The runner runs `Task<()>`;
//! `bind` pairs a `Task<E>` with its environment into one
//! (docs/decisions.md, 71).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::Config;
use crate::route::RouteSpec;

#[async_trait::async_trait]
pub trait Task<E: Send + Sync + 'static = ()>: Send + Sync + 'static {
    /// Stable name: used in `?tasks=`, in sync_events.source and in reports.
    fn name(&self) -> &'static str;

    async fn run(&self, ctx: &TaskContext<E>) -> anyhow::Result<TaskReport>;

    /// A task that works a queue may also run in `?worker=true` invocations,
    /// several at once, next to the scheduled run.
    fn drains_queue(&self) -> bool {
        false
    }
}

pub struct TaskContext<E = ()> {
    pub pool: PgPool,
    /// Logical time of the run's start: what dates, slots and windows are
    /// reckoned from. Tasks never read the wall clock, so tests can drive
    /// them with a fake one.
    pub now: DateTime<Utc>,
    /// The run's advancing logical time (`now` plus elapsed): for times a
    /// task computes as it goes (a not-before after a rate limit).
    pub clock: crate::clock::RunClock,
    /// When this task must have stopped. Long tasks check it between batches
    /// and return `more_work: true` instead of being cut off.
    pub deadline: Instant,
    pub run_id: Uuid,
    pub job_type: &'static str,
    pub cfg: Arc<Config>,
    /// Every route of the deployment, for tasks that watch the others.
    pub routes: Arc<[RouteSpec]>,
    /// One HTTP client per warm container (connection reuse). It never
    /// follows redirects: clients that want to, decide per hop.
    pub http: reqwest::Client,
    /// This invocation is a queue worker: drain, do not enqueue.
    pub worker: bool,
    /// This run follows up its slot (`crate::follow_up`): a continuation
    /// drains what is left; a retry redoes only what failed.
    pub follow_up: Option<crate::follow_up::FollowUpKind>,
    /// The settings of the crate that defines the task (`()` for the core's
    /// own and for tests' tasks).
    pub env: Arc<E>,
}

// By hand: a derive would ask `E: Clone`, and the environment is shared, not
// copied.
impl<E> Clone for TaskContext<E> {
    fn clone(&self) -> Self {
        self.with_env(Arc::clone(&self.env))
    }
}

impl TaskContext {
    /// A context with defaults: a fresh run id that no ledger row has (so
    /// nothing it writes is fenced: `nightshift seed`, bench, a test), the
    /// run's clock starting at `now`, an hour to its deadline, the shared
    /// HTTP client. The runner sets the rest from its plan
    /// (crates/nightshift-core/src/runner.rs).
    pub fn new(
        pool: PgPool,
        now: DateTime<Utc>,
        job_type: &'static str,
        cfg: Arc<Config>,
        routes: Arc<[RouteSpec]>,
    ) -> Self {
        Self {
            pool,
            now,
            clock: crate::clock::RunClock::starting(now),
            deadline: Instant::now() + Duration::from_secs(3600),
            run_id: Uuid::new_v4(),
            job_type,
            cfg,
            routes,
            http: crate::app::http_client(),
            worker: false,
            follow_up: None,
            env: Arc::new(()),
        }
    }
}

impl<E> TaskContext<E> {
    /// The same run with another environment: what `bind` hands a task.
    pub fn with_env<F>(&self, env: Arc<F>) -> TaskContext<F> {
        TaskContext {
            pool: self.pool.clone(),
            now: self.now,
            clock: self.clock,
            deadline: self.deadline,
            run_id: self.run_id,
            job_type: self.job_type,
            cfg: Arc::clone(&self.cfg),
            routes: Arc::clone(&self.routes),
            http: self.http.clone(),
            worker: self.worker,
            follow_up: self.follow_up,
            env,
        }
    }

    /// The deadline `budget` from now.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.deadline = Instant::now() + budget;
        self
    }

    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Room for one more step that takes about `step`?
    pub fn has_time_for(&self, step: Duration) -> bool {
        self.time_left() > step
    }
}

/// A `Task<E>` with its environment: a `Task` the runner can run.
pub fn bind<E: Send + Sync + 'static>(env: Arc<E>, task: Arc<dyn Task<E>>) -> Arc<dyn Task> {
    Arc::new(Bound { env, task })
}

struct Bound<E> {
    env: Arc<E>,
    task: Arc<dyn Task<E>>,
}

#[async_trait::async_trait]
impl<E: Send + Sync + 'static> Task for Bound<E> {
    fn name(&self) -> &'static str {
        self.task.name()
    }

    async fn run(&self, ctx: &TaskContext) -> anyhow::Result<TaskReport> {
        self.task.run(&ctx.with_env(Arc::clone(&self.env))).await
    }

    fn drains_queue(&self) -> bool {
        self.task.drains_queue()
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct TaskReport {
    pub records_processed: i64,
    pub records_failed: i64,
    /// How many of `records_failed` failed for a cause another attempt could
    /// fix (a 5xx, a timeout): the run is retried within its slot's period
    /// (`crate::follow_up`). A permanent failure (a 404, a bad row) is not.
    #[serde(skip_serializing_if = "is_zero")]
    pub retryable_failures: i64,
    /// The task stopped at its deadline with work left for a later run.
    pub more_work: bool,
    /// `more_work` because time ran out (not a per-run cap, not work that
    /// is not due yet): a continuation can go on at once (`crate::follow_up`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_time: bool,
    /// A finding the task itself did not fail over (a stale job, a critical
    /// health status): its sync event is recorded as `warning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    pub details: Value,
    /// Notable events inside the task, each its own sync_events row.
    #[serde(skip)]
    pub events: Vec<TaskEvent>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Clone, Debug)]
pub struct TaskEvent {
    pub event_type: String,
    pub status: EventStatus,
    pub message: String,
    pub details: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Started,
    Success,
    Failed,
    Warning,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Warning => "warning",
        }
    }
}

/// Marks an error as worth retrying (network blip, 5xx, 429). Wrap it with
/// `anyhow::Error::new(Transient(e))` or `.context(..)` around it; errors
/// without the mark are permanent unless they are transient database errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Transient(pub anyhow::Error);

pub fn is_transient(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<Transient>()
            || cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(crate::error::is_transient)
            || cause.is::<std::io::Error>()
    })
}

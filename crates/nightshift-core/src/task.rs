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
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::Config;
use crate::report::TaskReport;
use crate::spec::RouteSpec;

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
    /// run's clock starting at `now`, an hour to its deadline, a new HTTP
    /// client ([`http_client`]).
    pub fn new(
        pool: PgPool,
        now: DateTime<Utc>,
        job_type: &'static str,
        cfg: Arc<Config>,
        routes: Arc<[RouteSpec]>,
    ) -> Self {
        Self::with_client(pool, now, job_type, cfg, routes, http_client())
    }

    /// The same defaults over a client the caller already holds (the app's).
    /// Building one loads the system's root certificates (the workspace's
    /// reqwest has `rustls-tls-native-roots`): 4-5 ms, which the runner paid
    /// before every task of every run until it passed its plan's client here
    /// (crates/nightshift-core/src/runner.rs; docs/decisions.md, 77).
    pub fn with_client(
        pool: PgPool,
        now: DateTime<Utc>,
        job_type: &'static str,
        cfg: Arc<Config>,
        routes: Arc<[RouteSpec]>,
        http: reqwest::Client,
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
            http,
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

/// The outbound client every task shares: bounded in time, no redirects.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("nightshift/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("the HTTP client builds with static settings")
}

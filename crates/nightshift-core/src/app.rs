//! What a warm container keeps between invocations (the `App`: config, the
//! lazy pool, the clock, the shared HTTP client), what an adapter tells the
//! core about a request (its arrival, the platform's deadline), and the
//! startup check of the budget.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::error::HandleError;
use crate::retry::RetryPolicy;
use crate::schedule::budget_within;
use crate::spec::RouteSpec;
use crate::task::Task;
pub use crate::task::http_client;

#[derive(Clone)]
pub struct Route {
    pub spec: RouteSpec,
    pub tasks: Vec<Arc<dyn Task>>,
}

impl Route {
    pub fn task_names(&self) -> Vec<&'static str> {
        self.tasks.iter().map(|t| t.name()).collect()
    }
}

/// How long a heartbeat (crate::kick) waits for each call's answer before
/// leaving it running: long enough to see a refusal, short enough for the
/// margin.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(3);

/// Everything a warm container keeps between invocations: config, the lazy
/// pool, the clock. Nothing about any past run.
pub struct App {
    pub cfg: Arc<Config>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub routes: Vec<Route>,
    pub retry: RetryPolicy,
    pub http: reqwest::Client,
    /// Runs this process claimed and has not finished: what a shutdown that
    /// cannot wait must mark failed.
    pub inflight: Arc<std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>>,
    /// Back-off on wrong secrets (`crate::throttle`).
    pub throttle: crate::throttle::ThrottlePolicy,
    /// The scopes this instance knows to be blocked (no statement for them).
    pub blocked: crate::throttle::Blocked,
    /// Where the heartbeat calls the routes (`crate::kick`): `nightshift
    /// serve` sets its own address; otherwise BASE_URL.
    pub self_url: std::sync::OnceLock<String>,
    /// How long the heartbeat waits for a call's answer before leaving it
    /// running (tests wait for the whole chain).
    pub follow_up_wait: Duration,
}

impl App {
    pub fn new(cfg: Config, routes: Vec<Route>) -> Result<Self, HandleError> {
        let db = Db::from_config(&cfg)?;
        Ok(Self::with_db(cfg, db, routes))
    }

    /// An app over an existing pool (tests, the CLI).
    pub fn with_db(cfg: Config, db: Db, routes: Vec<Route>) -> Self {
        let throttle = crate::throttle::ThrottlePolicy {
            failures: cfg.auth_failures_per_client,
            ..Default::default()
        };
        Self {
            cfg: Arc::new(cfg),
            db,
            clock: Arc::new(SystemClock),
            routes,
            retry: RetryPolicy::default(),
            http: http_client(),
            inflight: Arc::default(),
            throttle,
            blocked: Default::default(),
            self_url: std::sync::OnceLock::new(),
            follow_up_wait: DEFAULT_WAIT,
        }
    }

    /// Where the heartbeat reaches this deployment's routes, if anywhere.
    pub fn self_url(&self) -> Option<&str> {
        self.self_url
            .get()
            .map(String::as_str)
            .or(self.cfg.base_url.as_deref())
    }

    pub fn with_follow_up_wait(mut self, wait: Duration) -> Self {
        self.follow_up_wait = wait;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_throttle(mut self, throttle: crate::throttle::ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self
    }

    /// Runs claimed and not yet finished by this process (see `inflight`).
    pub(crate) fn track(&self, run_id: uuid::Uuid, running: bool) {
        let mut set = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if running {
            set.insert(run_id);
        } else {
            set.remove(&run_id);
        }
    }

    /// Marks this process's unfinished runs `failed` with `reason` (a
    /// shutdown that could not wait for them). Fenced like a finish: a run
    /// that ended meanwhile keeps its own verdict. Returns how many.
    pub async fn abandon_inflight(&self, reason: &str) -> Result<u64, HandleError> {
        let ids: Vec<uuid::Uuid> = self
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        let pool = self.db.ledger()?;
        crate::ledger::abandon(pool, &ids, reason, self.clock.now())
            .await
            .map_err(HandleError::from_db)
    }

    /// The longest budget of any route: how long a shutdown waits for runs.
    pub fn longest_budget(&self) -> Duration {
        self.routes
            .iter()
            .map(|r| self.budget(&r.spec))
            .max()
            .unwrap_or_default()
    }

    pub fn route(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.spec.name == name)
    }

    pub fn specs(&self) -> Arc<[RouteSpec]> {
        self.routes.iter().map(|r| r.spec.clone()).collect()
    }

    /// JOB_BUDGET_SECS when set, else the function's maxDuration minus the
    /// bookkeeping margin (half of it for very short functions).
    pub fn budget(&self, spec: &RouteSpec) -> Duration {
        self.cfg
            .job_budget
            .unwrap_or_else(|| budget_within(spec.max_duration))
    }
}

/// When the platform ends this invocation (AWS Lambda tells each one). An
/// adapter puts it in the request's extensions; the run's budget then fits
/// inside it, whatever JOB_BUDGET_SECS says.
#[derive(Clone, Copy, Debug)]
pub struct InvocationDeadline(pub std::time::SystemTime);

/// When the request reached the core: the instant (the budget is measured
/// from it) and the app's clock then (the run's logical start). `handle`
/// records it before anything else, so the pause check, sweep, claim and
/// healthcheck ping all count against the budget (docs/architecture.md §4).
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub at: Instant,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Arrival {
    pub fn now(clock: &dyn Clock) -> Self {
        Self {
            at: Instant::now(),
            now: clock.now(),
        }
    }
}

/// JOB_BUDGET_SECS must fit every route: at most its maxDuration (vercel.json)
/// minus the bookkeeping margin. Above it the platform would kill runs that
/// think they have time, and leave `running` rows for the lease to sweep.
/// The error is a startup error naming the variable.
pub fn check_budget(budget: Option<Duration>, specs: &[RouteSpec]) -> Result<(), String> {
    let Some(budget) = budget else { return Ok(()) };
    match specs
        .iter()
        .find(|s| budget > budget_within(s.max_duration))
    {
        None => Ok(()),
        Some(s) => Err(format!(
            "JOB_BUDGET_SECS = {} s is above {}'s maxDuration ({} s in vercel.json) minus the {} s \
             kept for bookkeeping; set it to at most {} s or unset it",
            budget.as_secs_f64(),
            s.path,
            s.max_duration.as_secs(),
            crate::schedule::BOOKKEEPING_MARGIN.as_secs(),
            budget_within(s.max_duration).as_secs_f64(),
        )),
    }
}

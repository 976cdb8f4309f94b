//! A route is a job type, a schedule and a task list. `handle` is the whole
//! invocation path of docs/architecture.md §2; every adapter (Vercel, Lambda, local)
//! calls it through the axum Router built here.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use tokio::time::Instant;

use crate::auth::FormToken;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::error::HandleError;
use crate::retry::RetryPolicy;
use crate::schedule::{Schedule, budget_within};
use crate::task::Task;

/// What the rest of the system needs to know about a route, without its tasks.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub name: &'static str,
    pub path: &'static str,
    pub job_type: &'static str,
    pub schedule: Schedule,
    pub max_duration: Duration,
}

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
}

impl App {
    pub fn new(cfg: Config, routes: Vec<Route>) -> Result<Self, HandleError> {
        let db = Db::from_config(&cfg)?;
        Ok(Self::with_db(cfg, db, routes))
    }

    /// An app over an existing pool (tests, the CLI).
    pub fn with_db(cfg: Config, db: Db, routes: Vec<Route>) -> Self {
        let mut throttle = crate::throttle::ThrottlePolicy::default();
        throttle.per_address.failures = cfg.auth_failures_per_client;
        throttle.global.failures = cfg.auth_failures_global;
        Self {
            cfg: Arc::new(cfg),
            db,
            clock: Arc::new(SystemClock),
            routes,
            retry: RetryPolicy::default(),
            http: http_client(),
            inflight: Arc::default(),
            throttle,
        }
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

/// One route on every path: under Vercel each binary receives only its own
/// path, so the router needs no path of its own.
pub fn single_route_router(app: Arc<App>, name: &str) -> Router {
    let index = route_index(&app, name);
    Router::new()
        .fallback(
            move |State(app): State<Arc<App>>, req: Request| async move {
                handle(&app, index, req).await
            },
        )
        .with_state(app)
}

/// Every route at its own path, as on the platform: for the local server.
pub fn all_routes_router(app: Arc<App>) -> Router {
    let mut router = Router::new();
    for (index, route) in app.routes.iter().enumerate() {
        router = router.route(
            route.spec.path,
            axum::routing::any(
                move |State(app): State<Arc<App>>, req: Request| async move {
                    handle(&app, index, req).await
                },
            ),
        );
    }
    router
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route\n") })
        .with_state(app)
}

fn route_index(app: &App, name: &str) -> usize {
    app.routes
        .iter()
        .position(|r| r.spec.name == name)
        .unwrap_or_else(|| panic!("route {name:?} is not registered"))
}

pub async fn handle(app: &App, index: usize, req: Request<Body>) -> Response {
    let arrival = Arrival::now(app.clock.as_ref());
    let route = &app.routes[index];
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(arrival);
    // A route takes no body, except the dashboard's "Run now" form, whose
    // only field is its CSRF token.
    let from_form = is_form(&parts.headers);
    if from_form {
        match read_form(body).await {
            Ok(bytes) => {
                if let Some(token) = form_field(&bytes, "csrf") {
                    parts.extensions.insert(FormToken(token));
                }
            }
            Err(e) => return e.into_response(),
        }
    }
    match crate::invoke::invoke(app, route, &parts).await {
        // A person pressed a button: back to the page, where the run now shows.
        Ok(_) if from_form => see_other(DASHBOARD_PATH),
        Ok(answer) => answer.into_response(),
        Err(err) => err.into_response(),
    }
}

/// Where the dashboard lives; form posts from it return there.
pub const DASHBOARD_PATH: &str = "/api/status?format=html";
/// The forms hold a token or the secret: far below this. A bigger body is
/// refused (413) before it is buffered, whoever sends it.
pub const FORM_LIMIT: usize = 4096;

/// A form body, at most `FORM_LIMIT` bytes. A body that breaks off midway
/// is refused the same way: there is no form to read either way.
pub async fn read_form(body: Body) -> Result<axum::body::Bytes, HandleError> {
    axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| HandleError::PayloadTooLarge(FORM_LIMIT))
}

pub fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// One field of an urlencoded form. Tokens and secrets are plain ASCII;
/// '+' and %XX are decoded for whatever a browser does to them.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name)
            .then(|| crate::options::decode(v).ok())
            .flatten()
    })
}

pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(http::header::LOCATION, location.to_owned())],
    )
        .into_response()
}

pub(crate) fn check_method(method: &Method) -> Result<(), HandleError> {
    if method == Method::GET || method == Method::POST {
        Ok(())
    } else {
        Err(HandleError::MethodNotAllowed("GET, POST"))
    }
}

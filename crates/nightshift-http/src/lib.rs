//! Entry adapters. Each turns a platform's request into a call of the core
//! router; none holds logic of its own. A route binary calls `run_route`,
//! which picks AWS Lambda when its Runtime API is there, else Vercel's runtime
//! (which serves plain HTTP on VERCEL_DEV_PORT outside Vercel).

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use nightshift_core::{App, Config, ConfigError, HandleError, single_route_router};
use nightshift_tasks::TasksConfig;
use tower::ServiceBuilder;
use tracing_subscriber::EnvFilter;

mod client_addr;
pub mod lambda;
mod listen;
pub mod scheduler;
mod serve;

pub use listen::{DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
pub use serve::{ServeOptions, serve_local, serve_until, shutdown_signal};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One JSON line per event on a platform (their log viewers parse it),
/// readable lines on a terminal. `LOG_FORMAT=json|pretty` decides otherwise.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let on_platform = std::env::var_os("VERCEL").is_some()
        || std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("pretty") => false,
        _ => on_platform,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}

/// Why this process cannot serve: the variable at fault (said to anyone)
/// and the detail (for the log and the operator's terminal only).
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct StartupError {
    pub variable: &'static str,
    pub detail: String,
}

impl From<ConfigError> for StartupError {
    fn from(e: ConfigError) -> Self {
        Self {
            variable: e.variable(),
            detail: e.to_string(),
        }
    }
}

/// The app of this process, from the environment and the task registry, and
/// the tasks' settings it was built with (the status page's health verdict
/// reads their delivery settings).
pub fn app_from_env() -> Result<(App, Arc<TasksConfig>), StartupError> {
    let cfg = Config::from_env()?;
    let env = Arc::new(TasksConfig::from_env()?);
    let routes = nightshift_tasks::routes(Arc::clone(&env));
    let specs: Vec<_> = routes.iter().map(|r| r.spec.clone()).collect();
    nightshift_core::app::check_budget(cfg.job_budget, &specs).map_err(|detail| StartupError {
        variable: "JOB_BUDGET_SECS",
        detail,
    })?;
    // Building the pool fails only on an unreadable DATABASE_URL (redacted).
    let app = App::new(cfg, routes).map_err(|e| StartupError {
        variable: "DATABASE_URL",
        detail: e.detail(),
    })?;
    Ok((app, env))
}

/// A router for one route, or, when the configuration cannot be read, one
/// that says so on every call instead of crashing where nobody reads logs.
pub fn route_router(name: &str) -> Router {
    match app_from_env() {
        Ok((app, _)) => single_route_router(Arc::new(app), name),
        Err(msg) => config_error_router(msg),
    }
}

/// Every path answers, unauthenticated, so the answer names the variable
/// only; the detail (secrets left out, addresses masked by `Config`) is
/// logged once, here.
pub fn config_error_router(err: StartupError) -> Router {
    tracing::error!(variable = err.variable, error = %err.detail, "configuration error");
    let variable = err.variable;
    Router::new().fallback(move || async move { HandleError::Config(variable).into_response() })
}

/// Entry point of a route binary. On AWS Lambda (Function URL, API Gateway
/// REST and HTTP APIs, ALB) through lambda_http, and invoked directly by a
/// scheduler (see `lambda`); under Vercel the runtime
/// talks to the platform; elsewhere it serves HTTP on
/// 127.0.0.1:$VERCEL_DEV_PORT (default 3000), which is how tests and
/// `vercel dev` run it. The router, pool and HTTP client are built once per
/// container and reused by every warm invocation.
pub async fn run_route(name: &str) -> Result<(), BoxError> {
    init_tracing();
    run_on_platform(route_router(name)).await
}

/// Entry point of the status binary (`api/status.rs`): the same adapters
/// as a route, serving the monitoring endpoints instead of a task list.
pub async fn run_status() -> Result<(), BoxError> {
    init_tracing();
    let router = match app_from_env() {
        Ok((app, env)) => nightshift_status::standalone_router(Arc::new(app), env),
        Err(msg) => config_error_router(msg),
    };
    run_on_platform(router).await
}

/// The one platform dispatch: AWS Lambda when its Runtime API is there,
/// else Vercel's runtime (plain HTTP on VERCEL_DEV_PORT outside Vercel).
async fn run_on_platform(router: Router) -> Result<(), BoxError> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda::run(router).await;
    }
    let service = ServiceBuilder::new()
        .layer(vercel_runtime::axum::VercelLayer::new())
        .map_request(client_addr::vercel)
        .service(router);
    vercel_runtime::run(service).await
}

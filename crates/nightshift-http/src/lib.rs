//! Entry adapters. Each turns a platform's request into a call of the core
//! router; none holds logic of its own. A route binary calls `run_route`,
//! which picks AWS Lambda when its Runtime API is there, else Vercel's runtime
//! (which serves plain HTTP on VERCEL_DEV_PORT outside Vercel).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use http::StatusCode;
use nightshift_core::{App, Config, InvocationDeadline, all_routes_router, single_route_router};
use tower::ServiceBuilder;
use tracing_subscriber::EnvFilter;

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

/// The app of this process, from the environment and the task registry.
pub fn app_from_env() -> Result<App, String> {
    let cfg = Config::from_env().map_err(|e| e.to_string())?;
    App::new(cfg, nightshift_tasks::routes()).map_err(|e| e.to_string())
}

/// A router for one route, or, when the configuration cannot be read, one
/// that says so on every call instead of crashing where nobody reads logs.
pub fn route_router(name: &str) -> Router {
    match app_from_env() {
        Ok(app) => single_route_router(Arc::new(app), name),
        Err(msg) => config_error_router(msg),
    }
}

fn config_error_router(msg: String) -> Router {
    tracing::error!(error = %msg, "configuration error");
    Router::new().fallback(move || {
        let body = serde_json::json!({ "outcome": "error", "error": "config", "message": msg });
        async move { (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response() }
    })
}

/// Entry point of a route binary. On AWS Lambda (Function URL, API Gateway
/// REST and HTTP APIs, ALB) through lambda_http; under Vercel the runtime
/// talks to the platform; elsewhere it serves HTTP on
/// 127.0.0.1:$VERCEL_DEV_PORT (default 3000), which is how tests and
/// `vercel dev` run it. The router, pool and HTTP client are built once per
/// container and reused by every warm invocation.
pub async fn run_route(name: &str) -> Result<(), BoxError> {
    init_tracing();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return run_lambda(route_router(name)).await;
    }
    let service = ServiceBuilder::new()
        .layer(vercel_runtime::axum::VercelLayer::new())
        .service(route_router(name));
    vercel_runtime::run(service).await
}

/// Entry point of the status binary (`api/status.rs`): the same adapters
/// as a route, serving the monitoring endpoints instead of a task list.
pub async fn run_status() -> Result<(), BoxError> {
    init_tracing();
    let router = match app_from_env() {
        Ok(app) => nightshift_status::standalone_router(Arc::new(app)),
        Err(msg) => config_error_router(msg),
    };
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return run_lambda(router).await;
    }
    let service = ServiceBuilder::new()
        .layer(vercel_runtime::axum::VercelLayer::new())
        .service(router);
    vercel_runtime::run(service).await
}

/// Lambda tells each invocation its deadline; the run's budget must end
/// before it, so it rides along as an `InvocationDeadline`.
async fn run_lambda(router: Router) -> Result<(), BoxError> {
    use lambda_http::RequestExt;
    let service = ServiceBuilder::new()
        .map_request(|mut req: lambda_http::Request| {
            let end = req
                .lambda_context_ref()
                .map(|c| std::time::UNIX_EPOCH + std::time::Duration::from_millis(c.deadline));
            if let Some(end) = end {
                req.extensions_mut().insert(InvocationDeadline(end));
            }
            req
        })
        .service(router);
    lambda_http::run(service).await
}

/// Every route on one port, at the paths the platform uses, and the status
/// endpoints next to them. Stops accepting
/// on Ctrl-C or SIGTERM and lets calls in flight finish.
pub async fn serve_local(app: Arc<App>, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving routes");
    let router = all_routes_router(app.clone()).merge(nightshift_status::router(app));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

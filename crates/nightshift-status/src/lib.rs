//! nightshift-status: monitoring over HTTP. `GET /api/status` (JSON, or the
//! dashboard with `format=html`), `GET /api/health` (no auth, one word: the
//! system only, see `health`), `GET /api/metrics` (Prometheus text, see
//! `metrics`),
//! pause/resume, the dashboard's sign-in, and the latest weekly report.
//! Read-only except pause/resume; runs are started by the routes themselves.

pub mod data;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod page;
/// Lives in the core since the alert events of nightshift-tasks redact too.
pub use nightshift_core::redact;
mod report;
pub mod run;
mod run_page;
mod signin;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use http::{Method, StatusCode, header};
use nightshift_core::auth::{self, FormToken};
use nightshift_core::web::{DASHBOARD_PATH, form_field, is_form, read_form, see_other};
use nightshift_core::{App, HandleError, pause};
use nightshift_tasks::TasksConfig;
use serde_json::json;

/// The status routes, without a fallback, so `nightshift serve` can merge
/// them with the cron routes. `env` is what the routes' tasks run with: the
/// health verdict judges the outbox against its delivery settings.
pub fn router(app: Arc<App>, env: Arc<TasksConfig>) -> Router {
    routes(env)
        .into_iter()
        .fold(Router::new(), |r, (path, handler)| r.route(path, handler))
        .with_state(app)
}

/// Every path `router` serves (tests/api/openapi.rs holds the description to them).
pub fn paths() -> Vec<&'static str> {
    routes(Arc::default())
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

fn routes(env: Arc<TasksConfig>) -> Vec<(&'static str, MethodRouter<Arc<App>>)> {
    // One health cache per router, so per process (and per app in tests).
    let cache = Arc::new(health::Cache::default());
    let health = move |State(app): State<Arc<App>>, method: Method| {
        let cache = cache.clone();
        async move { health::answer(app, &cache, method).await }
    };
    let status = move |State(app): State<Arc<App>>, req: Request| {
        let env = env.clone();
        async move { respond(status_inner(&app, &env, req).await) }
    };
    vec![
        ("/api/status", any(status)),
        ("/api/health", any(health)),
        ("/api/status/jobs/{job}/{action}", any(job_action)),
        ("/api/status/login", any(signin::login)),
        ("/api/status/logout", any(signin::logout)),
        (
            "/api/status/logout/everywhere",
            any(signin::logout_everywhere),
        ),
        ("/api/status/report/latest", any(report::latest)),
        (openapi::PATH, any(openapi::serve)),
        (metrics::PATH, any(metrics::serve)),
        (run_page::PATH, any(run_page::serve)),
    ]
}

/// The status function on its own (Vercel's `api/status.rs`).
pub fn standalone_router(app: Arc<App>, env: Arc<TasksConfig>) -> Router {
    router(app, env).fallback(|| async { (StatusCode::NOT_FOUND, "no such route\n") })
}

pub(crate) fn only(
    method: &Method,
    allowed: &Method,
    allow: &'static str,
) -> Result<(), HandleError> {
    if method == allowed {
        Ok(())
    } else {
        Err(HandleError::MethodNotAllowed(allow))
    }
}

pub(crate) fn respond(result: Result<Response, HandleError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(PartialEq)]
enum Format {
    Json,
    Html,
}

fn format_of(query: Option<&str>) -> Result<Format, HandleError> {
    let mut format = Format::Json;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("format", "json") => format = Format::Json,
            ("format", "html") => format = Format::Html,
            (k, v) => {
                return Err(HandleError::BadRequest(format!(
                    "unknown parameter {k}={v}; valid: format=json or format=html"
                )));
            }
        }
    }
    Ok(format)
}

async fn status_inner(app: &App, env: &TasksConfig, req: Request) -> Result<Response, HandleError> {
    only(req.method(), &Method::GET, "GET")?;
    let format = format_of(req.uri().query())?;
    let now = app.clock.now();
    let access = match auth::authorize_read(app, req.headers(), req.extensions()).await {
        Err(HandleError::Unauthorized) if format == Format::Html => {
            return Ok(html(
                StatusCode::UNAUTHORIZED,
                &page::SignIn { error: None },
            ));
        }
        other => other?,
    };
    let pool = app.db.ready().await?;
    let status = data::collect(pool, &app.specs(), &env.delivery, now)
        .await
        .map_err(internal)?;
    Ok(match format {
        Format::Json => axum::Json(status).into_response(),
        Format::Html => {
            let csrf = match &access {
                auth::Access::Session(s) => Some(s.csrf(&app.cfg)?),
                auth::Access::Bearer => None,
            };
            html(
                StatusCode::OK,
                &page::Dashboard::new(&status, app.cfg.org_timezone, csrf),
            )
        }
    })
}

pub(crate) fn html(code: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(body) => (
            code,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                // The page has no script of its own, so none may run.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => HandleError::internal(e).into_response(),
    }
}

async fn job_action(
    State(app): State<Arc<App>>,
    Path((job, action)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_form(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    respond(job_action_inner(&app, &job, &action, &parts, &body).await)
}

async fn job_action_inner(
    app: &App,
    job: &str,
    action: &str,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<Response, HandleError> {
    let (method, headers) = (&parts.method, &parts.headers);
    if action != "pause" && action != "resume" {
        return Err(HandleError::BadRequest(format!(
            "unknown action {action:?}; use pause or resume"
        )));
    }
    only(method, &Method::POST, "POST")?;
    let now = app.clock.now();
    let from_form = is_form(headers);
    let form_token = from_form
        .then(|| form_field(body, "csrf").map(FormToken))
        .flatten();
    auth::authorize_action(app, headers, &parts.extensions, form_token.as_ref()).await?;
    let specs = app.specs();
    let spec = pause::resolve(&specs, job)?;
    let reason = from_form
        .then(|| form_field(body, "reason"))
        .flatten()
        .filter(|r| !r.trim().is_empty());
    if let Some(r) = &reason {
        pause::check_reason(r).map_err(HandleError::BadRequest)?;
    }
    let pool = app.db.ready().await?;
    let by = if form_token.is_some() {
        "dashboard"
    } else {
        "api"
    };
    let (paused, changed) = if action == "pause" {
        let (_, made) = pause::pause(pool, spec.job_type, by, reason.as_deref(), now)
            .await
            .map_err(HandleError::from_db)?;
        (true, made)
    } else {
        let resumed = pause::resume(pool, spec.job_type, by, now)
            .await
            .map_err(HandleError::from_db)?;
        (false, resumed)
    };
    tracing::info!(
        job_type = spec.job_type,
        action,
        changed,
        by,
        "job {action}"
    );
    if from_form {
        return Ok(see_other(DASHBOARD_PATH));
    }
    let current = pause::pause_of(pool, spec.job_type)
        .await
        .map_err(HandleError::from_db)?;
    Ok(axum::Json(json!({
        "job_type": spec.job_type,
        "route": spec.path,
        "paused": paused,
        "changed": changed,
        "pause": current,
    }))
    .into_response())
}

fn internal(e: anyhow::Error) -> HandleError {
    match e.downcast::<sqlx::Error>() {
        Ok(db) => HandleError::from_db(db),
        Err(e) => HandleError::internal(e),
    }
}

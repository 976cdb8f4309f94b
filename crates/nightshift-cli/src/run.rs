//! `nightshift run ROUTE`: a route call made in-process, through the same
//! router, auth and ledger as an HTTP call.

use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use clap::Args;
use http::{Request, StatusCode};
use nightshift_core::{App, Outcome, single_route_router};
use nightshift_tasks::TasksConfig;
use rand::distr::{Alphanumeric, SampleString};
use secrecy::ExposeSecret;
use serde_json::Value;
use tower::ServiceExt;

#[derive(Args)]
pub struct RunArgs {
    /// daily, hourly or weekly
    #[arg(value_parser = ["daily", "hourly", "weekly"])]
    route: String,
    /// Only these tasks (comma-separated); the run then does not stand for its slot.
    #[arg(long)]
    tasks: Option<String>,
    /// Run even if this slot already ran (waits for no one: a running job still wins).
    #[arg(long)]
    force: bool,
    /// Check auth, options and database without running anything.
    #[arg(long)]
    dry_run: bool,
}

/// The app of this process, its tasks' settings and the secret that opens it. Whoever runs the
/// CLI already holds the database credentials; when CRON_SECRET is unset, a
/// secret made up for this process keeps calls on the authenticated path.
pub fn local_app() -> anyhow::Result<(Arc<App>, Arc<TasksConfig>, String)> {
    let (mut app, env) = nightshift_http::app_from_env().map_err(anyhow::Error::msg)?;
    let secret = match &app.cfg.cron_secret {
        Some(s) => s.expose_secret().to_owned(),
        None => {
            let s = Alphanumeric.sample_string(&mut rand::rng(), 32);
            app.cfg = Arc::new((*app.cfg).clone().with_secret(&s));
            s
        }
    };
    Ok((Arc::new(app), env, secret))
}

/// One authenticated POST to a route, in-process.
pub async fn call(
    app: &Arc<App>,
    secret: &str,
    route: &str,
    query: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    let req = Request::post(format!("/api/cron/{route}?{query}"))
        .header("authorization", format!("Bearer {secret}"))
        .header("user-agent", "nightshift-cli")
        .body(Body::empty())?;
    let resp = single_route_router(app.clone(), route)
        .oneshot(req)
        .await
        .context("calling the route")?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).context("reading the answer")?,
    ))
}

/// Returns the process exit code: 0 for completed or skipped_duplicate.
pub async fn run(args: RunArgs) -> anyhow::Result<i32> {
    let (app, _, secret) = local_app()?;
    let mut query = Vec::new();
    if let Some(t) = &args.tasks {
        query.push(format!("tasks={t}"));
    }
    if args.force {
        query.push("force=true".into());
    }
    if args.dry_run {
        query.push("dry_run=true".into());
    }
    let (status, body) = call(&app, &secret, &args.route, &query.join("&")).await?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    let outcome = body["outcome"].as_str().unwrap_or("error");
    eprintln!("HTTP {} · outcome {outcome}", status.as_u16());
    let fine = Outcome::parse(outcome).is_some_and(Outcome::is_fine);
    Ok(if fine { 0 } else { 1 })
}

//! `nightshift serve`: every route and the status endpoints on one port, the
//! local scheduler beside them, and a shutdown that lets running jobs finish
//! (split from lib.rs, which keeps the platform adapters).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use nightshift_core::schedule::BOOKKEEPING_MARGIN;
use nightshift_core::{App, all_routes_router};
use nightshift_tasks::TasksConfig;
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::scheduler;

/// What `nightshift serve` runs besides the routes.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Fire vercel.json's schedules at this server.
    pub schedule: bool,
    /// Clock speed relative to the wall clock (tests); 1 in real use.
    pub speed: f64,
    /// How long a shutdown waits for running jobs before marking them
    /// failed; default: the longest route budget plus the bookkeeping margin.
    pub grace: Option<Duration>,
    /// A connection that has not sent a whole request header within this is
    /// closed (slow clients; docs/decisions.md, 83).
    pub header_timeout: Duration,
    /// Connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            schedule: true,
            speed: 1.0,
            grace: None,
            header_timeout: crate::DEFAULT_HEADER_TIMEOUT,
            max_connections: crate::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Every route on one port, at the paths the platform uses, and the status
/// endpoints next to them, with the local scheduler. Stops on Ctrl-C or
/// SIGTERM (see `serve_until`).
pub async fn serve_local(
    app: Arc<App>,
    env: Arc<TasksConfig>,
    addr: SocketAddr,
    opts: ServeOptions,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_until(app, env, listener, opts, shutdown_signal()).await
}

/// Serves until `shutdown` resolves; then stops scheduling and accepting,
/// lets running jobs finish within the grace period (their budget), and marks
/// those still running after it (or after a second signal) failed with
/// reason `shutdown`.
pub async fn serve_until(
    app: Arc<App>,
    env: Arc<TasksConfig>,
    listener: tokio::net::TcpListener,
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "serving routes");
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut scheduler = None;
    let host = if addr.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), addr.port())
    } else {
        addr
    };
    // Follow-ups call this server, never a BASE_URL that may name a
    // deployed copy (crates/nightshift-core/src/kick.rs).
    let _ = app.self_url.set(format!("http://{host}"));
    if opts.schedule {
        match &app.cfg.cron_secret {
            Some(secret) => {
                let s = scheduler::Scheduler {
                    app: app.clone(),
                    base_url: format!("http://{host}"),
                    secret: secret.expose_secret().to_owned(),
                    speed: opts.speed,
                };
                scheduler = Some(tokio::spawn(s.run(stop_rx.clone())));
            }
            None => tracing::warn!("CRON_SECRET is not set: the local scheduler stays off"),
        }
    }
    let router = all_routes_router(app.clone()).merge(nightshift_status::router(app.clone(), env));
    let mut drain = stop_rx.clone();
    let server = crate::listen::run(
        listener,
        router,
        opts.header_timeout,
        opts.max_connections,
        async move {
            let _ = drain.wait_for(|s| *s).await;
        },
    );
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => return r,
        _ = shutdown => {}
    }
    let _ = stop_tx.send(true);
    let grace = opts
        .grace
        .unwrap_or_else(|| app.longest_budget() + BOOKKEEPING_MARGIN);
    tracing::info!(
        grace_secs = grace.as_secs(),
        "stopping: waiting for running jobs"
    );
    let finished = tokio::select! {
        r = &mut server => { r?; true }
        _ = tokio::time::sleep(grace) => false,
        _ = tokio::signal::ctrl_c() => false,
    };
    if !finished {
        match app
            .abandon_inflight("shutdown: the server stopped before the run finished")
            .await
        {
            Ok(n) => tracing::warn!(runs = n, "marked unfinished runs failed (shutdown)"),
            Err(e) => tracing::error!(error = %e, "could not mark unfinished runs"),
        }
    }
    if let Some(s) = scheduler {
        s.abort();
    }
    Ok(())
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

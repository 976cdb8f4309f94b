//! The routers every adapter (Vercel, Lambda, local) runs, and `handle`, the
//! whole invocation path of docs/architecture.md §2 (crate::invoke does the
//! steps). A route itself is a `RouteSpec` (crate::spec) and its tasks
//! (`Route`, crate::app).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::app::{App, Arrival};
use crate::auth::FormToken;
use crate::web::{DASHBOARD_PATH, form_field, is_form, read_form, see_other};

/// One route on every path: under Vercel each binary receives only its own
/// path, so the router needs no path of its own.
pub fn single_route_router(app: Arc<App>, name: &str) -> Router {
    let index = route_index(&app, name);
    Router::new()
        .fallback(move |State(app): State<Arc<App>>, req: Request| detached(app, index, req))
        .with_state(app)
}

/// `handle` in its own tokio task: a caller that hangs up (the heartbeat
/// leaves its calls running, crates/nightshift-core/src/kick.rs) drops the
/// connection, not the run.
async fn detached(app: Arc<App>, index: usize, req: Request) -> Response {
    tokio::spawn(async move { handle(&app, index, req).await })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the route's handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
}

/// Every route at its own path, as on the platform: for the local server.
pub fn all_routes_router(app: Arc<App>) -> Router {
    let mut router = Router::new();
    for (index, route) in app.routes.iter().enumerate() {
        router = router.route(
            route.spec.path,
            axum::routing::any(move |State(app): State<Arc<App>>, req: Request| {
                detached(app, index, req)
            }),
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

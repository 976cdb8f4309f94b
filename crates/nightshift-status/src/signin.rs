//! The dashboard's sign-in: the secret is posted once, in a form body (never
//! a URL, never logged), through the throttle, and answered with a session
//! cookie (see `nightshift_core::session`). Sign-out ends that session on the
//! server; "sign out everywhere" ends them all.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use nightshift_core::auth::{self, Access, FormToken};
use nightshift_core::web::{DASHBOARD_PATH, form_field, is_form, read_form, see_other};
use nightshift_core::{App, HandleError, session};
use serde_json::json;

use crate::{html, only, page, respond};

/// The sign-in form posts the secret here, once; the answer is a session
/// cookie and a redirect to the dashboard.
pub async fn login(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_form(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    respond(login_inner(&app, &parts, &body).await)
}

async fn login_inner(app: &App, parts: &Parts, body: &[u8]) -> Result<Response, HandleError> {
    only(&parts.method, &Method::POST, "POST")?;
    if app.cfg.cron_secret.is_none() {
        return Err(HandleError::SecretNotConfigured);
    }
    // A page on another site must not make its visitors' browsers post
    // guesses (they would count against their addresses): refused before
    // the secret is looked at, as the admin forms do (auth::same_origin).
    if !auth::same_origin(&parts.headers) {
        return Err(HandleError::Forbidden(
            "cross-origin sign-in refused; sign in from the dashboard's own page".into(),
        ));
    }
    let presented = form_field(body, "secret").unwrap_or_default();
    let ok = auth::matches_configured(presented.trim(), &app.cfg);
    match auth::secret_attempt(app, &parts.extensions, ok, "sign-in").await {
        Ok(()) => {}
        Err(HandleError::Unauthorized) => {
            return Ok(html(
                StatusCode::UNAUTHORIZED,
                &page::SignIn {
                    error: Some("That is not the secret. Try again."),
                },
            ));
        }
        Err(e @ HandleError::TooManyAttempts { retry_after }) => {
            let msg = format!("Too many failed attempts. Try again in {retry_after} s.");
            let mut resp = html(e.status(), &page::SignIn { error: Some(&msg) });
            e.annotate(resp.headers_mut());
            return Ok(resp);
        }
        Err(e) => return Err(e),
    }
    let pool = app.db.ready().await?;
    let s = session::issue(pool, app.clock.now()).await?;
    let cookie = format!(
        "{}={}; Path=/api; Max-Age={}; HttpOnly; SameSite=Strict{}",
        session::SESSION_COOKIE,
        s.value(&app.cfg)?,
        session::SESSION_TTL.num_seconds(),
        secure(&parts.headers)
    );
    tracing::info!(session = %s.id, "dashboard sign-in");
    let mut resp = see_other(DASHBOARD_PATH);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie.parse().map_err(HandleError::internal)?,
    );
    Ok(resp)
}

/// Ends the browser's session: on the server (its id is refused from now
/// on) and in the browser (the cookie is cleared). No token needed: the
/// cookie is SameSite=Strict, and ending a session is all this can do. If
/// the server cannot record it, the answer says so (503), and the cookie is
/// still cleared.
pub async fn logout(State(app): State<Arc<App>>, method: Method, headers: HeaderMap) -> Response {
    if method != Method::POST {
        return HandleError::MethodNotAllowed("POST").into_response();
    }
    let now = app.clock.now();
    let result = match session::from_headers(&headers, &app.cfg, now) {
        None => Ok(()),
        Some(s) => match app.db.ready().await {
            Ok(pool) => session::revoke(pool, &s, now)
                .await
                .map_err(HandleError::from_db)
                .inspect(|()| tracing::info!(session = %s.id, "dashboard sign-out")),
            Err(e) => Err(e),
        },
    };
    let mut resp = match result {
        Ok(()) => see_other(DASHBOARD_PATH),
        Err(e) => e.into_response(),
    };
    clear_cookie(&mut resp, &headers);
    resp
}

/// Ends every session: a new session epoch, so every cookie issued so far
/// is refused. Bearer, or the dashboard's button (session, CSRF token,
/// same origin); `nightshift auth sign-out-everywhere` does the same.
pub async fn logout_everywhere(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_form(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    respond(everywhere_inner(&app, &parts, &body).await)
}

async fn everywhere_inner(app: &App, parts: &Parts, body: &[u8]) -> Result<Response, HandleError> {
    only(&parts.method, &Method::POST, "POST")?;
    let from_form = is_form(&parts.headers);
    let token = from_form
        .then(|| form_field(body, "csrf").map(FormToken))
        .flatten();
    let access =
        auth::authorize_action(app, &parts.headers, &parts.extensions, token.as_ref()).await?;
    let by = match access {
        Access::Session(_) => "dashboard",
        Access::Bearer => "api",
    };
    let pool = app.db.ready().await?;
    session::revoke_all(pool, by, app.clock.now())
        .await
        .map_err(HandleError::from_db)?;
    tracing::warn!(by, "signed out everywhere: every dashboard session ended");
    let mut resp = if from_form {
        see_other(DASHBOARD_PATH)
    } else {
        axum::Json(json!({ "outcome": "signed_out_everywhere", "by": by })).into_response()
    };
    clear_cookie(&mut resp, &parts.headers);
    Ok(resp)
}

fn clear_cookie(resp: &mut Response, headers: &HeaderMap) {
    let cookie = format!(
        "{}=; Path=/api; Max-Age=0; HttpOnly; SameSite=Strict{}",
        session::SESSION_COOKIE,
        secure(headers)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
}

/// Browsers keep Secure cookies from plain-HTTP localhost only sometimes;
/// on loopback the cookie goes without the flag, everywhere else with it.
fn secure(headers: &HeaderMap) -> &'static str {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    if matches!(name, "localhost" | "127.0.0.1" | "::1") {
        ""
    } else {
        "; Secure"
    }
}

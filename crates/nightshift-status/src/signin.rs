//! The dashboard's sign-in: the secret is posted once, in a form body (never
//! a URL, never logged), and answered with a signed session cookie (see
//! `nightshift_core::auth`). Sign-out clears it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use nightshift_core::auth;
use nightshift_core::route::{DASHBOARD_PATH, form_field, read_form, see_other};
use nightshift_core::{App, HandleError};

use crate::{html, only, page, respond};

/// The sign-in form posts the secret here, once; the answer is a signed
/// session cookie and a redirect to the dashboard. The secret travels in the
/// body only, never in a URL, and is not logged.
pub async fn login(
    State(app): State<Arc<App>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_form(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    respond(login_inner(&app, &method, &headers, &body))
}

fn login_inner(
    app: &App,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, HandleError> {
    only(method, &Method::POST, "POST")?;
    let Some(current) = &app.cfg.cron_secret else {
        return Err(HandleError::SecretNotConfigured);
    };
    let presented = form_field(body, "secret").unwrap_or_default();
    let presented = presented.trim();
    let ok = auth::secret_matches(presented, current)
        | app
            .cfg
            .cron_secret_previous
            .as_ref()
            .is_some_and(|p| auth::secret_matches(presented, p));
    if !ok {
        tracing::info!("dashboard sign-in refused");
        return Ok(html(
            StatusCode::UNAUTHORIZED,
            &page::SignIn {
                error: Some("That is not the secret. Try again."),
            },
        ));
    }
    let expires = app.clock.now() + auth::SESSION_TTL;
    let value = auth::session_value(&app.cfg, expires)?;
    let cookie = format!(
        "{}={value}; Path=/api; Max-Age={}; HttpOnly; SameSite=Strict{}",
        auth::SESSION_COOKIE,
        auth::SESSION_TTL.num_seconds(),
        if is_local(headers) { "" } else { "; Secure" }
    );
    tracing::info!("dashboard sign-in");
    let mut resp = see_other(DASHBOARD_PATH);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie
            .parse()
            .map_err(|_| HandleError::Internal("cookie".into()))?,
    );
    Ok(resp)
}

pub async fn logout(method: Method, headers: HeaderMap) -> Response {
    if method != Method::POST {
        return HandleError::MethodNotAllowedOnly("POST").into_response();
    }
    let cookie = format!(
        "{}=; Path=/api; Max-Age=0; HttpOnly; SameSite=Strict{}",
        auth::SESSION_COOKIE,
        if is_local(&headers) { "" } else { "; Secure" }
    );
    let mut resp = see_other(DASHBOARD_PATH);
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Browsers keep Secure cookies from plain-HTTP localhost only sometimes;
/// on loopback the cookie goes without the flag, everywhere else with it.
fn is_local(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

//! Authentication against CRON_SECRET (and CRON_SECRET_PREVIOUS while a
//! rotation is under way). Fails closed: no configured secret, no entry.
//!
//! Two ways in: the bearer header (cron, curl, CLI), or, for the dashboard in
//! a browser, a session cookie (`crate::session`: signed, and checked against
//! the server so sign-out ends it). The cookie alone lets a browser read; a
//! POST it authorises also needs a CSRF token (an HMAC of the session under
//! another label, embedded in the page's forms) and a same-origin request.
//! A wrong secret goes through the throttle (`crate::throttle`); the right
//! one is always let in.

use http::header::{AUTHORIZATION, HOST, ORIGIN};
use http::{Extensions, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::config::Config;
use crate::error::HandleError;
use crate::{session, throttle};

/// The bearer header against the configured secrets, without the throttle
/// (which needs the database): what the fuzz target checks.
pub fn authorize(headers: &HeaderMap, cfg: &Config) -> Result<(), HandleError> {
    if cfg.cron_secret.is_none() {
        return Err(HandleError::SecretNotConfigured);
    }
    let presented = bearer_token(headers).ok_or(HandleError::Unauthorized)?;
    if matches_configured(presented, cfg) {
        Ok(())
    } else {
        Err(HandleError::Unauthorized)
    }
}

pub use crate::session::{SESSION_COOKIE, SESSION_TTL, Session};

/// A form field carrying the CSRF token, as the route handler receives it.
#[derive(Clone, Debug)]
pub struct FormToken(pub String);

/// How a caller got in.
#[derive(Clone, Debug)]
pub enum Access {
    Bearer,
    Session(Session),
}

/// Whether a presented secret is the current or the previous one. Both
/// comparisons run every time, so timing says nothing about which matched.
pub fn matches_configured(presented: &str, cfg: &Config) -> bool {
    let ok_current = cfg
        .cron_secret
        .as_ref()
        .is_some_and(|s| secret_matches(presented, s));
    let ok_previous = cfg
        .cron_secret_previous
        .as_ref()
        .is_some_and(|s| secret_matches(presented, s));
    ok_current | ok_previous
}

/// One attempt with the secret (a bearer header, the sign-in form), from
/// the client the request's extensions name.
///
/// The right secret is always let in: no back-off, no database, whatever
/// anyone else has done (docs/decisions.md, 79). A wrong one is logged
/// (never its value) and answered 401, or 429 while its scope is backed
/// off; which of the two depends on the scope only, never on the guess.
/// A scope this instance knows to be blocked costs no statement; else the
/// failure is one statement on the task pool, so a flood cannot take the
/// ledger's connections. Without the database a wrong secret is a 503.
pub async fn secret_attempt(
    app: &App,
    ext: &Extensions,
    ok: bool,
    via: &'static str,
) -> Result<(), HandleError> {
    if ok {
        return Ok(());
    }
    let client = throttle::client_key(ext);
    let now = app.clock.now();
    if let Some(r) = app.blocked.refuse(&client, now) {
        // Counted by the statement that blocked it; logged 1st, 101st, …
        if r.count % 100 == 1 {
            tracing::warn!(%client, via, refused = r.count, retry_after = r.retry_after,
                "authentication failed: scope backed off");
        }
        return Err(HandleError::TooManyAttempts {
            retry_after: r.retry_after,
        });
    }
    let pool = app.db.ready().await?;
    let f = throttle::record_failure(pool, &app.throttle, &client, now)
        .await
        .map_err(HandleError::from_db)?;
    let retry_after = f.blocked_until.and_then(|u| throttle::secs_until(u, now));
    tracing::warn!(
        %client,
        via,
        level = f.level,
        retry_after,
        "authentication failed"
    );
    if let Some(until) = f.blocked_until {
        app.blocked.remember(&client, until, now);
    }
    match retry_after {
        Some(retry_after) => Err(HandleError::TooManyAttempts { retry_after }),
        None => Err(HandleError::Unauthorized),
    }
}

/// `GET /api/metrics`: the bearer is CRON_SECRET (or the previous one) or
/// METRICS_TOKEN, the read-only token a Prometheus server holds. Only this
/// function reads METRICS_TOKEN, so it opens nothing else. Throttled like
/// every secret; no cookie (a scraper has none). Neither configured: 500.
pub async fn authorize_metrics(
    app: &App,
    headers: &HeaderMap,
    ext: &Extensions,
) -> Result<(), HandleError> {
    let cfg = &app.cfg;
    if cfg.cron_secret.is_none() && cfg.metrics_token.is_none() {
        return Err(HandleError::SecretNotConfigured);
    }
    let presented = bearer_token(headers).ok_or(HandleError::Unauthorized)?;
    let token_ok = cfg
        .metrics_token
        .as_ref()
        .is_some_and(|t| secret_matches(presented, t));
    let ok = matches_configured(presented, cfg) | token_ok;
    secret_attempt(app, ext, ok, "metrics").await
}

/// A bearer header, if there is one, decides; otherwise a signed session
/// cookie the server still honours. Enough to read.
pub async fn authorize_read(
    app: &App,
    headers: &HeaderMap,
    ext: &Extensions,
) -> Result<Access, HandleError> {
    if app.cfg.cron_secret.is_none() {
        return Err(HandleError::SecretNotConfigured);
    }
    if let Some(token) = bearer_token(headers) {
        let ok = matches_configured(token, &app.cfg);
        return secret_attempt(app, ext, ok, "bearer")
            .await
            .map(|()| Access::Bearer);
    }
    let session = session::from_headers(headers, &app.cfg, app.clock.now())
        .ok_or(HandleError::Unauthorized)?;
    app.db.ready().await?;
    if session::is_live(app.db.ledger()?, &session)
        .await
        .map_err(HandleError::from_db)?
    {
        Ok(Access::Session(session))
    } else {
        Err(HandleError::Unauthorized)
    }
}

/// A bearer header, or (for a form posted from the dashboard) a live
/// session cookie with its CSRF token, from the same origin. Enough to act.
pub async fn authorize_action(
    app: &App,
    headers: &HeaderMap,
    ext: &Extensions,
    form: Option<&FormToken>,
) -> Result<Access, HandleError> {
    let (None, Some(FormToken(token))) = (bearer_token(headers), form) else {
        return match authorize_read(app, headers, ext).await? {
            Access::Bearer => Ok(Access::Bearer),
            // A cookie alone cannot act: it needs the form's token.
            Access::Session(_) => Err(HandleError::Unauthorized),
        };
    };
    let Access::Session(session) = authorize_read(app, headers, ext).await? else {
        return Err(HandleError::Unauthorized);
    };
    if !same_origin(headers) {
        return Err(HandleError::Forbidden(
            "cross-origin form post refused".into(),
        ));
    }
    let expected = session.csrf(&app.cfg)?;
    if Sha256::digest(token.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into()
    {
        Ok(Access::Session(session))
    } else {
        Err(HandleError::Forbidden(
            "invalid CSRF token; reload the page".into(),
        ))
    }
}

/// A browser says where a POST comes from: `Sec-Fetch-Site`, and `Origin`
/// (whose host must be the one the request was sent to). At least one must
/// be there; a form on another site is refused. The admin forms and the
/// sign-in form (nightshift-status/src/signin.rs) both ask.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let get = |n| headers.get(n).and_then(|v| v.to_str().ok());
    let fetch_site = get(http::HeaderName::from_static("sec-fetch-site"));
    let origin = get(ORIGIN);
    if fetch_site.is_none() && origin.is_none() {
        return false;
    }
    let site_ok = fetch_site.is_none_or(|s| s == "same-origin");
    let origin_ok = origin.is_none_or(|o| {
        let authority = o.split_once("://").map(|(_, a)| a).unwrap_or("");
        get(HOST).is_some_and(|h| h.eq_ignore_ascii_case(authority))
    });
    site_ok && origin_ok
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is
/// case-insensitive (RFC 9110 §11.1); surrounding whitespace is not part of a
/// field value, anything else inside the token must match exactly.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None; // two Authorization headers: ambiguous, refuse
    }
    let value = value.to_str().ok()?.trim_matches([' ', '\t']);
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return None;
    }
    Some(token)
}

/// Constant-time over hashes, so neither content nor length leaks.
pub fn secret_matches(presented: &str, secret: &SecretString) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(secret.expose_secret().as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn parses_bearer_tokens() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&headers("Bearer")), None);
        assert_eq!(bearer_token(&headers("Bearer  abc")), None);
        assert_eq!(bearer_token(&headers("Bearer a b")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}

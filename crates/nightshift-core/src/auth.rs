//! Authentication against CRON_SECRET (and CRON_SECRET_PREVIOUS while a
//! rotation is under way). Fails closed: no configured secret, no entry.
//!
//! Two ways in: the bearer header (cron, curl, CLI), or, for the dashboard in
//! a browser, a stateless session cookie: an expiry timestamp signed with
//! HMAC-SHA256 under the secret. The cookie alone lets a browser read; a POST
//! it authorises also needs a CSRF token (an HMAC of the same expiry under
//! another label, embedded in the page's forms) and a same-origin request.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::error::HandleError;

pub fn authorize(headers: &HeaderMap, cfg: &Config) -> Result<(), HandleError> {
    let Some(current) = &cfg.cron_secret else {
        return Err(HandleError::SecretNotConfigured);
    };
    let presented = bearer_token(headers).ok_or(HandleError::Unauthorized)?;
    // Evaluate both comparisons every time so timing says nothing about which
    // secret (if any) was close.
    let ok_current = secret_matches(presented, current);
    let ok_previous = cfg
        .cron_secret_previous
        .as_ref()
        .map(|prev| secret_matches(presented, prev))
        .unwrap_or(false);
    if ok_current | ok_previous {
        Ok(())
    } else {
        Err(HandleError::Unauthorized)
    }
}

pub const SESSION_COOKIE: &str = "nightshift_session";
/// How long a dashboard sign-in lasts.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::hours(12);

/// A form field carrying the CSRF token, as the route handler receives it.
#[derive(Clone, Debug)]
pub struct FormToken(pub String);

/// Bearer header or a valid session cookie: enough to read.
pub fn authorize_read(
    headers: &HeaderMap,
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<(), HandleError> {
    match authorize(headers, cfg) {
        Err(HandleError::Unauthorized) => session_expiry(headers, cfg, now)
            .map(|_| ())
            .ok_or(HandleError::Unauthorized),
        other => other,
    }
}

/// Bearer header, or (for a form posted from the dashboard) a valid session
/// cookie with its CSRF token, from the same origin. Enough to act.
pub fn authorize_action(
    headers: &HeaderMap,
    cfg: &Config,
    now: DateTime<Utc>,
    form: Option<&FormToken>,
) -> Result<(), HandleError> {
    let bearer = authorize(headers, cfg);
    let (Err(HandleError::Unauthorized), Some(FormToken(token))) = (&bearer, form) else {
        return bearer;
    };
    let expires = session_expiry(headers, cfg, now).ok_or(HandleError::Unauthorized)?;
    if !same_origin(headers) {
        return Err(HandleError::Forbidden(
            "cross-origin form post refused".into(),
        ));
    }
    let expected = csrf_token(cfg, expires)?;
    if Sha256::digest(token.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into()
    {
        Ok(())
    } else {
        Err(HandleError::Forbidden(
            "invalid CSRF token; reload the page".into(),
        ))
    }
}

/// The cookie value for a session ending at `expires`: `<unix>.<hex mac>`.
pub fn session_value(cfg: &Config, expires: DateTime<Utc>) -> Result<String, HandleError> {
    let secret = cfg
        .cron_secret
        .as_ref()
        .ok_or(HandleError::SecretNotConfigured)?;
    let ts = expires.timestamp();
    Ok(format!("{ts}.{}", sign(secret, "session", ts)))
}

/// The token the dashboard's forms carry for a session ending at `expires`.
pub fn csrf_token(cfg: &Config, expires: i64) -> Result<String, HandleError> {
    let secret = cfg
        .cron_secret
        .as_ref()
        .ok_or(HandleError::SecretNotConfigured)?;
    Ok(sign(secret, "csrf", expires))
}

/// The expiry of a valid, unexpired session cookie (signed with the current
/// or the previous secret), if the request carries one.
pub fn session_expiry(headers: &HeaderMap, cfg: &Config, now: DateTime<Utc>) -> Option<i64> {
    let value = cookie(headers, SESSION_COOKIE)?;
    let (ts, mac) = value.split_once('.')?;
    let ts: i64 = ts.parse().ok()?;
    if ts <= now.timestamp() || ts > (now + SESSION_TTL).timestamp() {
        return None;
    }
    let matches = |s: &SecretString| {
        let good = sign(s, "session", ts);
        bool::from(Sha256::digest(good.as_bytes()).ct_eq(&Sha256::digest(mac.as_bytes())))
    };
    let ok = cfg.cron_secret.as_ref().is_some_and(matches)
        | cfg.cron_secret_previous.as_ref().is_some_and(matches);
    ok.then_some(ts)
}

fn sign(secret: &SecretString, label: &str, ts: i64) -> String {
    let mut mac = Hmac::<hmac_sha2::Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(format!("nightshift:{label}:{ts}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A browser says where a POST comes from: `Sec-Fetch-Site`, and `Origin`
/// (whose host must be the one the request was sent to). At least one must
/// be there; a form on another site is refused.
fn same_origin(headers: &HeaderMap) -> bool {
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

    fn cfg() -> Config {
        Config::default().with_secret("s3cret")
    }

    #[test]
    fn sessions_are_signed_and_expire() {
        let now = chrono::Utc::now();
        let v = session_value(&cfg(), now + SESSION_TTL).unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={v}")).unwrap(),
        );
        assert!(session_expiry(&h, &cfg(), now).is_some());
        assert!(
            session_expiry(&h, &cfg(), now + SESSION_TTL).is_none(),
            "expired"
        );
        assert!(session_expiry(&h, &Config::default().with_secret("other"), now).is_none());
        // A later expiry under the old signature is a forgery.
        let (ts, mac) = v.split_once('.').unwrap();
        let forged = format!("{SESSION_COOKIE}={}.{mac}", ts.parse::<i64>().unwrap() - 1);
        h.insert(COOKIE, HeaderValue::from_str(&forged).unwrap());
        assert!(session_expiry(&h, &cfg(), now).is_none());
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

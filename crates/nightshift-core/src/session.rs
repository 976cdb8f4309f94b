//! Dashboard sessions: a signed cookie, checked against the server on every
//! use, so that it can end before it expires (docs/decisions.md, "[sec]
//! Sessions end on the server").
//!
//! The cookie is `<epoch>.<id>.<expires>.<mac>`: the session epoch it was
//! issued under (`session_epoch`, one random value), a random session id,
//! the Unix expiry, and an HMAC-SHA256 of the three under a key derived
//! from CRON_SECRET (or CRON_SECRET_PREVIOUS during a rotation) by HKDF. The MAC is checked first, so a
//! forged cookie never reaches the database; then one statement says whether
//! the epoch is still the current one and the id was not signed out.
//! "Sign out" records the id in `session_revocations` until it would have
//! expired; "sign out everywhere" draws a new epoch, refusing every cookie.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::COOKIE;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::config::Config;
use crate::error::HandleError;

pub const SESSION_COOKIE: &str = "nightshift_session";
/// How long a dashboard sign-in lasts.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::hours(12);

/// A cookie whose signature and expiry are good; `is_live` says whether the
/// server still honours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub epoch: Uuid,
    pub id: Uuid,
    pub expires: i64,
}

impl Session {
    /// The cookie value.
    pub fn value(&self, cfg: &Config) -> Result<String, HandleError> {
        let secret = current(cfg)?;
        Ok(format!(
            "{}.{}.{}.{}",
            self.epoch.simple(),
            self.id.simple(),
            self.expires,
            sign(secret, "session", &self.payload())
        ))
    }

    /// The token the dashboard's forms carry for this session.
    pub fn csrf(&self, cfg: &Config) -> Result<String, HandleError> {
        Ok(sign(current(cfg)?, "csrf", &self.payload()))
    }

    fn payload(&self) -> String {
        format!(
            "{}:{}:{}",
            self.epoch.simple(),
            self.id.simple(),
            self.expires
        )
    }
}

fn current(cfg: &Config) -> Result<&SecretString, HandleError> {
    cfg.cron_secret
        .as_ref()
        .ok_or(HandleError::SecretNotConfigured)
}

/// The request's session cookie, if it is well-formed, signed with the
/// current or the previous secret, and not expired. No database.
pub fn from_headers(headers: &HeaderMap, cfg: &Config, now: DateTime<Utc>) -> Option<Session> {
    let value = cookie(headers, SESSION_COOKIE)?;
    let mut parts = value.splitn(4, '.');
    let epoch = Uuid::try_parse(parts.next()?).ok()?;
    let id = Uuid::try_parse(parts.next()?).ok()?;
    let expires: i64 = parts.next()?.parse().ok()?;
    let mac = parts.next()?;
    if expires <= now.timestamp() || expires > (now + SESSION_TTL).timestamp() {
        return None;
    }
    let session = Session { epoch, id, expires };
    let payload = session.payload();
    let matches = |s: &SecretString| {
        let good = sign(s, "session", &payload);
        bool::from(Sha256::digest(good.as_bytes()).ct_eq(&Sha256::digest(mac.as_bytes())))
    };
    let ok = cfg.cron_secret.as_ref().is_some_and(matches)
        | cfg.cron_secret_previous.as_ref().is_some_and(matches);
    ok.then_some(session)
}

/// Whether the server still honours a signed session: its epoch is the
/// current one and it was not signed out. One statement.
pub async fn is_live(pool: &PgPool, s: &Session) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE((SELECT epoch = $1 FROM session_epoch), false)
            AND NOT EXISTS (SELECT 1 FROM session_revocations WHERE session_id = $2) AS "live!""#,
        s.epoch,
        s.id,
    )
    .fetch_one(pool)
    .await
}

/// A new session under the current epoch, ending `SESSION_TTL` from `now`.
pub async fn issue(pool: &PgPool, now: DateTime<Utc>) -> Result<Session, HandleError> {
    let epoch: Option<Uuid> = sqlx::query_scalar!("SELECT epoch FROM session_epoch")
        .fetch_optional(pool)
        .await
        .map_err(HandleError::from_db)?;
    let epoch = epoch.ok_or_else(|| {
        HandleError::internal("session_epoch has no row: run migrations (nightshift migrate)")
    })?;
    Ok(Session {
        epoch,
        id: Uuid::new_v4(),
        expires: (now + SESSION_TTL).timestamp(),
    })
}

/// Ends one session: its id is refused until it would have expired. Rows
/// of sessions that have expired anyway go in the same statement.
pub async fn revoke(pool: &PgPool, s: &Session, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let expires = DateTime::from_timestamp(s.expires, 0).unwrap_or(now);
    sqlx::query!(
        "WITH gone AS (DELETE FROM session_revocations WHERE expires_at <= $3)
         INSERT INTO session_revocations (session_id, expires_at) VALUES ($1, $2)
         ON CONFLICT (session_id) DO NOTHING",
        s.id,
        expires,
        now,
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// Sign out everywhere: a new epoch refuses every cookie issued so far;
/// single revocations are moot then and go too. `by` says who (dashboard,
/// api, cli) for the record.
pub async fn revoke_all(pool: &PgPool, by: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH gone AS (DELETE FROM session_revocations)
         INSERT INTO session_epoch (id, epoch, changed_at, changed_by)
         VALUES (true, gen_random_uuid(), $1, $2)
         ON CONFLICT (id) DO UPDATE
            SET epoch = EXCLUDED.epoch, changed_at = $1, changed_by = $2",
        now,
        by,
    )
    .execute(pool)
    .await
    .map(|_| ())
}

fn sign(secret: &SecretString, label: &str, payload: &str) -> String {
    let mut mac = Hmac::<hmac_sha2::Sha256>::new_from_slice(&mac_key(secret))
        .expect("HMAC takes keys of any length");
    mac.update(format!("nightshift:{label}:{payload}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `mac_key` derives under: change it and every cookie is refused.
pub const MAC_KEY_INFO: &[u8] = b"nightshift session mac v1";

/// The key of the session and CSRF MACs: HKDF-SHA256 (RFC 5869) of the
/// secret with its own label, never the secret itself, so the MAC key is
/// used for nothing else and a cookie is no MAC under the bearer secret
/// (docs/decisions.md, 80).
pub fn mac_key(secret: &SecretString) -> [u8; 32] {
    let hk = hkdf::Hkdf::<hmac_sha2::Sha256>::new(None, secret.expose_secret().as_bytes());
    let mut key = [0u8; 32];
    hk.expand(MAC_KEY_INFO, &mut key)
        .expect("32 bytes is within HKDF-SHA256's output length");
    key
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn cfg() -> Config {
        Config::default().with_secret("s3cret")
    }

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={v}")).unwrap(),
        );
        h
    }

    #[test]
    fn sessions_are_signed_and_expire() {
        let now = Utc::now();
        let s = Session {
            epoch: Uuid::new_v4(),
            id: Uuid::new_v4(),
            expires: (now + SESSION_TTL).timestamp(),
        };
        let v = s.value(&cfg()).unwrap();
        let h = with_cookie(&v);
        assert_eq!(from_headers(&h, &cfg(), now), Some(s));
        assert_eq!(from_headers(&h, &cfg(), now + SESSION_TTL), None, "expired");
        assert_eq!(
            from_headers(&h, &Config::default().with_secret("other"), now),
            None
        );
        // Another expiry, epoch or id under the same signature is a forgery.
        let parts: Vec<&str> = v.split('.').collect();
        let earlier = format!("{}.{}.{}.{}", parts[0], parts[1], s.expires - 1, parts[3]);
        let other_epoch = format!(
            "{}.{}.{}.{}",
            Uuid::new_v4().simple(),
            parts[1],
            parts[2],
            parts[3]
        );
        for forged in [earlier, other_epoch] {
            assert_eq!(from_headers(&with_cookie(&forged), &cfg(), now), None);
        }
    }
}

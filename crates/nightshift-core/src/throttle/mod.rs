//! Back-off on wrong secrets (bearer header, dashboard sign-in), per client
//! scope, held in Postgres (`auth_throttle`) so it holds across serverless
//! instances. See docs/decisions.md, 79 (which replaced 56's global scope).
//!
//! The right secret never passes through here: it is always let in
//! (`crate::auth::secret_attempt`), so nothing anyone else does can keep
//! the scheduler out. What this limits is the cost and noise of wrong
//! ones; guessing is made infeasible by the secret's strength instead
//! (`crate::config::SECRET_RULE`).
//!
//! Each row keeps a failure level that decays: one failure is forgiven
//! every `forgive_every` (stored as `forget_at`, when the level reaches zero,
//! GCRA-style). A failure that leaves the level above `failures - 1` blocks
//! the scope for `first_backoff`, doubling with each further level, at most
//! `max_backoff`. While a scope is blocked its wrong secrets get 429 and are
//! not counted; this instance remembers the block (`Blocked`), so they cost
//! no statement at all.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::ConnectInfo;
use chrono::{DateTime, Utc};
use http::Extensions;
use sqlx::PgPool;

mod blocked;
pub use blocked::Blocked;

/// The caller's address as the platform adapter vouches for it
/// (nightshift-http: Vercel's X-Forwarded-For, Lambda's sourceIp). Without
/// one, the TCP peer (`nightshift serve`); without that, "unknown".
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// The throttle scope of a request's client.
pub fn client_key(ext: &Extensions) -> String {
    let ip = ext
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
    ip.map_or_else(|| "unknown".to_owned(), key_of)
}

/// `ip:<v4>`, or `ip:<first three groups>::/48` for IPv6: a /48 is what one
/// site is usually given, so one holder cannot spread its guesses over
/// 65,536 /64 scopes. A wider scope only ever refuses wrong secrets, so
/// sharing it with a neighbour costs nobody their access.
pub fn key_of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// How many failures a scope gets before it backs off, how fast they are
/// forgiven, and how long the back-off lasts.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub failures: u32,
    pub forgive_every: Duration,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ThrottlePolicy {
    /// Five quick failures per scope, then 30 s, doubling up to an hour;
    /// sustained, one counted guess per scope per five minutes.
    fn default() -> Self {
        Self {
            failures: 5,
            forgive_every: Duration::from_secs(300),
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

/// What recording one failure found.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    /// The scope's failure level after it; `None` when it was not counted
    /// (the scope was already blocked).
    pub level: Option<f64>,
    /// Until when the scope is blocked, if it now is.
    pub blocked_until: Option<DateTime<Utc>>,
}

/// Whole seconds from `now` to `until`, rounded up; `None` once past.
pub fn secs_until(until: DateTime<Utc>, now: DateTime<Utc>) -> Option<u64> {
    let ms = (until - now).num_milliseconds();
    (ms > 0).then(|| (ms as u64).div_ceil(1000))
}

/// Records a wrong secret from `key`, in one statement. If the scope is
/// already blocked (another instance blocked it) the statement writes
/// nothing and says until when; otherwise it counts the failure and prunes
/// up to 20 rows that have decayed. The upsert's `WHERE` re-checks the
/// block on the locked row, so a parallel burst counts one by one.
pub async fn record_failure(
    pool: &PgPool,
    policy: &ThrottlePolicy,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Failure, sqlx::Error> {
    let secs = |d: Duration| d.as_secs_f64();
    let (level, counted_until, seen_until): (
        Option<f64>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(FAILURE_SQL)
        .bind(key)
        .bind(now)
        .bind(f64::from(policy.failures))
        .bind(secs(policy.forgive_every))
        .bind(secs(policy.first_backoff))
        .bind(secs(policy.max_backoff))
        .fetch_one(pool)
        .await?;
    let blocked_until = match level {
        Some(_) => counted_until.filter(|u| *u > now),
        // Not counted: blocked, as the snapshot showed, or (a race with
        // another instance's failure) at least for the first step.
        None => Some(
            seen_until
                .filter(|u| *u > now)
                .unwrap_or(now + policy.first_backoff),
        ),
    };
    Ok(Failure {
        level,
        blocked_until,
    })
}

/// $1 scope, $2 now, $3 failures allowed, $4 seconds to forgive one,
/// $5 first back-off, $6 longest back-off (seconds).
///
/// `unblocked` has one row unless the snapshot shows the scope blocked;
/// both writes (`pruned`, `counted`) draw from it, so a blocked scope
/// costs a read and no tuple is written or locked.
const FAILURE_SQL: &str = "
WITH cur AS (SELECT blocked_until FROM auth_throttle WHERE scope = $1),
unblocked AS (SELECT 1 AS one WHERE NOT EXISTS (SELECT 1 FROM cur WHERE blocked_until > $2)),
pruned AS (
    DELETE FROM auth_throttle WHERE scope IN (
        SELECT a.scope FROM auth_throttle a, unblocked
         WHERE a.forget_at < $2 AND a.blocked_until <= $2 AND a.scope <> $1
         ORDER BY a.forget_at LIMIT 20 FOR UPDATE OF a SKIP LOCKED)),
counted AS (
    INSERT INTO auth_throttle AS t (scope, failures, forget_at, blocked_until)
    SELECT $1, 1, $2 + make_interval(secs => $4),
           CASE WHEN 1 > $3 - 1 THEN $2 + make_interval(secs => LEAST($6, $5)) ELSE $2 END
      FROM unblocked
    ON CONFLICT (scope) DO UPDATE SET
       failures = t.failures + 1,
       forget_at = GREATEST(t.forget_at, $2) + make_interval(secs => $4),
       blocked_until = CASE
           WHEN EXTRACT(EPOCH FROM GREATEST(t.forget_at, $2) - $2)::float8 / $4 + 1 > $3 - 1
           THEN $2 + make_interval(secs => LEAST($6, $5 * power(2, GREATEST(0,
                    EXTRACT(EPOCH FROM GREATEST(t.forget_at, $2) - $2)::float8 / $4 + 1 - $3))))
           ELSE t.blocked_until END
     WHERE t.blocked_until <= $2
    RETURNING blocked_until, EXTRACT(EPOCH FROM forget_at - $2)::float8 / $4 AS level)
SELECT (SELECT level FROM counted),
       (SELECT blocked_until FROM counted),
       (SELECT blocked_until FROM cur)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_group_ipv6_by_48_and_unmap_ipv4() {
        let k = |s: &str| key_of(s.parse().unwrap());
        assert_eq!(k("203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(k("::ffff:203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(k("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1::/48");
        assert_eq!(k("2001:db8:1:ffff::9"), k("2001:db8:1:2::1"));
        assert_ne!(k("2001:db8:2::1"), k("2001:db8:1::1"));
        assert_eq!(client_key(&Extensions::new()), "unknown");
    }
}

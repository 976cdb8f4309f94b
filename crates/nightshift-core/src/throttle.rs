//! Back-off on failed secret attempts (bearer header, dashboard sign-in),
//! per client address and for everyone together, held in Postgres
//! (`auth_throttle`) so it holds across serverless instances. See
//! docs/decisions.md, "[sec] Throttled secret attempts".
//!
//! Each row keeps a failure level that decays: one failure is forgiven
//! every `forgive_every` (stored as `forget_at`, when the level reaches zero,
//! GCRA-style). A failure that leaves the level above `failures - 1` blocks
//! the scope for `first_backoff`, doubling with each further level, at most
//! `max_backoff`. While a scope is blocked every attempt is refused with 429,
//! the right secret too, and is not counted: refused guesses are never
//! checked, and a blocked address cannot push the global level up.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::ConnectInfo;
use chrono::{DateTime, Utc};
use http::Extensions;
use sqlx::PgPool;

/// The caller's address as the platform adapter vouches for it
/// (nightshift-http: Vercel's X-Forwarded-For, Lambda's sourceIp). Without
/// one, the TCP peer (`nightshift serve`); without that, "unknown".
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// The scope every failure also counts against.
pub const GLOBAL: &str = "global";

/// The throttle scope of a request's client.
pub fn client_key(ext: &Extensions) -> String {
    let ip = ext
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
    ip.map_or_else(|| "unknown".to_owned(), key_of)
}

/// `ip:<v4>`, or `ip:<first four groups>::/64` for IPv6, where one host
/// usually holds the whole /64 and could otherwise rotate freely.
pub fn key_of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// How many failures a scope gets before it backs off, and how fast they
/// are forgiven.
#[derive(Clone, Copy, Debug)]
pub struct Allowance {
    pub failures: u32,
    pub forgive_every: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub per_address: Allowance,
    pub global: Allowance,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ThrottlePolicy {
    /// Five quick failures per address, then 30 s, doubling up to an hour;
    /// sustained, one guess per address per five minutes. All addresses
    /// together: a hundred, then about two a minute.
    fn default() -> Self {
        Self {
            per_address: Allowance {
                failures: 5,
                forgive_every: Duration::from_secs(300),
            },
            global: Allowance {
                failures: 100,
                forgive_every: Duration::from_secs(30),
            },
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

/// What recording one failure found.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    /// The address's failure level after it (not raised when blocked).
    pub level: f64,
    /// Seconds to wait, when the address or everyone is now blocked.
    pub retry_after: Option<u64>,
}

fn secs_until(until: DateTime<Utc>, now: DateTime<Utc>) -> Option<u64> {
    let ms = (until - now).num_milliseconds();
    (ms > 0).then(|| (ms as u64).div_ceil(1000))
}

/// For an attempt with the right secret: seconds to wait when the address
/// or everyone is blocked. The rows are locked for share, so a failure
/// being recorded at this moment is waited for, not raced.
pub async fn blocked(
    pool: &PgPool,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, sqlx::Error> {
    let until: Option<DateTime<Utc>> = sqlx::query_scalar!(
        "SELECT max(blocked_until) FROM (
            SELECT blocked_until FROM auth_throttle WHERE scope IN ($1, $2) FOR SHARE) s",
        key,
        GLOBAL,
    )
    .fetch_one(pool)
    .await?;
    Ok(until.and_then(|u| secs_until(u, now)))
}

/// The upsert of one scope's failure. The update only happens while the
/// scope is not blocked (`WHERE`), so a refused attempt returns no row.
fn upsert(scope: &str, limit: &str, decay: &str, from: &str) -> String {
    let backoff = |level: &str| {
        format!(
            "$2 + make_interval(secs => LEAST($9, $8 * power(2, GREATEST(0, {level} - {limit}))))"
        )
    };
    let level =
        format!("(EXTRACT(EPOCH FROM GREATEST(t.forget_at, $2) - $2)::float8 / {decay} + 1)");
    format!(
        "INSERT INTO auth_throttle AS t (scope, failures, forget_at, blocked_until)
         SELECT {scope}, 1, $2 + make_interval(secs => {decay}),
                CASE WHEN 1 > {limit} - 1 THEN {fresh} ELSE $2 END {from}
         ON CONFLICT (scope) DO UPDATE SET
            failures = t.failures + 1,
            forget_at = GREATEST(t.forget_at, $2) + make_interval(secs => {decay}),
            blocked_until = CASE WHEN {level} > {limit} - 1 THEN {upd} ELSE t.blocked_until END
          WHERE t.blocked_until <= $2
         RETURNING blocked_until, EXTRACT(EPOCH FROM forget_at - $2)::float8 / {decay} AS level",
        fresh = backoff("1"),
        upd = backoff(&level),
    )
}

/// The address's level and blocked_until when it counted, everyone's
/// blocked_until when that counted, and both as the statement found them.
type FailureRow = (
    Option<f64>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// Records a failed attempt from `key`, in one statement: the address
/// first, then (only if the address counted it) everyone; old rows that
/// have decayed are pruned on the way.
pub async fn record_failure(
    pool: &PgPool,
    policy: &ThrottlePolicy,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Failure, sqlx::Error> {
    let secs = |d: Duration| d.as_secs_f64();
    let (level, addr, glob, seen): FailureRow =
        // Runtime SQL: the text is assembled from fragments (FAILURE_SQL below).
        sqlx::query_as(sqlx::AssertSqlSafe(FAILURE_SQL.as_str()))
            .bind(key)
            .bind(now)
            .bind(GLOBAL)
            .bind(f64::from(policy.per_address.failures))
            .bind(secs(policy.per_address.forgive_every))
            .bind(f64::from(policy.global.failures))
            .bind(secs(policy.global.forgive_every))
            .bind(secs(policy.first_backoff))
            .bind(secs(policy.max_backoff))
            .fetch_one(pool)
            .await?;
    let retry_after = match level {
        // Counted: blocked if either scope now is.
        Some(_) => [addr, glob]
            .into_iter()
            .flatten()
            .filter_map(|u| secs_until(u, now))
            .max(),
        // Not counted: the address was blocked when its row was locked,
        // which the snapshot may not show yet; wait at least the first step.
        None => Some(
            seen.and_then(|u| secs_until(u, now))
                .unwrap_or(policy.first_backoff.as_secs().max(1)),
        ),
    };
    Ok(Failure {
        level: level.unwrap_or(f64::from(policy.per_address.failures)),
        retry_after,
    })
}

/// Built once from constant fragments (no input goes into the text).
static FAILURE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH pruned AS (
            DELETE FROM auth_throttle WHERE scope IN (
                SELECT scope FROM auth_throttle
                 WHERE forget_at < $2 AND blocked_until <= $2 AND scope NOT IN ($1, $3)
                 ORDER BY forget_at LIMIT 20 FOR UPDATE SKIP LOCKED)),
         addr AS ({addr}),
         glob AS ({glob})
         SELECT (SELECT level FROM addr),
                (SELECT blocked_until FROM addr),
                (SELECT blocked_until FROM glob),
                (SELECT max(blocked_until) FROM auth_throttle WHERE scope IN ($1, $3))",
        addr = upsert("$1", "$4", "$5", ""),
        glob = upsert("$3", "$6", "$7", "FROM addr"),
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_group_ipv6_by_64_and_unmap_ipv4() {
        let k = |s: &str| key_of(s.parse().unwrap());
        assert_eq!(k("203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(k("::ffff:203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(k("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(k("2001:db8:1:2:bbbb::9"), k("2001:db8:1:2::1"));
        assert_ne!(k("2001:db8:1:3::1"), k("2001:db8:1:2::1"));
        assert_eq!(client_key(&Extensions::new()), "unknown");
    }
}

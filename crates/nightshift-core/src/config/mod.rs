//! Typed runtime configuration, read once from the environment when a
//! process starts: the secret, the database, the budget, the status page's
//! time zone, the healthcheck ping and the throttle. The tasks' settings
//! (GitHub, labels, export, thresholds) and the mail crate's delivery
//! settings are read by those crates (docs/decisions.md, 71).
//!
//! Nothing here is fatal for a missing secret or database URL: a route must
//! still answer (500, fail closed) so the operator sees what is wrong.

use std::time::Duration;

use nightshift_env::{parse_flag, parse_number, secret_value};
use secrecy::{ExposeSecret, SecretString};

mod checks;
mod healthchecks;

pub use checks::{MIN_SECRET_LEN, SECRET_RULE, bearer_url, estimated_bits, strong_enough};
use checks::{base_url, bearer_secret};
pub use healthchecks::{DEFAULT_PING_URL, Healthchecks, PingTarget};
pub use nightshift_env::ConfigError;

/// Where the dashboard lives: its public address (`dashboard_url`) for links
/// in e-mail and Slack, and where its forms return (crate::web).
pub const DASHBOARD_PATH: &str = "/api/status?format=html";

/// Where one run's page lives: the dashboard's runs link here, and so do
/// the alert events sent to PagerDuty and the webhook (`run_page_url`).
pub fn run_page_path(id: &uuid::Uuid) -> String {
    format!("/api/status/runs/{id}?format=html")
}

#[derive(Clone, Debug)]
pub struct Config {
    pub cron_secret: Option<SecretString>,
    pub cron_secret_previous: Option<SecretString>,
    /// A read-only token for `GET /api/metrics` only (crate::auth::authorize_metrics):
    /// a Prometheus server holds it instead of the secret that runs jobs.
    pub metrics_token: Option<SecretString>,
    pub database_url: Option<SecretString>,
    /// Overrides the per-route budget (maxDuration minus the margin).
    pub job_budget: Option<Duration>,
    pub base_url: Option<String>,
    pub org_timezone: chrono_tz::Tz,
    pub db_max_connections: u32,
    /// Statement cache off, for PgBouncer transaction mode and managed poolers.
    pub db_pgbouncer: Option<bool>,
    /// Dead-man's switches (Healthchecks.io protocol), one per route:
    /// pinged at each run's start and end. They hold the checks' keys, so
    /// they are never logged.
    pub healthchecks: Healthchecks,
    /// Wrong secrets one client scope may present before its back-off
    /// (crate::throttle) starts. There is no global limit (decisions 79).
    pub auth_failures_per_client: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cron_secret: None,
            cron_secret_previous: None,
            metrics_token: None,
            database_url: None,
            job_budget: None,
            base_url: None,
            org_timezone: chrono_tz::UTC,
            db_max_connections: 5,
            db_pgbouncer: None,
            healthchecks: Healthchecks {
                ping_url: DEFAULT_PING_URL.to_owned(),
                ..Healthchecks::default()
            },
            auth_failures_per_client: 5,
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup, so tests never mutate the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = |name: &str| get(name).and_then(|v| secret_value(&v));
        let job_budget = match get("JOB_BUDGET_SECS").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => Some(parse_budget(&v).map_err(|reason| ConfigError::Invalid {
                name: "JOB_BUDGET_SECS",
                reason,
            })?),
        };
        let org_timezone = match get("ORG_TIMEZONE").filter(|v| !v.trim().is_empty()) {
            None => chrono_tz::UTC,
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "ORG_TIMEZONE",
                reason: format!("{v:?} is not an IANA time zone such as Europe/Paris"),
            })?,
        };
        let db_max_connections = parse_number(&get, "DATABASE_MAX_CONNECTIONS", 5, 1..=10_000)?;
        let db_pgbouncer = match get("DATABASE_PGBOUNCER") {
            None => None,
            Some(_) => Some(parse_flag(&get, "DATABASE_PGBOUNCER", false)?),
        };
        let auth_failures_per_client =
            parse_number(&get, "AUTH_FAILURES_PER_CLIENT", 5, 1..=1_000_000)?;
        let cron_secret = bearer_secret(&get, "CRON_SECRET")?;
        let cron_secret_previous = bearer_secret(&get, "CRON_SECRET_PREVIOUS")?;
        let metrics_token = bearer_secret(&get, "METRICS_TOKEN")?;
        let healthchecks = Healthchecks::from_lookup(&get)?;
        Ok(Self {
            auth_failures_per_client,
            healthchecks,
            cron_secret,
            cron_secret_previous,
            metrics_token,
            database_url: secret("DATABASE_URL"),
            job_budget,
            base_url: base_url(&get)?,
            org_timezone,
            db_max_connections,
            db_pgbouncer,
        })
    }

    /// The dashboard's public address (BASE_URL + the dashboard path), for
    /// links in e-mail and Slack; `None` without BASE_URL.
    pub fn dashboard_url(&self) -> Option<String> {
        self.base_url
            .as_deref()
            .map(|b| format!("{}{}", b.trim_end_matches('/'), DASHBOARD_PATH))
    }

    /// A run's page at the public address; `None` without BASE_URL.
    pub fn run_page_url(&self, id: &uuid::Uuid) -> Option<String> {
        self.base_url
            .as_deref()
            .map(|b| format!("{}{}", b.trim_end_matches('/'), run_page_path(id)))
    }

    pub fn with_secret(mut self, secret: &str) -> Self {
        self.cron_secret = secret_value(secret);
        self
    }

    /// The URL asks for pooler-safe settings when it says so, or when it points
    /// at a known transaction pooler (Supabase's port 6543, Neon's -pooler host).
    pub fn pgbouncer_mode(&self) -> bool {
        if let Some(flag) = self.db_pgbouncer {
            return flag;
        }
        let Some(url) = &self.database_url else {
            return false;
        };
        let url = url.expose_secret();
        url.contains("pgbouncer=true") || url.contains(":6543/") || url.contains("-pooler.")
    }
}

fn parse_budget(v: &str) -> Result<Duration, String> {
    let secs: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("{v:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{v:?} must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests;
